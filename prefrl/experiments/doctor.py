"""``prefrl doctor``: check what a first run needs, and say what to install or set for anything missing.

    prefrl doctor          # one line per check; exit status 1 if a run could not work here

Checked: the versions of what prefrl runs on; torch's build (a CUDA build is gigabytes a laptop does not need)
and its threads; rendering one frame headless with this ``MUJOCO_GL``; encoding a video with libx264 (PyAV); a short
rollout of the task; and, for the labeling page's browser tests only, Chromium and Playwright.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prefrl.config import DoctorConfig

PACKAGES = ("torch", "numpy", "gymnasium", "mujoco", "stable-baselines3", "imageio", "av", "fastapi")


@dataclass(frozen=True)
class Check:
    """One check's outcome.

    Attributes:
        name: What was checked.
        ok: Whether it works.
        detail: What was found (a version, a time), or what is wrong.
        fix: What to do when it is not ok.
        required: Whether a training run needs it (the browser is for the tests only).
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def versions() -> Check:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            return Check("packages", False, f"{package} is not installed", f"pip install {package}")
    return Check("packages", True, f"Python {platform.python_version()}; " + ", ".join(found))


def torch_build() -> Check:
    import torch

    threads = torch.get_num_threads()
    detail = f"torch {torch.__version__}, {threads} threads (a run uses 1), {os.cpu_count()} CPUs"
    if torch.version.cuda is not None and not torch.cuda.is_available():
        return Check(
            "torch",
            True,
            detail + f"; a CUDA {torch.version.cuda} build without a GPU",
            "a CPU build is much smaller: pip install torch --index-url https://download.pytorch.org/whl/cpu",
        )
    return Check("torch", True, detail)


def rendering(env_id: str) -> Check:
    backend = os.environ.get("MUJOCO_GL", "egl")
    try:
        import mujoco  # noqa: F401  (reads MUJOCO_GL when first imported)
    except (ImportError, RuntimeError) as e:
        return Check(f"rendering (MUJOCO_GL={backend})", False, str(e), "set MUJOCO_GL to egl, osmesa or glfw")
    import prefrl.envs  # noqa: F401  (registers the tasks)
    from prefrl.rl.render import RenderingUnavailable, open_renderer

    try:
        with open_renderer(env_id, 160, 160, pretty=False) as renderer:
            import gymnasium as gym

            env = gym.make(env_id)
            _, info = env.reset(seed=0)
            env.close()
            start = time.perf_counter()
            frame = renderer.render(info["qpos"][None], info["qvel"][None])[0]
            ms = 1000 * (time.perf_counter() - start)
    except RenderingUnavailable as e:
        return Check(f"rendering (MUJOCO_GL={backend})", False, str(e).split(". ")[0], str(e).split(". ", 1)[-1])
    if frame.std() == 0:
        return Check(f"rendering (MUJOCO_GL={backend})", False, "the frame is blank", "try MUJOCO_GL=osmesa")
    return Check(f"rendering (MUJOCO_GL={backend})", True, f"one 160x160 frame of {env_id} in {ms:.0f} ms")


def video_encoding() -> Check:
    import numpy as np

    try:
        from prefrl.rl.render import write_video
    except (ImportError, RuntimeError) as e:  # the renderer's module loads MuJoCo
        return Check("video (H.264)", False, f"not tried: MuJoCo does not load ({e})", "see the rendering check")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = write_video(np.zeros((4, 64, 64, 3), np.uint8), Path(tmp) / "check.mp4", fps=10)
        except Exception as e:  # PyAV's errors when its libx264 is missing or broken
            return Check("video (H.264)", False, f"{type(e).__name__}: {e}", "pip install --force-reinstall av")
        return Check("video (H.264)", True, f"H.264 mp4 written ({path.stat().st_size} bytes)")


def rollout(env_id: str) -> Check:
    try:
        import mujoco  # noqa: F401
    except (ImportError, RuntimeError) as e:
        return Check("simulation", False, f"MuJoCo does not load: {e}", "see the rendering check above")
    import prefrl.envs
    from prefrl.experiments.bench import raw_env_steps_per_second

    steps_per_second = raw_env_steps_per_second(env_id, steps=1000)
    spec = prefrl.envs.task_spec(env_id)
    return Check("simulation", True, f"{env_id}: {steps_per_second:,.0f} env steps/s, clips of {spec.clip_steps} steps")


def browser() -> Check:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return Check("browser tests", False, "playwright is missing", 'pip install -e ".[dev]"', required=False)
    if chromium is None:
        return Check(
            "browser tests",
            False,
            "no chromium on PATH: the labeling page's browser tests will be skipped",
            "Debian/Ubuntu: apt-get install chromium (make browser)",
            required=False,
        )
    return Check("browser tests", True, f"{chromium} and playwright", required=False)


def run_checks(config: DoctorConfig) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        versions,
        torch_build,
        lambda: rendering(config.env),
        video_encoding,
        lambda: rollout(config.env),
        browser,
    ]
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as e:  # a check that breaks is a failed check, reported with the others
            results.append(Check(getattr(check, "__name__", "check"), False, f"{type(e).__name__}: {e}"))
    return results


def main(config: DoctorConfig) -> int:
    """Print one line per check (and what to do for each that failed); 1 if a required one failed."""
    import prefrl.envs

    prefrl.envs.task_spec(config.env)  # ValueError naming the known tasks
    results = run_checks(config)
    for check in results:
        mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
        print(f"{mark}  {check.name}: {check.detail}")
        if check.fix and not check.ok:
            print(f"      -> {check.fix}")
        elif check.fix:
            print(f"      (note: {check.fix})")
    failed = [c for c in results if c.required and not c.ok]
    print("ready to train" if not failed else f"{len(failed)} problem(s) to fix before a run can work here")
    return 1 if failed else 0
