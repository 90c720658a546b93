import subprocess
import sys

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest

import prefrl.envs  # noqa: F401
from prefrl.rl.render import ClipRenderer, RenderingUnavailable, open_renderer, write_video


def states(env_id, n):
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    qpos, qvel = [info["qpos"]], [info["qvel"]]
    for _ in range(n - 1):
        *_, info = env.step(env.action_space.sample())
        qpos.append(info["qpos"])
        qvel.append(info["qvel"])
    env.close()
    return np.array(qpos), np.array(qvel)


def test_renders_stored_states_headless(tmp_path):
    qpos, qvel = states("prefrl/Hopper-v0", 30)
    with ClipRenderer("prefrl/Hopper-v0", width=160, height=120) as renderer:
        frames = renderer.render(qpos, qvel)
    assert frames.shape == (30, 120, 160, 3) and frames.dtype == np.uint8
    assert frames.mean() > 20 and frames.std() > 10  # not black, not blank
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 0.5  # the body moved
    path = write_video(frames, tmp_path / "clip.mp4", fps=25)
    back = iio.imread(path)
    assert back.shape[0] == 30
    gif = write_video(frames[::3], tmp_path / "clip.gif", fps=10)
    assert gif.stat().st_size > 1000


def test_camera_follows_the_body():
    """Far from the origin the tracked hopper is still in the frame (not a blank floor)."""
    qpos, qvel = states("prefrl/Hopper-v0", 2)
    near = qpos.copy()
    far = qpos.copy()
    far[:, 0] += 20.0
    with ClipRenderer("prefrl/Hopper-v0", width=96, height=96) as renderer:
        a, b = renderer.render(near, qvel), renderer.render(far, qvel)
    # the checkerboard floor moves, the body does not: most pixels agree in a roughly similar picture
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 60


WRITE_WHILE_MULTIPLYING = """
import sys, threading, time
import numpy as np
from prefrl.rl.render import write_video

def keep_writing():
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    while True:
        write_video(frames, sys.argv[1], fps=25)

threading.Thread(target=keep_writing, daemon=True).start()
x, w = np.ones((1000, 14), np.float32), np.ones((3, 14, 64), np.float32)  # big enough for threaded BLAS
start = time.time()
while time.time() - start < 3:
    x[None] @ w
"""


def test_writing_videos_in_a_thread_never_hangs_a_matmul_elsewhere(tmp_path):
    """The labeling page's renderer thread writes clips while the trainer multiplies matrices.

    A fork() while OpenBLAS's threads work for another thread left that matmul spinning forever: when videos were
    encoded by an ffmpeg process started from that thread, this script hung within a few seconds every time (on a
    machine with more than one CPU). Videos are now encoded in-process; this guards against a fork coming back.
    """
    subprocess.run([sys.executable, "-c", WRITE_WHILE_MULTIPLYING, str(tmp_path / "clip.mp4")], check=True, timeout=60)


def test_the_floor_reaches_as_far_as_a_runner_goes():
    qpos, qvel = states("prefrl/HalfCheetahOneLeg-v0", 1)
    with ClipRenderer("prefrl/HalfCheetahOneLeg-v0", width=160, height=120) as renderer:
        far_out = qpos[0] + np.eye(len(qpos[0]))[0] * 300  # x + 300 m
        home, far = renderer.render(np.stack([qpos[0], far_out]), np.repeat(qvel, 2, axis=0))
    for frame in (home, far):  # 300 m out (75 s at 4 m/s), the checkered floor still fills the lower half
        below = frame[60:].mean(axis=2)
        assert (below < 60).mean() > 0.2 and (below > 150).mean() > 0.2


def test_no_opengl_gives_a_clear_error(monkeypatch):
    import prefrl.rl.render as render

    def broken(*args, **kwargs):
        raise RuntimeError("eglInitialize() failed")

    monkeypatch.setattr(render, "ClipRenderer", broken)
    with pytest.raises(RenderingUnavailable, match="eglInitialize.*MUJOCO_GL=osmesa"):
        open_renderer("prefrl/Hopper-v0", 64, 64, pretty=False)


def test_mp4_of_odd_sized_frames_plays_with_every_frame(tmp_path):
    # yuv420p needs an even width and height: the last row and column are repeated, no frame is dropped
    frames = np.zeros((7, 33, 45, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(7)[:, None, None] * 30  # each frame a different red
    path = write_video(iter(frames), tmp_path / "odd.mp4", fps=40, preset="ultrafast")
    decoded = iio.imread(path, plugin="pyav")
    assert decoded.shape == (7, 34, 46, 3)
    assert (
        np.abs(decoded[:, :33, :45, 0].astype(int).mean(axis=(1, 2)) - frames[:, :, :, 0].mean(axis=(1, 2))).max() < 8
    )
    with pytest.raises(ValueError, match="no frames"):
        write_video([], tmp_path / "empty.mp4", fps=40)
