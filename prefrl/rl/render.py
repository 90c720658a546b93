"""Render clips headless from stored simulator states, and write them as H.264 mp4 / GIF."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import gymnasium as gym
import imageio.v2 as imageio
import mujoco
import numpy as np

import prefrl.envs

# Bodies the camera follows, so a runner stays in view (0 = a fixed camera).
# The tracking camera follows the body's position, not its orientation, so a flipping Hopper stays in view upright.
_TRACKED_BODY = {
    "hopper": 1,
    "hopper_backflip": 1,
    "walker2d": 1,
    "swimmer": 1,
    "half_cheetah": 1,
    "half_cheetah_upright": 1,
    "ant": 1,
    "ant_upright": 1,
}


FLOOR_HALF_SIZE = 1000.0
"""Half-size (m) of the drawn floor. The models' own floors are 40 m or less across each way, so a runner at
4 m/s ran off the picture after 10 s; the simulation's plane is infinite anyway."""


def _widen_floor(model: mujoco.MjModel, half_size: float) -> None:
    """Draw every plane at least ``half_size`` m each way, with its texture squares the same size as before.

    Only for the renderer's own model: a plane's size does not change its collisions.
    """
    for geom in np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE):
        size = model.geom_size[geom]
        if size[0] <= 0 or size[0] >= half_size:
            continue
        scale = half_size / size[0]
        size[:2] *= scale
        material = model.geom_matid[geom]
        if material >= 0 and not model.mat_texuniform[material]:
            model.mat_texrepeat[material] *= scale  # repeats are per plane unless texuniform


class ClipRenderer:
    """Renders frames of a task from ``qpos``/``qvel`` sequences, without a display.

    Args:
        env_id: A registered prefrl task.
        width, height: Frame size in pixels.
        pretty: Keep shadows, reflections, the skybox and anti-aliasing (about 10x slower on a CPU renderer).
    """

    def __init__(self, env_id: str, width: int = 320, height: int = 240, pretty: bool = False):
        self.env = gym.make(env_id)
        self.sim = self.env.unwrapped
        model: mujoco.MjModel = self.sim.model  # type: ignore[attr-defined]
        if not pretty:
            model.vis.quality.offsamples = 0  # no multisample anti-aliasing
            # Capsules and spheres of 12 x 6 facets instead of 28 x 16: the same picture at 320x240, a tenth less
            # time per frame on a CPU renderer (docs/BENCHMARKS.md 21).
            model.vis.quality.numslices, model.vis.quality.numstacks = 12, 6
        _widen_floor(model, FLOOR_HALF_SIZE)
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self.renderer = mujoco.Renderer(model, height=height, width=width)
        if not pretty:
            self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            # A black sky instead of the skybox's dark grey-blue: 0.5 of 4 ms a frame (docs/BENCHMARKS.md 23).
            self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
        self.camera = self._camera(env_id, model)

    def _camera(self, env_id: str, model: mujoco.MjModel) -> mujoco.MjvCamera:
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(model, camera)
        renderer = self.sim.mujoco_renderer  # type: ignore[attr-defined]
        config = dict(renderer.default_cam_config or {})
        spec_model = prefrl.envs.task_spec(env_id).model
        body = _TRACKED_BODY.get(spec_model, 0)
        config.pop("trackbodyid", None)
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                getattr(camera, key)[:] = value
            else:
                setattr(camera, key, value)
        if body:
            camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            camera.trackbodyid = body
        return camera

    @property
    def fps(self) -> float:
        """Frames per second of real time for one frame per env step."""
        return 1.0 / self.sim.dt  # type: ignore[attr-defined]

    def render(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Frames ``[T, height, width, 3]`` (uint8) for states ``qpos [T, nq]``, ``qvel [T, nv]``."""
        return np.stack(list(self.frames(qpos, qvel)))

    def frames(self, qpos: np.ndarray, qvel: np.ndarray) -> Iterator[np.ndarray]:
        """The frames of ``render``, one at a time as they are drawn (an encoder can take each while the next is
        drawn)."""
        for p, v in zip(qpos, qvel):
            self.sim.set_state(p, v)  # type: ignore[attr-defined]
            self.renderer.update_scene(self.sim.data, camera=self.camera)  # type: ignore[attr-defined]
            yield self.renderer.render()

    def close(self) -> None:
        """Free the GL context, then the env (the other order can leave later frames black)."""
        self.renderer.close()
        self.env.close()

    def __enter__(self) -> ClipRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_video(
    frames: np.ndarray | Iterable[np.ndarray], path: str | Path, fps: float, preset: str = "medium"
) -> Path:
    """Write frames as an H.264 mp4 (yuv420p, plays in browsers) or, for a ``.gif`` path, a looping GIF.

    Args:
        frames: ``[T, height, width, 3]`` uint8, or any iterable of such frames (an mp4 encodes them as they come).
        preset: x264's speed/size trade-off; "ultrafast" halves the time of a short clip (larger file).
    """
    path = Path(path)
    if path.suffix == ".gif":
        imageio.mimsave(path, list(frames), duration=1000 / fps, loop=0)
    else:
        _write_mp4(frames, path, fps, preset)
    return path


def _write_mp4(frames: Iterable[np.ndarray], path: Path, fps: float, preset: str) -> None:
    """libx264 in this process (PyAV), on one thread: a 60-frame clip takes about half the time that starting an
    ffmpeg process and piping the frames to it did, and no process is forked next to the trainer's threads."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = None
        for frame in frames:
            frame = _even_sized(np.asarray(frame, dtype=np.uint8))
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": preset}
                stream.codec_context.thread_count = 1
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if stream is None:
            raise ValueError(f"no frames to write to {path}")
        container.mux(stream.encode())  # flush the encoder


def _even_sized(frame: np.ndarray) -> np.ndarray:
    """The frame with its last row / column repeated where its height / width is odd (yuv420p halves both)."""
    pad = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
    return np.pad(frame, pad, mode="edge") if any(p[1] for p in pad) else frame


def frame_stride(fps: float, max_fps: float) -> int:
    """Keep every k-th step of a ``fps`` simulation so its video plays in real time at most ``max_fps`` frames/s."""
    return max(1, math.ceil(fps / max_fps))


def write_episodes(
    renderer: ClipRenderer, episodes: Sequence[tuple[np.ndarray, np.ndarray]], path: str | Path, max_fps: float
) -> tuple[int, float]:
    """Render episodes' states (``qpos``, ``qvel`` pairs) one after another into one video (mp4, or GIF by suffix).

    Every k-th state of each episode is kept, from its first on, with k = ``frame_stride(renderer.fps, max_fps)``:
    an episode of T states gives ceil(T / k) frames. Episodes are rendered one at a time, so an mp4 never holds
    more than one episode's frames in memory.

    Returns:
        The number of frames written and their rate (frames per second of real time).
    """
    every = frame_stride(renderer.fps, max_fps)
    frames = (frame for qpos, qvel in episodes for frame in renderer.frames(qpos[::every], qvel[::every]))
    write_video(frames, path, fps=renderer.fps / every)
    return sum(math.ceil(len(qpos) / every) for qpos, _ in episodes), renderer.fps / every


class RenderingUnavailable(ValueError):
    """No OpenGL context could be created for headless rendering (the message says what to install)."""


def open_renderer(env_id: str, width: int, height: int, pretty: bool) -> ClipRenderer:
    """A ``ClipRenderer``, or ``RenderingUnavailable`` saying how to get OpenGL working."""
    try:
        with warnings.catch_warnings():  # GLFW warns before it fails: the error below says it all
            warnings.simplefilter("ignore")
            return ClipRenderer(env_id, width, height, pretty=pretty)
    except Exception as e:  # mujoco raises plain exceptions (and ImportError) for a missing GL backend
        backend = os.environ.get("MUJOCO_GL", "egl")
        raise RenderingUnavailable(
            f"cannot render clips with MUJOCO_GL={backend} ({type(e).__name__}: {e}). Install EGL "
            "(Debian/Ubuntu: apt-get install libegl1) or OSMesa (apt-get install libosmesa6) and run with "
            "MUJOCO_GL=osmesa, or MUJOCO_GL=glfw on a machine with a display."
        ) from e


@dataclass(frozen=True)
class VideoSettings:
    """Size and frame rate of a rendered video.

    Attributes:
        width, height: Frame size in pixels.
        max_fps: Keep every k-th env step so the video plays in real time at no more than this frame rate.
    """

    width: int = 320
    height: int = 240
    max_fps: float = 50.0


MP4 = VideoSettings()
"""A run's ``final_policy.mp4``, ``prefrl video``'s mp4s and the labeling page's clips."""
GIF = VideoSettings(240, 180, 20.0)
"""GIFs, kept small enough for a README."""


def render_video(
    env_id: str,
    episodes: Sequence[tuple[np.ndarray, np.ndarray]],
    path: Path,
    settings: VideoSettings = MP4,
    pretty: bool = False,
) -> tuple[int, float]:
    """Render ``(qpos, qvel)`` episodes of ``env_id`` one after another into one video at ``path``.

    Returns:
        The number of frames written and their rate; ``RenderingUnavailable`` without OpenGL.
    """
    with open_renderer(env_id, settings.width, settings.height, pretty) as renderer:
        return write_episodes(renderer, episodes, path, settings.max_fps)
