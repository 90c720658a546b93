"""Preference learning against the true-reward PPO baseline, with paired seeds and equal timesteps.

    python scripts/benchmark.py --tasks Hopper HalfCheetah Swimmer Reacher --seeds 3 --labels 700 \
        --steps 1000000 --pairs 1 --out bench/core

For each task and seed it trains ``prefrl train`` twice, once from ``--labels`` synthetic preferences and once
on the true reward, the two at the same time (one per core, so both see the same machine load), ``--pairs``
such pairs at a time.
Finished runs are skipped, so an interrupted benchmark resumes. It writes ``results.csv`` (one row per run)
and ``results.md`` (one row per task) into ``--out``:

* final true return: mean true episode return over the last 10% of timesteps (as the paper's curves average
  consecutive batches), mean over seeds;
* return ratio: preference / true-reward final return (ratio of the seed means);
* normalised score: (preference - random policy) / (true reward - random policy), the random policy's return being
  that of the first rollout (meaningful for negative returns such as Reacher's, where the plain ratio is not);
* wall-time ratio: median over seeds of preference / true-reward training seconds, paired by seed.

``--report-only`` summarises the pairs finished so far without training.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefrl.experiments.results import binned_curve, final_return, initial_return

PREFRL = [sys.executable, "-m", "prefrl.cli"]  # the prefrl of this interpreter, whatever is on PATH


def train(run_dir: Path, task: str, seed: int, labels: int, steps: int, true_reward: bool) -> None:
    if (run_dir / "summary.json").exists():
        return
    if run_dir.exists():  # an interrupted run: continue it
        cmd = [*PREFRL, "train", "--resume", str(run_dir), "--no-progress"]
    else:
        cmd = [
            *PREFRL,
            "train",
            "--env",
            f"prefrl/{task}-v0",
            "--labels",
            str(labels),
            "--steps",
            str(steps),
            "--seed",
            str(seed),
            "--out",
            str(run_dir),
            "--no-video",
            "--no-progress",
        ]
        if true_reward:
            cmd.append("--true-reward")
    print(" ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def plot_curves(path: Path, tasks: list[str], finished: list[tuple[str, int]], run_dir, steps: int) -> None:
    """True return against timesteps, one panel per task, mean over the finished seeds of each condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    bins = 50
    x = (np.arange(bins) + 0.5) * steps / bins
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        seeds = [seed for t, seed in finished if t == task]
        for true_reward, label in ((True, "RL on the true reward"), (False, "700 synthetic labels")):
            curves = np.array([binned_curve(run_dir(task, seed, true_reward), steps, bins) for seed in seeds])
            ax.plot(x, np.nanmean(curves, axis=0), label=label)
        ax.set_title(f"{task} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
        ax.set_xlabel("timesteps")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("true episode return")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["Hopper", "HalfCheetah", "Swimmer", "Reacher"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, paired across conditions")
    parser.add_argument("--labels", type=int, default=700)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=1, help="pairs at a time (each pair: two runs, two cores)")
    parser.add_argument("--out", type=Path, default=Path("bench/core"))
    parser.add_argument("--report-only", action="store_true", help="only summarise the pairs already finished")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    # Seed-major: an interrupted benchmark has every task at the first seeds.
    pairs = [(task, seed) for seed in range(args.seeds) for task in args.tasks]
    runs = [(task, seed, true_reward) for task, seed in pairs for true_reward in (False, True)]

    def run_dir(task: str, seed: int, true_reward: bool) -> Path:
        return args.out / f"{task}__{'true' if true_reward else f'pref{args.labels}'}__{seed}"

    def train_pair(task: str, seed: int) -> None:
        """Both conditions of one task and seed at the same time, so their wall times are comparable."""
        with ThreadPoolExecutor(2) as both:
            for future in [
                both.submit(train, run_dir(task, seed, t), task, seed, args.labels, args.steps, t)
                for t in (False, True)
            ]:
                future.result()

    if not args.report_only:
        with ThreadPoolExecutor(args.pairs) as pool:
            for future in [pool.submit(train_pair, task, seed) for task, seed in pairs]:
                future.result()

    finished = [
        (task, seed) for task, seed in pairs if all((run_dir(task, seed, t) / "summary.json").exists() for t in (0, 1))
    ]
    rows = []
    for task, seed, true_reward in runs:
        if (task, seed) not in finished:
            continue
        d = run_dir(task, seed, true_reward)
        summary = json.loads((d / "summary.json").read_text())
        rows.append(
            {
                "task": task,
                "seed": seed,
                "condition": summary["condition"],
                "final_true_return": final_return(d, args.steps),
                "random_policy_return": initial_return(d),
                "train_seconds": summary["train_seconds"],
                "labels": summary["labels"],
                "timesteps": summary["timesteps"],
            }
        )
    with (args.out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    lines = [
        f"Benchmark: {args.labels} labels vs true reward, {args.steps:,} steps, {args.seeds} seeds, "
        f"{args.pairs} pair(s) at a time (the two runs of a pair side by side); "
        f"{platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| task | seeds | preference return (mean ± sd) | true-reward return (mean ± sd) | return ratio "
        "| normalised score | wall-time ratio (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        pref = [r for r in rows if r["task"] == task and r["condition"] != "true"]
        true = [r for r in rows if r["task"] == task and r["condition"] == "true"]
        if not pref:
            continue
        p = [r["final_true_return"] for r in pref]
        t = [r["final_true_return"] for r in true]
        wall = statistics.median(a["train_seconds"] / b["train_seconds"] for a, b in zip(pref, true))
        ratio = statistics.mean(p) / statistics.mean(t)
        # (pref - random) / (true - random), the random policy's return from the first rollout of both runs:
        # meaningful where returns are negative (Reacher), where the plain ratio is not.
        rand = statistics.mean(r["random_policy_return"] for r in pref + true)
        score = (statistics.mean(p) - rand) / (statistics.mean(t) - rand)
        sd = lambda x: statistics.stdev(x) if len(x) > 1 else 0.0  # noqa: E731
        lines.append(
            f"| {task} | {len(p)} | {statistics.mean(p):.1f} ± {sd(p):.1f} | {statistics.mean(t):.1f} ± {sd(t):.1f} "
            f"| {ratio:.2f} | {score:.2f} | {wall:.2f} |"
        )
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    plot_curves(
        args.out / "curves.png",
        [t for t in args.tasks if any(f[0] == t for f in finished)],
        finished,
        run_dir,
        args.steps,
    )
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
