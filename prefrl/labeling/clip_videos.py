"""``ClipVideoWorker``: renders the videos of the pairs a labeler will see next, in a background thread;
``ClipVideoProcess`` runs one in a process of its own (what the labeling page uses).

Only pairs about to be served are rendered (``LabelQueue.to_render``: a few ahead of the labelers, in serving
order), from the simulator states stored with each clip, into ``<clip folder>/<clip id>.mp4``. The two clips of
a pair are rendered and encoded at the same time, one on the worker's thread and one on a helper thread with a
renderer of its own (MuJoCo and libx264 release the GIL, so a pair takes about the time of one clip when a core is
free). A video is written to a temporary name and renamed, so the page never gets half a file; the pair becomes
servable only once both of its videos are in place.
"""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from prefrl.envs import CLIP_SECONDS
from prefrl.labeling.queue import RENDER_AHEAD, LabelQueue
from prefrl.rl.render import ClipRenderer, RenderingUnavailable, open_renderer, write_video
from prefrl.store import PreferenceStore

ON_SCREEN_SECONDS = CLIP_SECONDS
"""How long a clip plays on the page: the paper's 1.5 s, whatever the task's time step. Every step is a frame;
a clip shorter than that in simulated time plays slowed down (a 60-step Hopper clip, 0.48 s, at 40 frames/s, as
the paper's authors showed it), never faster than real time."""


def video_path(clip_dir: Path, clip_id: int) -> Path:
    """Where the video of one clip lives."""
    return clip_dir / f"{clip_id}.mp4"


def clip_fps(renderer: ClipRenderer, steps: int) -> float:
    """The frame rate that plays a clip of ``steps`` frames (one per step) in ``ON_SCREEN_SECONDS``."""
    return min(renderer.fps, steps / ON_SCREEN_SECONDS)


def encode_clip(frames: Iterable[np.ndarray], fps: float, path: Path) -> Path:
    """Encode frames to an mp4 at ``path``, atomically (x264 "ultrafast": short clips, latency first)."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.mp4")  # two renderers never share one
    try:
        write_video(frames, tmp, fps=fps, preset="ultrafast")
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written video left beside the clips
        raise
    tmp.replace(path)
    return path


def render_clip(renderer: ClipRenderer, store: PreferenceStore, clip_id: int, path: Path) -> None:
    """Render one stored clip and encode it to ``path``."""
    clip = store.clip(clip_id)
    # Each frame is encoded as soon as it is drawn (16 ms a clip sooner than drawing all, then encoding).
    encode_clip(renderer.frames(clip.qpos, clip.qvel), clip_fps(renderer, len(clip.qpos)), path)


class _HelperThread:
    """A second thread with a renderer and a database connection of its own (GL contexts and SQLite
    connections belong to the thread that made them), made on first use."""

    def __init__(self, db_path: Path, env_id: str, width: int, height: int, pretty: bool):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefrl-clip-videos-helper")
        self._open = lambda: (PreferenceStore.open(db_path), open_renderer(env_id, width, height, pretty))
        self._opened: tuple[PreferenceStore, ClipRenderer] | None = None

    def render(self, clip_id: int, path: Path) -> Future[None]:
        return self._pool.submit(self._render, clip_id, path)

    def _render(self, clip_id: int, path: Path) -> None:
        if self._opened is None:
            self._opened = self._open()
        store, renderer = self._opened
        render_clip(renderer, store, clip_id, path)

    def close(self) -> None:
        self._pool.submit(self._close).result()
        self._pool.shutdown()

    def _close(self) -> None:
        if self._opened is not None:
            store, renderer = self._opened
            renderer.close()
            store.close()


def wait_until_ready(ready: Any, alive: Callable[[], bool], timeout: float) -> bool:
    """Wait for a renderer's ``ready`` event, but no longer than it lives: whether it was set."""
    deadline = time.monotonic() + timeout
    while not ready.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
        if not alive() or time.monotonic() >= deadline:
            return bool(ready.is_set())
    return True


class ClipVideoWorker(threading.Thread):
    """Keeps ``ahead`` pairs rendered and ready for the labelers of one run.

    Call ``wake`` when new pairs were stored or a pair was served; without a wake the worker looks again every
    ``recheck_seconds`` (for pairs stored by another process: a trainer feeding ``prefrl label``).

    Args:
        db_path: The run's preference database (the worker opens its own connection).
        clip_dir: Where videos go.
        ahead: Pairs to keep ready.
        width, height: Video size in pixels.
        pretty: Shadows, reflections and anti-aliasing (slower).
        on_error: Called with the error if rendering stops (e.g. no OpenGL); the worker then ends.
    """

    def __init__(
        self,
        db_path: Path,
        clip_dir: Path,
        ahead: int = RENDER_AHEAD,
        width: int = 320,
        height: int = 240,
        pretty: bool = False,
        recheck_seconds: float = 1.0,
        on_error: Callable[[Exception], None] | None = None,
    ):
        super().__init__(name="prefrl-clip-videos", daemon=True)
        self.db_path, self.clip_dir = Path(db_path), Path(clip_dir)
        self.ahead, self.width, self.height, self.pretty = ahead, width, height, pretty
        self.recheck_seconds = recheck_seconds
        self.on_error = on_error
        self.error: Exception | None = None
        self.ready = threading.Event()  # set once the renderer works (or failed: see ``error``)
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the renderer works or failed (see ``error``), or its thread ended; whether it is ready."""
        return wait_until_ready(self.ready, self.is_alive, timeout)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        try:
            self.clip_dir.mkdir(parents=True, exist_ok=True)  # a read-only run directory fails here: say so
            store = PreferenceStore.open(self.db_path)
        except (OSError, ValueError) as e:
            self._fail(e)
            return
        try:
            # The GL context belongs to the thread that made it, so the renderer is made here.
            renderer = open_renderer(store.env_id, self.width, self.height, self.pretty)
        except RenderingUnavailable as e:
            self._fail(e)
            store.close()
            return
        self.ready.set()
        queue = LabelQueue(store)
        helper = _HelperThread(self.db_path, store.env_id, self.width, self.height, self.pretty)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                todo = queue.to_render(self.ahead)
                for query_id, left, right in todo:
                    missing = [(c, video_path(self.clip_dir, c)) for c in (left, right)]
                    missing = [(c, path) for c, path in missing if not path.exists()]
                    other = helper.render(*missing.pop()) if len(missing) == 2 else None  # at the same time
                    for clip_id, path in missing:
                        render_clip(renderer, store, clip_id, path)
                    if other is not None:
                        other.result()  # the helper's error, if it had one, is raised here
                    if not all(video_path(self.clip_dir, c).exists() for c in (left, right)):
                        raise RuntimeError(f"the videos of pair {query_id} were not written")
                    queue.mark_rendered(query_id)
                    if self._stopping.is_set():
                        break
                if not todo:
                    self._wake.wait(self.recheck_seconds)
        except Exception as e:  # a worker that dies silently would leave the page waiting forever
            self._fail(e)
        finally:
            helper.close()
            renderer.close()
            store.close()

    def _fail(self, error: Exception) -> None:
        self.error = error
        if self.on_error is not None:  # before ``ready``: whoever waits on it then finds the error
            self.on_error(error)
        self.ready.set()


class ClipVideoProcess:
    """A ``ClipVideoWorker`` in a process of its own, with the same controls (``start``, ``ready``, ``error``,
    ``wake``, ``stop``, ``join``).

    In the trainer's process the renderer's Python shares the trainer's GIL: next to a renderer thread keeping
    pace with 4 labelers, PPO trained 22 to 33% slower; next to this process, 10 to 16% (docs/BENCHMARKS.md 23).
    The process is spawned (never forked next to the trainer's threads) and ends when ``stop`` is called or its
    parent dies.

    The two processes talk over one pipe, never through shared locks: a child killed while holding a
    ``multiprocessing.Event``'s lock, or while waiting on it, would leave the parent blocked for good on its next
    ``set`` or ``is_set``. The end of the pipe is how each side learns that the other died.
    """

    def __init__(self, db_path: Path, clip_dir: Path, **options: Any):
        """``options``: ``ClipVideoWorker``'s (``ahead``, ``width``, ``height``, ``pretty``, ``recheck_seconds``)."""
        inspect.signature(ClipVideoWorker).bind(db_path, clip_dir, **options)  # a wrong name fails here, not there
        context = multiprocessing.get_context("spawn")
        self.ready = threading.Event()  # set once the renderer works (or failed: see ``error``), or its process ended
        self._error: Exception | None = None
        self._reported = False  # the child said it works, or why it failed
        self._stopping = False
        self._conn, child_conn = context.Pipe()
        self._send_lock = threading.Lock()  # the page's threads wake the renderer at the same time
        self._process = context.Process(
            target=_render_in_child,
            args=(Path(db_path), Path(clip_dir), options, child_conn),
            name="prefrl-clip-videos",
            daemon=True,
        )
        self._child_conn: Connection | None = child_conn
        self._listener = threading.Thread(target=self._listen, name="prefrl-clip-videos-listener", daemon=True)

    @property
    def error(self) -> Exception | None:
        """Why rendering stopped, if it did: the error the child reported, or its end if it reported none."""
        if self._error is None and self._listener.ident is not None and not self._listener.is_alive():
            self._process.join(5)  # the pipe ended, so the process is ending: wait for its exit code
        code = self._process.exitcode
        if code is None or self._error is not None:
            return self._error
        self._listener.join(5)  # the child's last word arrives before the end of the pipe
        if self._error is None and not self._stopping:  # killed, or died unpickling
            self._error = RuntimeError(f"the clip renderer process ended unexpectedly (exit code {code})")
        return self._error

    def start(self) -> None:
        self._process.start()
        assert self._child_conn is not None
        self._child_conn.close()  # the child holds the only other end now: its death ends the pipe
        self._child_conn = None
        self._listener.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the renderer works or failed (see ``error``), or its process ended; whether it is ready."""
        return self.ready.wait(timeout) and self._reported

    def wake(self) -> None:
        self._send(_WAKE)

    def stop(self) -> None:
        self._stopping = True
        self._send(_STOP)

    def join(self, timeout: float | None = None) -> None:
        self._process.join(timeout)
        if self._process.is_alive():  # stuck in a render: it holds nothing that a kill would lose
            self._process.kill()
            self._process.join()
        self._listener.join(5)
        self._conn.close()

    def _send(self, message: bytes) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # the child is gone (see ``error``), or ``join`` ended
            self._conn.send_bytes(message)

    def _listen(self) -> None:
        """The parent's end: the child's one message (ready, or why it failed), then the end of the pipe."""
        try:
            self._error = self._conn.recv()
            self._reported = True
            self.ready.set()
            self._conn.recv()  # nothing more comes: this returns when the child ends
        except (EOFError, OSError):
            pass
        self.ready.set()


_WAKE, _STOP = b"wake", b"stop"


def _render_in_child(db_path: Path, clip_dir: Path, options: dict[str, Any], conn: Connection) -> None:
    """The child of ``ClipVideoProcess``: a ``ClipVideoWorker`` run on its main thread, steered by the parent's
    messages, stopping by itself when the parent's end of the pipe closes (the parent died)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops this one
    worker = ClipVideoWorker(db_path, clip_dir, **options)

    def listen() -> None:
        try:
            while conn.recv_bytes() != _STOP:
                worker.wake()
        except (EOFError, OSError):
            pass
        worker.stop()

    def report() -> None:  # ``ready`` is set when the renderer works, or after ``error`` when it failed
        worker.ready.wait()
        try:
            conn.send(worker.error)
        except Exception:  # an error that does not pickle still says what it was
            conn.send(RuntimeError(f"{type(worker.error).__name__}: {worker.error}"))

    threading.Thread(target=listen, name="prefrl-parent-listener", daemon=True).start()
    reporter = threading.Thread(target=report, name="prefrl-report-ready", daemon=True)
    reporter.start()
    worker.run()
    reporter.join(5)  # a renderer that failed at once still says why before the process ends
