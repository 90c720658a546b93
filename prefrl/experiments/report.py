"""The report of a sweep: Figure-2-style learning curves, the aggregate normalised score and the ablation table.

    prefrl report sweeps/fig2          # writes sweeps/fig2/report/{report.md, learning_curves.png, ...}

* Learning curves (as the paper's figures 2 and 5): true episode return against timesteps, one panel per task,
  one line per condition: the mean over seeds of each run's mean return per timestep bin, with a 95% percentile
  bootstrap band over seeds.
* Final return of a run: mean true return of the episodes of its last 10% of timesteps (``prefrl.experiments.results``).
* Normalised score of a preference run: ``(R - R_random) / (R_true - R_random)``, where ``R_true`` is the mean
  final return of the true-reward runs of the same task at the same number of timesteps and ``R_random`` the
  return of the untrained policy (the first rollout, averaged over the task's runs). 1 matches RL on the true
  reward, 0 is no better than where every run starts. This is the issue's "preference return / true-reward
  return" with the random policy's return taken off both: without it the ratio means nothing on tasks whose
  returns are negative (Reacher) and flatters every run on tasks where standing still already earns a lot.
  ``--baseline zero`` gives the plain ratio.
* Aggregate over tasks: the interquartile mean (IQM) of the scores of all runs of a condition, with a 95%
  stratified bootstrap confidence interval (runs resampled with replacement within each task), as recommended by
  Agarwal et al. (2021, "Deep RL at the edge of the statistical precipice") and computed by their ``rliable``
  package. prefrl computes it with numpy (``prefrl.experiments.statistics``, tested on known numbers) instead of
  depending on ``rliable``, which would pull in scipy, pandas, seaborn and arch for two functions.
* Preference against true reward, paired by seed (``paired.csv`` and a section of ``report.md``, whenever the sweep
  has a ``true`` condition and a preference one): per preference condition and task, over the seeds at which it
  and ``true`` both finished, the mean final return of each, the return ratio (preference / true of the seed
  means), the normalised score of the seed means (``R_random`` from those runs), and the wall-time ratio (median
  over seeds of preference / true ``train_seconds`` of the runs' ``summary.json``); see ``sweep_results``.
* What the final policies did: per condition and task, the gait measures of each run's final episode
  (``summary.json``): healthy fraction, forward speed, hops per second.

This replaces ``scripts/benchmark.py``, which ran the same pairs of runs outside ``prefrl sweep``. A sweep already
runs its runs in parallel processes: the benchmark's ``--pairs N`` (N pairs at a time, two runs each) is
``prefrl sweep --jobs 2N``. The runs are queued seed-major with the conditions of a task and seed next to each
other, so the two runs of a pair train at about the same time and every run shares the machine with as many
others, which is what makes their wall times comparable. The benchmark's ``--report-only`` is ``prefrl report`` on
an unfinished sweep (it reports the runs finished so far). So

    python scripts/benchmark.py --tasks Hopper HalfCheetah --seeds 3 --labels 700 --steps 1000000

is now

    prefrl sweep --tasks Hopper,HalfCheetah --conditions true,700 --seeds 3 --steps 1000000 --jobs 2 --out sweeps/bench
    prefrl report sweeps/bench     # sweeps/bench/report/{report.md, paired.csv, learning_curves.png}

and the per-run rows of its ``results.csv`` are the sweep's ``summary.csv``. Its run directories are named as a
sweep's, so that ``prefrl sweep`` with its arguments and ``--out`` its directory adopts its finished runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from prefrl.config import ReportConfig
from prefrl.experiments.statistics import bootstrap_mean_band, stratified_bootstrap_ci
from prefrl.experiments.sweep import Condition
from prefrl.experiments.sweep_results import (
    PAIRED_FILE,
    RunResult,
    gait_section,
    load_results,
    paired_rows,
    paired_section,
    write_paired_csv,
)

# --- Reading a sweep --------------------------------------------------------------------------------------------


def normalised_scores(
    results: Sequence[RunResult], baseline: Literal["random", "zero"] = "random"
) -> dict[Condition, dict[str, np.ndarray]]:
    """Per preference condition and task, the normalised score of each run (see the module docstring).

    Tasks without a finished true-reward run are left out.
    """
    scores: dict[Condition, dict[str, list[float]]] = {}
    for task in dict.fromkeys(r.task for r in results):
        runs = [r for r in results if r.task == task]
        true = [r.final_return for r in runs if r.condition.is_baseline]
        if not true:
            continue
        floor = float(np.nanmean([r.initial_return for r in runs])) if baseline == "random" else 0.0
        span = float(np.nanmean(true)) - floor
        for r in runs:
            if not r.condition.is_baseline:
                score = (r.final_return - floor) / span if span != 0 else math.nan
                scores.setdefault(r.condition, {}).setdefault(task, []).append(score)
    return {c: {t: np.array(v) for t, v in per_task.items()} for c, per_task in scores.items()}


# --- Which conditions go together -----------------------------------------------------------------------------


def condition_groups(conditions: Sequence[Condition]) -> dict[str, list[Condition]]:
    """The report's sections: label budgets (figure 2), ablations (figure 5) and teachers, each with its
    references (the true-reward baseline, and the unablated oracle condition of the same budget)."""
    baseline = [c for c in conditions if c.is_baseline]
    plain = [c for c in conditions if not c.is_baseline and not c.ablations and c.teacher == "oracle"]
    groups = {"budgets": baseline + plain}
    for key, varied in (
        ("ablations", [c for c in conditions if c.ablations]),
        ("teachers", [c for c in conditions if not c.ablations and c.teacher != "oracle"]),
    ):
        if varied:
            references = [c for c in plain if c.labels in {v.labels for v in varied}]
            groups[key] = baseline + references + varied
    return {k: v for k, v in groups.items() if v}


# --- Plots and tables -------------------------------------------------------------------------------------------


def plot_curves(results: Sequence[RunResult], conditions: Sequence[Condition], tasks: Sequence[str], steps: int,
                out: Path, title: str) -> Path:  # fmt: skip
    """True return against timesteps, one panel per task, mean and 95% bootstrap band per condition."""
    cols = min(4, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    ncol = min(len(conditions), 4 if cols > 1 else 2)  # a one-panel figure is too narrow for four columns
    legend_height = 0.3 + 0.25 * math.ceil(len(conditions) / ncol)  # inches
    height = 3.4 * rows + legend_height
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.5, 4.2 * cols), height), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes.flat, tasks):
        for i, c in enumerate(conditions):
            curves = np.array([r.curve for r in results if r.task == task and r.condition == c])
            if not len(curves):
                continue
            x = (np.arange(curves.shape[1]) + 0.5) * steps / curves.shape[1]
            mean, low, high = bootstrap_mean_band(curves)
            ok = np.isfinite(mean)  # bins no episode ended in (short runs) are bridged, not gaps
            x, mean, low, high = x[ok], mean[ok], low[ok], high[ok]
            style = {"color": "black", "linestyle": "--"} if c.is_baseline else {"color": colors[i % len(colors)]}
            label = "RL on the true reward" if c.is_baseline else f"{c.name} labels"
            ax.plot(x, mean, label=f"{label} (n={len(curves)})", marker="." if ok.sum() < 10 else None, **style)
            ax.fill_between(x, low, high, alpha=0.2, color=style["color"], linewidth=0)
        ax.set_title(task)
        ax.set_xlabel("timesteps")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(tasks) :]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel("true episode return")
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes.flat), key=lambda hl: len(hl[0]))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, legend_height / height, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def results_table(results: Sequence[RunResult], conditions: Sequence[Condition], tasks: Sequence[str],
                  scores: Mapping[Condition, Mapping[str, np.ndarray]], reps: int) -> list[str]:  # fmt: skip
    """Markdown rows: per condition, the final return per task (mean ± 95% bootstrap CI, n) and the IQM score."""
    lines = [
        "| condition | " + " | ".join(tasks) + " | normalised score: IQM [95% CI] |",
        "|---|" + "---|" * len(tasks) + "---|",
    ]
    for c in conditions:
        cells = []
        for task in tasks:
            finals = np.array([r.final_return for r in results if r.task == task and r.condition == c])
            finals = finals[np.isfinite(finals)]
            if not len(finals):
                cells.append("–")
                continue
            if len(finals) < 2:  # a bootstrap over one seed is that seed: no interval to show
                cells.append(f"{finals[0]:.1f} (n=1, no CI: needs 2+ seeds)")
                continue
            mean, low, high = (float(v[0]) for v in bootstrap_mean_band(finals[:, None], reps=reps))
            cells.append(f"{mean:.1f} [{low:.1f}, {high:.1f}] (n={len(finals)})")
        if c.is_baseline:
            score = "1 (reference)"
        else:
            point, low, high = stratified_bootstrap_ci(scores.get(c, {}), reps=reps)
            seeds = max((len(v) for v in scores.get(c, {}).values()), default=0)
            if math.isnan(point):
                score = "–"
            elif seeds < 2:
                score = f"{point:.2f} (1 seed, no CI)"
            else:
                score = f"{point:.2f} [{low:.2f}, {high:.2f}]"
        name = "true reward" if c.is_baseline else c.name
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {score} |")
    return lines


def score_table(conditions: Sequence[Condition], tasks: Sequence[str],
                scores: Mapping[Condition, Mapping[str, np.ndarray]]) -> list[str]:  # fmt: skip
    """Markdown rows: per preference condition, the mean normalised score per task and its runs' range."""
    lines = ["| condition | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for c in conditions:
        if c.is_baseline:
            continue
        cells = []
        for task in tasks:
            values = scores.get(c, {}).get(task, np.array([]))
            values = values[np.isfinite(values)]
            cells.append(f"{values.mean():.2f} ({values.min():.2f} to {values.max():.2f})" if len(values) else "–")
        lines.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return lines


# --- Preference against true reward, paired by seed ---------------------------------------------------------

SECTION_TITLES = {
    "budgets": ("Label budgets against RL on the true reward (the paper's figure 2)", "learning_curves.png"),
    "ablations": ("Ablations (the paper's figure 5)", "ablation_curves.png"),
    "teachers": ("Imperfect teachers (B-Pref, Lee et al. 2021)", "teacher_curves.png"),
}


def write_report(sweep_dir: Path, out: Path | None = None, bins: int = 50, reps: int = 2000,
                 baseline: Literal["random", "zero"] = "random") -> Path:  # fmt: skip
    """Plots (PNG) and tables (``report.md``, ``paired.csv``) of a sweep's finished runs into ``out``; returns the
    markdown file."""
    plan, results = load_results(sweep_dir, bins)
    if not results:
        raise ValueError(f"no finished run in {sweep_dir} yet: run the sweep first (prefrl sweep --resume {sweep_dir})")
    out = Path(out) if out is not None else Path(sweep_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    scores = normalised_scores(results, baseline)
    tasks = [t for t in plan.tasks if any(r.task == t for r in results)]
    total = len(plan.tasks) * len(plan.conditions) * plan.seeds
    lines = [
        f"# Results of {Path(sweep_dir).name}",
        "",
        f"{len(results)} of {total} runs finished: {len(plan.tasks)} tasks x {len(plan.conditions)} conditions x "
        f"{plan.seeds} seeds, {plan.steps:,} timesteps each. Final return: mean true episode return over the last "
        f"10% of timesteps; brackets: 95% bootstrap confidence interval over seeds. Normalised score: "
        + ("(R - R_random) / (R_true - R_random)" if baseline == "random" else "R / R_true")
        + " per run, aggregated over tasks as an interquartile mean with a 95% stratified bootstrap CI.",
    ]
    for key, group in condition_groups(plan.conditions).items():
        title, png = SECTION_TITLES[key]
        plot_curves(results, group, tasks, plan.steps, out / png, title)
        lines += ["", f"## {title}", "", f"![{title}]({png})", ""]
        lines += results_table(results, group, tasks, scores, reps)
        lines += ["", "Normalised score per task: mean over seeds (lowest to highest run).", ""]
        lines += score_table(group, tasks, scores)
        if key == "ablations":
            ablations = dict.fromkeys(a for c in group for a in c.ablations)
            lines += [""] + [f"* **{a.value}**: {a.description}" for a in ablations]
    if any(c.is_baseline for c in plan.conditions) and not all(c.is_baseline for c in plan.conditions):
        rows = paired_rows(results, plan.conditions, tasks, baseline)
        write_paired_csv(out / PAIRED_FILE, rows)
        lines += paired_section(rows, baseline)
    lines += gait_section(results, plan.conditions, tasks)
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def main(config: ReportConfig) -> int:
    """``prefrl report``: writes the report and prints where."""
    report = write_report(config.sweep_dir, config.out, config.bins, config.reps, config.baseline)
    print(f"report: {report}")
    return 0
