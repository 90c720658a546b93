"""What rendering clips next to a trainer costs the trainer: PPO steps/s alone, beside a renderer thread in its
process, and beside a renderer process.

    python scripts/bench_render_cost.py --rounds 2

The renderer draws and encodes the two 60-step Hopper-v1 clips of a pair (320x240, as the labeling page's
renderer does) every ``--period`` seconds (0.75 s: 4 labelers answering every 3 s take 1.33 pairs a second);
the trainer is PPO on Hopper-v1's true reward with its task settings, one torch thread, timed over ``--steps``
after a warm-up. The three settings run one after another in each round, in their own processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ENV = "prefrl/Hopper-v1"


def render_pairs(stop, period: float, out: str) -> None:
    """Draw and encode a pair of clips every ``period`` seconds until ``stop`` is set."""
    import gymnasium as gym

    import prefrl.envs  # noqa: F401  (registers the tasks)
    from prefrl.rl.render import ClipRenderer, write_video

    env = gym.make(ENV)
    _, info = env.reset(seed=0)
    qpos, qvel = np.repeat(info["qpos"][None], 60, axis=0), np.repeat(info["qvel"][None], 60, axis=0)
    qpos[:, 0] += np.linspace(0.0, 1.0, 60)  # the body moves, so the camera does
    with ClipRenderer(ENV) as renderer:
        while not stop.is_set():
            started = time.perf_counter()
            for side in ("left", "right"):
                write_video(renderer.frames(qpos, qvel), Path(out) / f"{side}.mp4", fps=40, preset="ultrafast")
            time.sleep(max(0.0, period - (time.perf_counter() - started)))
    env.close()


def train_steps_per_second(steps: int) -> float:
    import torch
    from threadpoolctl import threadpool_limits

    from prefrl.rl.agent import make_agent
    from prefrl.rl.hyperparams import ppo_hyperparams
    from prefrl.rl.vec_env import make_vec_env

    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")
    hp = ppo_hyperparams(ENV, {})
    venv, _ = make_vec_env(ENV, hp, 0, None)
    agent = make_agent(hp, venv, 0)
    agent.learn(4096)  # warm-up
    started = time.perf_counter()
    agent.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - started)


def one(setting: str, steps: int, period: float) -> None:
    """One measurement, in this process: prints the trainer's steps/s."""
    with tempfile.TemporaryDirectory() as out:
        stop: Any = None
        renderer: Any = None
        if setting == "thread":
            stop = threading.Event()
            renderer = threading.Thread(target=render_pairs, args=(stop, period, out))
        elif setting == "process":
            context = multiprocessing.get_context("spawn")
            stop = context.Event()
            renderer = context.Process(target=render_pairs, args=(stop, period, out))
        if stop is not None:
            renderer.start()
            time.sleep(3.0)  # the renderer is drawing before the clock starts
        rate = train_steps_per_second(steps)
        if stop is not None:
            stop.set()
            renderer.join()
    print(f"{rate:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--period", type=float, default=0.75, help="seconds between pairs")
    parser.add_argument("--one", choices=["alone", "thread", "process"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.steps, args.period)
        return
    rates: dict[str, list[float]] = {"alone": [], "thread": [], "process": []}
    for _ in range(args.rounds):
        for setting, found in rates.items():
            command = [sys.executable, __file__, "--one", setting, "--steps", str(args.steps)]
            command += ["--period", str(args.period)]
            found.append(float(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
    alone = float(np.median(rates["alone"]))
    for setting, found in rates.items():
        shown = ", ".join(f"{r:.0f}" for r in found)
        print(f"{setting:8s} PPO steps/s {shown}  (median {np.median(found) / alone:.2f} of alone)")


if __name__ == "__main__":
    main()
