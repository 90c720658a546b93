"""``LabelServer``: the labeling page of one run, served by uvicorn in a background thread, with its renderer.

    prefrl label runs/Hopper__pref700__0__20261129-120000            # serve an existing run's queue
    prefrl train --env prefrl/Hopper-v0 --teacher human --labels 700  # the trainer starts one itself

Binds to 127.0.0.1 unless told otherwise; on any other address every request needs a token, generated here
and printed as part of the URL.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from pathlib import Path

import uvicorn

import prefrl.envs
from prefrl.labeling import DEFAULT_PORT
from prefrl.labeling.clip_videos import ClipVideoProcess
from prefrl.labeling.queue import LEASE_SECONDS, STALE_STEPS, LabelQueue
from prefrl.labeling.web.app import LOOPBACK_NAMES, LabelSite, create_app
from prefrl.run_dir import RunFiles
from prefrl.store import PreferenceStore
from prefrl.teachers.human import UNDO_META, HumanTeacher

BUSY_SECONDS = 2.0
"""How long a request waits for the database while another process writes to it."""


class LabelServer:
    """Serves the label queue of the run in ``run_dir``.

    Args:
        run_dir: A run directory (holds ``preferences.sqlite``); videos go to its ``clips/`` folder.
        budget: The run's label budget, shown on the page.
        host, port: Where to listen (port 0: any free port).
        lease_seconds, undo_seconds, stale_steps: See ``LabelQueue``.
        pretty: Render with shadows, reflections and anti-aliasing.
        trainer: Whether a trainer runs in this process (the page then waits for more pairs).
    """

    def __init__(
        self,
        run_dir: str | Path,
        budget: int | None = None,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        lease_seconds: float = LEASE_SECONDS,
        undo_seconds: float = HumanTeacher.UNDO_SECONDS,
        stale_steps: int = STALE_STEPS,
        pretty: bool = False,
        trainer: bool = False,
    ):
        self.run_dir = Path(run_dir)
        self.host, self.port = host, port
        self.token = None if host in LOOPBACK_NAMES else secrets.token_urlsafe(24)
        files = RunFiles(self.run_dir)
        self.store = PreferenceStore.open(files.db)
        # A request waits this long for a database another process holds, then gets a 503 (not a 30 s stall).
        self.store.connection.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
        self.queue = LabelQueue(self.store, lease_seconds, undo_seconds, stale_steps)
        self.store.set_meta(UNDO_META, repr(float(undo_seconds)))  # the trainer hands over no answer still undoable
        self.renderer = ClipVideoProcess(self.store.path, files.clips, pretty=pretty)
        env_id = self.store.env_id
        site = LabelSite(
            self.queue,
            files.clips,
            prefrl.envs.task_spec(env_id).instruction,
            env_id,
            budget,
            self.token,
            on_change=self.renderer.wake,
            render_error=lambda: None if self.renderer.error is None else str(self.renderer.error),
            loopback_only=host in LOOPBACK_NAMES,
            run_dir=str(self.run_dir),
            trainer=trainer,
        )
        config = uvicorn.Config(create_app(site), host=host, port=port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="prefrl-label-server", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def wake(self) -> None:
        """New pairs were stored: render them."""
        self.renderer.wake()

    def start(self, timeout: float = 30.0) -> LabelServer:
        """Start rendering and serving; returns once the renderer works and the server listens.

        Raises:
            RenderingUnavailable: No OpenGL (the message says what to install).
            ValueError: The server cannot listen on ``host:port``.
        """
        self.renderer.start()
        self.renderer.wait_ready(timeout)  # returns at once if the renderer's process dies first
        if self.renderer.error is not None:
            self.store.close()
            raise self.renderer.error
        self._thread.start()
        deadline = time.monotonic() + timeout
        # uvicorn offers no event for "listening"; this waits only at startup, never in the training loop.
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.renderer.stop()
                self.store.close()
                raise ValueError(
                    f"the labeling page cannot listen on {self.host}:{self.port} (in use?); pass another port"
                )
            time.sleep(0.02)
        sock: socket.socket = self._server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self.renderer.stop()
        self._thread.join(timeout=10)
        self.renderer.join(timeout=10)
        self.store.close()

    def __enter__(self) -> LabelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
