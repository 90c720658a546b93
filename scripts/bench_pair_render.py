"""How long a newly chosen pair takes to become playable when the labeling page's renderer is idle.

    python scripts/bench_pair_render.py --pairs 20 --env prefrl/Hopper-v1

Stores one pair at a time (two 60-step clips of random Hopper actions, the task's clip length) in a fresh run
database, wakes a ``ClipVideoWorker`` (320x240, as the page shows them) and times until the queue counts the pair
rendered, that is until both of its videos are in place; then the next pair. Prints the median and p95 in
seconds. Run it with two checkouts at once (``PYTHONPATH=...``) to compare two versions side by side.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import prefrl.envs
from prefrl.labeling.clip_videos import ClipVideoWorker
from prefrl.labeling.queue import LabelQueue
from prefrl.preference import Query
from prefrl.segment import Segment
from prefrl.store import PreferenceStore


def random_clips(env_id: str, count: int, steps: int, seed: int) -> list[Segment]:
    """``count`` clips of ``steps`` random-action steps, each from a fresh start."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    clips = []
    for i in range(count):
        obs, info = env.reset(seed=seed + i)
        rows = []
        for _ in range(steps):
            action = env.action_space.sample()
            next_obs, reward, _, _, info = env.step(action)
            rows.append((obs, action, reward, info["qpos"], info["qvel"]))
            obs = next_obs
        obs_, actions, rewards, qpos, qvel = (np.array(column) for column in zip(*rows))
        clips.append(Segment(obs_, actions, rewards, qpos, qvel))
    env.close()
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="prefrl/Hopper-v1")
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    steps = prefrl.envs.task_spec(args.env).clip_steps
    clips = random_clips(args.env, 2 * args.pairs, steps, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "preferences.sqlite"
        store = PreferenceStore.create(db, args.env)
        worker = ClipVideoWorker(db, Path(tmp) / "clips", ahead=args.pairs, recheck_seconds=0.005)
        worker.start()
        assert worker.ready.wait(60) and worker.error is None, worker.error
        queue = LabelQueue(store)
        latencies = []
        for i in range(args.pairs):
            store.add_queries([Query(-1, clips[2 * i], clips[2 * i + 1], timestep=0, uncertainty=0.0)])
            start = time.perf_counter()
            worker.wake()
            while queue.progress().ready < i + 1:
                assert worker.error is None, worker.error
                time.sleep(0.002)
            latencies.append(time.perf_counter() - start)
        worker.stop()
        worker.join(10)
        store.close()
    median, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
    print(f"{args.env}, {steps}-step clips, {args.pairs} pairs: median {median:.3f} s, p95 {p95:.3f} s")


if __name__ == "__main__":
    main()
