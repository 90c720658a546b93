"""A sweep's finished runs (``RunResult``), and the tables that set its preference runs beside its true-reward
runs: returns and wall times paired by seed (``paired.csv``), and what the final policies did (their gait), so a
reader sees behaviour beside return."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from prefrl.experiments.results import binned_curve, final_return, initial_return
from prefrl.experiments.sweep import Condition, SweepPlan
from prefrl.run_dir import RunFiles


@dataclass(frozen=True)
class RunResult:
    """A finished run of a sweep, reduced to what the report shows."""

    task: str
    condition: Condition
    seed: int
    final_return: float
    initial_return: float
    curve: np.ndarray  # [bins] mean true return per timestep bin
    train_seconds: float = math.nan  # from summary.json
    gait: Mapping[str, float] = field(default_factory=dict)  # summary.json's final episode: healthy fraction, ...


def summary_values(run_dir: Path) -> tuple[float, dict[str, float]]:
    """A finished run's training seconds (NaN where ``summary.json`` has none) and its final episode's gait
    measures (empty for runs made before prefrl measured them)."""
    summary = json.loads(RunFiles(run_dir).summary.read_text())
    episode = summary.get("final_episode", {})
    gait = {k: float(v) for k, v in episode.items() if k not in ("seed", "true_return")}
    return float(summary.get("train_seconds", math.nan)), gait


def load_results(sweep_dir: Path, bins: int = 50) -> tuple[SweepPlan, list[RunResult]]:
    """The sweep's plan and its finished runs."""
    plan = SweepPlan.load(sweep_dir)
    results = [
        RunResult(r.task, r.condition, r.seed, final_return(r.run_dir, r.steps), initial_return(r.run_dir),
                  binned_curve(r.run_dir, r.steps, bins), *summary_values(r.run_dir))
        for r in plan.runs(sweep_dir)
        if r.status() == "done"
    ]  # fmt: skip
    return plan, results


PAIRED_FILE = "paired.csv"
PAIRED_FIELDS = (
    "condition", "task", "seeds", "preference_return", "preference_return_sd", "true_return", "true_return_sd",
    "return_ratio", "normalised_score", "random_policy_return", "wall_time_ratio",
)  # fmt: skip


def paired_rows(results: Sequence[RunResult], conditions: Sequence[Condition], tasks: Sequence[str],
                baseline: Literal["random", "zero"] = "random") -> list[dict]:  # fmt: skip
    """Per preference condition and task, its runs against the true-reward runs of the same seeds (see the
    module docstring), over the seeds at which both finished; a condition and task without such a seed is left
    out. Keys: ``PAIRED_FIELDS``."""
    true_runs = {(r.task, r.seed): r for r in results if r.condition.is_baseline}
    sd = lambda x: float(x.std(ddof=1)) if len(x) > 1 else 0.0  # noqa: E731
    rows = []
    for c, task in ((c, task) for c in conditions if not c.is_baseline for task in tasks):
        pairs = [(r, true_runs[task, r.seed]) for r in results if (r.task, r.condition) == (task, c)
                 and (task, r.seed) in true_runs]  # fmt: skip
        if not pairs:
            continue
        pref, true = (np.array([pair[i].final_return for pair in pairs]) for i in (0, 1))
        p_mean, t_mean = float(pref.mean()), float(true.mean())
        floor = float(np.mean([r.initial_return for pair in pairs for r in pair])) if baseline == "random" else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            walls = np.array([p.train_seconds for p, _ in pairs]) / np.array([t.train_seconds for _, t in pairs])
        walls = walls[np.isfinite(walls)]  # runs without train_seconds in summary.json are left out
        rows.append({
            "condition": c.name, "task": task, "seeds": len(pairs),
            "preference_return": p_mean, "preference_return_sd": sd(pref), "true_return": t_mean,
            "true_return_sd": sd(true), "return_ratio": p_mean / t_mean if t_mean != 0 else math.nan,
            "normalised_score": (p_mean - floor) / (t_mean - floor) if t_mean != floor else math.nan,
            "random_policy_return": floor, "wall_time_ratio": float(np.median(walls)) if len(walls) else math.nan,
        })  # fmt: skip
    return rows


def paired_table(rows: Sequence[Mapping]) -> list[str]:
    """Markdown rows of ``paired_rows``."""

    def num(x: float, digits: int) -> str:
        return f"{x:.{digits}f}" if math.isfinite(x) else "–"

    lines = [
        "| condition | task | seeds | preference return (mean ± sd) | true-reward return (mean ± sd) | return ratio "
        "| normalised score | wall-time ratio (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['condition']} | {r['task']} | {r['seeds']} "
            f"| {num(r['preference_return'], 1)} ± {num(r['preference_return_sd'], 1)} "
            f"| {num(r['true_return'], 1)} ± {num(r['true_return_sd'], 1)} | {num(r['return_ratio'], 2)} "
            f"| {num(r['normalised_score'], 2)} | {num(r['wall_time_ratio'], 2)} |"
        )
    return lines


def machine_line() -> str:
    """This machine, as the benchmark printed it next to its wall times."""
    return (
        f"Report written on a {platform.processor() or platform.machine()} machine with {os.cpu_count()} CPUs "
        f"({platform.system()}), {time.strftime('%Y-%m-%d')}. The wall times are those of the "
        "machine each run trained on; they compare when the two runs of a pair trained side by side on one "
        "machine (prefrl sweep --jobs 2)."
    )


def paired_section(rows: Sequence[Mapping], baseline: Literal["random", "zero"]) -> list[str]:
    """The report's section on preference against the true reward (also in ``paired.csv``)."""
    lines = [
        "",
        "## Preference against RL on the true reward, paired by seed",
        "",
        "Over the seeds at which both the preference run and the true-reward run finished: final return (mean ± sd "
        "over seeds); return ratio: preference / true reward of the seed means; normalised score of the seed "
        "means: "
        + ("(R - R_random) / (R_true - R_random), R_random the mean first-rollout return of these runs" if baseline ==
           "random" else "R / R_true")
        + "; wall-time ratio: median over seeds of preference / true-reward training seconds. "
        f"Also in {PAIRED_FILE}.",
        "",
        machine_line(),
        "",
    ]  # fmt: skip
    if not rows:
        return lines + ["No task and seed has finished both a preference and a true-reward run yet."]
    return lines + paired_table(rows)


def write_paired_csv(path: Path, rows: Sequence[Mapping]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PAIRED_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


GAIT_COLUMNS = {"healthy_fraction": ("healthy", "{:.0%}"), "forward_speed": ("m/s", "{:.2f}"),
                "hops_per_second": ("hops/s", "{:.2f}")}  # fmt: skip


def gait_section(results: Sequence[RunResult], conditions: Sequence[Condition], tasks: Sequence[str]) -> list[str]:
    """The report's section on the final policies' gait: per condition and task, the mean over seeds of each
    run's final-episode measures; empty when no run has them."""
    measured = [t for t in tasks if any(r.gait and r.task == t for r in results)]
    if not measured:
        return []
    lines = [
        "",
        "## What the final policies did",
        "",
        "One deterministic episode of each run's final policy (summary.json's final_episode): the fraction of "
        "healthy steps, the mean forward speed and, for the Hopper, hops per second; mean over seeds (n).",
        "",
        "| condition | " + " | ".join(measured) + " |",
        "|---|" + "---|" * len(measured),
    ]
    for c in conditions:
        cells = []
        for task in measured:
            runs = [r for r in results if (r.task, r.condition) == (task, c) and r.gait]
            parts = [
                f"{fmt.format(float(np.mean([r.gait[k] for r in runs])))} {unit}"
                for k, (unit, fmt) in GAIT_COLUMNS.items()
                if runs and all(k in r.gait for r in runs)
            ]
            cells.append(", ".join(parts) + f" (n={len(runs)})" if parts else "–")
        lines.append(f"| {'true reward' if c.is_baseline else c.name} | " + " | ".join(cells) + " |")
    return lines
