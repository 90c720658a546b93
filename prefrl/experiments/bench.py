"""``prefrl bench``: steps per second of training, measured side by side on one core.

    prefrl bench --env prefrl/Hopper-v1 --steps 100000

Three numbers from one invocation, pinned to one CPU core: raw env stepping (random actions, one env, no
learning), PPO on the true reward, and a preference run (synthetic oracle), the two runs of the same length and
seed; then their ratios. Speed is a property of the machine at the moment, so compare ratios measured together,
not numbers from different days.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from prefrl.config import BenchConfig, TrainConfig

RAW_STEPS = 20_000


def pin_to_one_core() -> str:
    """Run this process on one CPU core (where the OS lets it); says which."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU core {core}"


def raw_env_steps_per_second(env_id: str, steps: int = RAW_STEPS, seed: int = 0) -> float:
    """One env stepping with random actions, resetting at the end of each episode."""
    import gymnasium as gym
    import numpy as np

    import prefrl.envs  # noqa: F401  (registers the tasks)

    env = gym.make(env_id)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high  # type: ignore[attr-defined]
    actions = rng.uniform(low, high, size=(steps, *low.shape))
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - start
    env.close()
    return steps / seconds


def run_steps_per_second(config: TrainConfig) -> float:
    """Timesteps per second of training time (``summary.json``'s ``train_seconds``) of one run."""
    from prefrl.experiments.train import run

    with contextlib.redirect_stdout(io.StringIO()):  # the runs' own lines (run directory, ...) are noise here
        run_dir = run(config)
    summary = json.loads((run_dir / "summary.json").read_text())
    return summary["timesteps"] / summary["train_seconds"]


def measure(config: BenchConfig) -> dict[str, float | str | int]:
    """The three speeds and their ratios."""
    where = pin_to_one_core()
    with tempfile.TemporaryDirectory(prefix="prefrl-bench-") as tmp:
        base = TrainConfig(
            env=config.env, steps=config.steps, seed=config.seed, video=False, progress=False, out=Path(tmp)
        )
        raw = raw_env_steps_per_second(config.env, seed=config.seed)
        true = run_steps_per_second(replace(base, true_reward=True, out=Path(tmp) / "true"))
        labels = config.preference_labels
        pref = run_steps_per_second(replace(base, labels=labels, out=Path(tmp) / "pref"))
    return {
        "env": config.env,
        "steps": config.steps,
        "labels": labels,
        "cpu": where,
        "raw_env_steps_per_second": raw,
        "true_reward_steps_per_second": true,
        "preference_steps_per_second": pref,
        "true_over_raw": true / raw,
        "preference_over_raw": pref / raw,
        "preference_over_true": pref / true,
    }


def main(config: BenchConfig) -> int:
    """Measure, print a table, and write the JSON ``--out`` asks for."""
    import prefrl.envs

    prefrl.envs.task_spec(config.env)
    if config.steps < 1:
        raise ValueError(f"--steps must be positive, got {config.steps}")
    if config.out is not None and config.out.exists():
        raise ValueError(f"{config.out} already exists; choose another --out")
    result = measure(config)
    print(f"{config.env}, {config.steps} steps per run, {result['labels']} labels, {result['cpu']}:")
    print(f"  raw env (random actions)   {result['raw_env_steps_per_second']:9,.0f} steps/s")
    print(
        f"  PPO on the true reward     {result['true_reward_steps_per_second']:9,.0f} steps/s"
        f"   {result['true_over_raw']:.2f} of raw"
    )
    print(
        f"  preference run             {result['preference_steps_per_second']:9,.0f} steps/s"
        f"   {result['preference_over_raw']:.2f} of raw, {result['preference_over_true']:.2f} of true-reward PPO"
    )
    if config.out is not None:
        config.out.write_text(json.dumps(result, indent=2))
    return 0
