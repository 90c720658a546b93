"""The background renderer: only the pairs about to be served, as H.264 mp4."""

import os
import signal
import subprocess
import sys
import threading
import time

import imageio.v3 as iio
import numpy as np
import pytest

from prefrl.labeling.clip_videos import ClipVideoProcess, ClipVideoWorker, encode_clip
from prefrl.labeling.queue import LabelQueue
from prefrl.store import PreferenceStore


def wait_until_ready(queue, worker, pairs, timeout=30.0):
    deadline = time.monotonic() + timeout
    while queue.progress().ready < pairs:  # rendered pairs are seen through the database: look every 50 ms
        assert worker.error is None and time.monotonic() < deadline
        worker.wake()
        time.sleep(0.05)


@pytest.mark.parametrize("kind", [ClipVideoWorker, ClipVideoProcess])  # a thread, or a process of its own
def test_renders_only_the_pairs_ahead_of_the_labelers(hopper_run, kind):
    run = hopper_run(pairs=4, clip_steps=30)
    worker = kind(run / "preferences.sqlite", run / "clips", ahead=2, width=160, height=120)
    worker.start()
    queue = LabelQueue(PreferenceStore.open(run / "preferences.sqlite"))
    try:
        assert worker.wait_ready(60) and worker.error is None
        wait_until_ready(queue, worker, 2)
        assert sorted(p.name for p in (run / "clips").iterdir()) == ["5.mp4", "6.mp4", "7.mp4", "8.mp4"]
        assert queue.lease_next("ann").query_id == 4  # serving one pair makes the worker render the next
        wait_until_ready(queue, worker, 2)
        assert (run / "clips" / "3.mp4").exists() and not (run / "clips" / "1.mp4").exists()
    finally:
        worker.stop()
        worker.join(10)
    meta = iio.immeta(run / "clips" / "5.mp4", plugin="pyav")
    frames = iio.imread(run / "clips" / "5.mp4", plugin="pyav")
    assert meta["codec"] == "h264" and frames.shape == (30, 120, 160, 3)  # every one of the 30 steps
    assert meta["fps"] == 20.0 and meta["duration"] == 1.5  # shown over the paper's 1.5 s (slowed from 125/s)


def test_a_renderer_that_cannot_start_says_why_at_once(hopper_run):
    from prefrl.labeling.web.server import LabelServer

    run = hopper_run(pairs=1)
    (run / "clips").write_text("a file where the clip folder should be")  # like a run directory it cannot write
    start = time.monotonic()
    with pytest.raises(OSError):
        LabelServer(run, port=0).start()
    assert time.monotonic() - start < 10  # not after the 30 s start-up timeout


def test_a_clip_that_fails_while_drawn_leaves_no_file(tmp_path):
    """Frames are encoded as they are drawn: a renderer failing mid-clip leaves neither the video nor a
    temporary file."""

    def frames():
        for i in range(30):
            yield np.full((120, 160, 3), 8 * i, np.uint8)
        raise RuntimeError("the GL context was lost")

    with pytest.raises(RuntimeError, match="GL context"):
        encode_clip(frames(), 20.0, tmp_path / "5.mp4")
    assert list(tmp_path.iterdir()) == []


def test_the_renderer_process_reports_why_it_stopped(hopper_run):
    run = hopper_run(pairs=1)
    (run / "clips").write_text("not a folder")
    failing = ClipVideoProcess(run / "preferences.sqlite", run / "clips")
    failing.start()
    assert failing.ready.wait(60) and isinstance(failing.error, OSError)
    failing.join(10)
    assert not failing._process.is_alive()
    with pytest.raises(TypeError, match="widht"):  # a misspelt option fails before any process starts
        ClipVideoProcess(run / "preferences.sqlite", run / "clips", widht=160)
    (run / "clips").unlink()  # the file in the folder's place
    killed = ClipVideoProcess(run / "preferences.sqlite", run / "clips")  # a child that dies without a word
    killed.start()
    assert killed.ready.wait(60) and killed.error is None
    os.kill(killed._process.pid, signal.SIGKILL)
    killed._process.join(10)
    assert isinstance(killed.error, RuntimeError) and "exit code -9" in str(killed.error)
    stopping = threading.Thread(target=lambda: (killed.wake(), killed.stop(), killed.join(10)), daemon=True)
    stopping.start()  # in a thread: a parent blocked on a lock its dead child held would hang the test
    stopping.join(15)
    assert not stopping.is_alive(), "stopping a killed renderer hung"
    dying = ClipVideoProcess(run / "preferences.sqlite", run / "clips")  # one that dies before it is ready
    dying.start()
    os.kill(dying._process.pid, signal.SIGKILL)
    started = time.monotonic()
    assert not dying.wait_ready(30)  # returns when the process ends, not after the 30 s
    assert time.monotonic() - started < 10 and isinstance(dying.error, RuntimeError)


PARENT = """
import sys, time
from prefrl.labeling.clip_videos import ClipVideoProcess
worker = ClipVideoProcess(sys.argv[1], sys.argv[2])
worker.start()
worker.ready.wait(60)
print(worker._process.pid, flush=True)
time.sleep(600)
"""


def test_the_renderer_process_ends_when_its_parent_is_killed(hopper_run):
    run = hopper_run(pairs=1)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(run / "preferences.sqlite"), str(run / "clips")], stdout=subprocess.PIPE
    )
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _has_ended(child):
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the renderer process outlived its killed parent by 15 s")


def _has_ended(pid):
    """Gone, or a zombie waiting for whoever adopted it to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True
