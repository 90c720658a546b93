import csv
import json
import os

import numpy as np
import pytest

from prefrl.experiments.report import condition_groups, normalised_scores, write_report
from prefrl.experiments.results import binned_curve, final_return, initial_return
from prefrl.experiments.statistics import bootstrap_mean_band, iqm, stratified_bootstrap_ci
from prefrl.experiments.sweep import Condition, SweepPlan, split_conditions
from prefrl.experiments.sweep_results import RunResult, load_results, paired_rows


def test_iqm_on_known_numbers():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm([1, 2, 3, 100]) == pytest.approx(2.5)  # the outlier is cut
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)  # floor(5 / 4) = 1 cut from each end
    assert iqm([[1, 2, 3, 100], [4, 4, 4, 4]], axis=1) == pytest.approx([2.5, 4.0])


def test_stratified_bootstrap_keeps_each_tasks_share():
    # Task a scores 0, task b scores 1: every stratified replicate has half of each, so the mean never moves
    # (an unstratified bootstrap would spread it).
    scores = {"a": np.zeros(4), "b": np.ones(4)}
    assert stratified_bootstrap_ci(scores, statistic=np.mean, reps=200) == (0.5, 0.5, 0.5)
    point, low, high = stratified_bootstrap_ci({"a": np.array([0.0, 1.0, 2.0, 3.0, np.nan]), "b": np.array([5.0])})
    assert point == pytest.approx(iqm([0, 1, 2, 3, 5]))
    assert low <= point <= high and low >= 0 and high <= 5
    assert np.isnan(stratified_bootstrap_ci({})[0])


def test_bootstrap_band_brackets_the_mean():
    curves = np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 4.0]])
    mean, low, high = bootstrap_mean_band(curves, reps=500)
    assert mean == pytest.approx([2.0, 4.0])
    assert 1.0 <= low[0] <= 2.0 <= high[0] <= 3.0 and low[1] == high[1] == 4.0


def result(task, condition, final, initial=0.0, seed=0):
    return RunResult(task, Condition.parse(condition), seed, final, initial, np.array([initial, final]))


def test_normalised_score_on_known_numbers():
    results = [
        result("Hopper", "true", 100.0, initial=10.0),
        result("Hopper", "true", 120.0, initial=10.0, seed=1),  # R_true = 110, R_random = 10
        result("Hopper", "700", 60.0, initial=10.0),
        result("Reacher", "true", -10.0, initial=-50.0),
        result("Reacher", "700", -20.0, initial=-50.0),
        result("Swimmer", "700", 5.0),  # no true-reward run: left out
    ]
    scores = normalised_scores(results)
    assert scores[Condition(700)]["Hopper"] == pytest.approx([0.5])
    assert scores[Condition(700)]["Reacher"] == pytest.approx([0.75])  # negative returns, still sensible
    assert "Swimmer" not in scores[Condition(700)]
    assert normalised_scores(results, "zero")[Condition(700)]["Hopper"] == pytest.approx([60 / 110])


def test_groups_put_references_next_to_ablations_and_teachers():
    conditions = split_conditions(["true,350,700,700+no-ensemble,700@mistake:eps=0.1"])
    groups = {k: [c.name for c in v] for k, v in condition_groups(conditions).items()}
    assert groups == {
        "budgets": ["true", "350", "700"],
        "ablations": ["true", "700", "700+no-ensemble"],
        "teachers": ["true", "700", "700@mistake:eps=0.1"],
    }


def write_run(run_dir, steps, returns, **summary):
    """A finished fake run: episodes evenly over the run with the given true returns."""
    run_dir.mkdir(parents=True)
    t = np.linspace(steps / len(returns), steps, len(returns)).astype(int)
    rows = "".join(f"{a},{b},nan\n" for a, b in zip(t, returns))
    (run_dir / "episodes.csv").write_text("timestep,true_return,learned_return\n" + rows)
    (run_dir / "summary.json").write_text(json.dumps({"labels": 700, **summary}))


def test_run_results_from_episodes(tmp_path):
    write_run(tmp_path / "r", 1000, np.arange(10.0))  # episodes at 100, 200, ..., 1000
    assert final_return(tmp_path / "r", 1000) == pytest.approx(9.0)  # only t = 1000 is in the last 10%
    assert initial_return(tmp_path / "r") == 0.0
    assert binned_curve(tmp_path / "r", 1000, 5) == pytest.approx([0.5, 2.5, 4.5, 6.5, 8.5])
    assert np.isnan(binned_curve(tmp_path / "r", 1000, 20)[0])


def test_report_of_a_small_sweep(tmp_path):
    plan = SweepPlan(("Hopper", "Reacher"), tuple(split_conditions(["true,700,700+random-queries"])), 2, 1000)
    (tmp_path / "sweep.json").write_text(plan.to_json())
    rng = np.random.default_rng(0)
    for run in plan.runs(tmp_path):
        if run.seed == 1 and run.task == "Reacher" and run.condition.ablations:
            continue  # an unfinished run is left out
        top = {"true": 100.0, "pref700": 80.0}.get(run.condition.slug, 40.0)
        write_run(run.run_dir, 1000, np.linspace(0, top, 20) + rng.normal(size=20))
    report = write_report(tmp_path, reps=200)
    text = report.read_text()
    assert "11 of 12 runs finished" in text
    assert (tmp_path / "report" / "learning_curves.png").stat().st_size > 10_000
    assert (tmp_path / "report" / "ablation_curves.png").exists()
    assert "random-queries**: pairs chosen uniformly at random" in text
    row = next(line for line in text.splitlines() if line.startswith("| 700+random-queries"))
    assert "(n=1, no CI: needs 2+ seeds)" in row and "(n=2)" in row
    assert "| true reward |" in text
    scores = text.split("Normalised score per task")[1].split("##")[0]  # the first section's
    row = next(line for line in scores.splitlines() if line.startswith("| 700 |"))
    means = [float(cell.split()[0]) for cell in row.strip("| ").split(" | ")[1:]]
    assert len(means) == 2 and all(0.7 < m < 0.9 for m in means)  # ends at ~80, the true-reward runs at ~100
    assert not any(line.startswith("| true reward |") for line in scores.splitlines())


def test_one_seed_shows_no_confidence_interval(tmp_path):
    plan = SweepPlan(("Hopper",), tuple(split_conditions(["true,700"])), 1, 1000)
    (tmp_path / "sweep.json").write_text(plan.to_json())
    for run in plan.runs(tmp_path):
        write_run(run.run_dir, 1000, np.linspace(0, 100.0 if run.condition.is_baseline else 80.0, 20))
    text = write_report(tmp_path, reps=200).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 700 |"))
    assert "(n=1, no CI: needs 2+ seeds)" in row and "(1 seed, no CI)" in row and "[" not in row


def test_report_needs_finished_runs(tmp_path):
    (tmp_path / "sweep.json").write_text(SweepPlan(("Hopper",), (Condition(None),), 1, 10).to_json())
    with pytest.raises(ValueError, match="no finished run"):
        write_report(tmp_path)


def test_paired_table_of_preference_against_true_reward(tmp_path):
    plan = SweepPlan(("Hopper", "Reacher"), (Condition(None), Condition(700)), 3, 1000)
    (tmp_path / "sweep.json").write_text(plan.to_json())
    random_return = {"Hopper": 10.0, "Reacher": -50.0}
    # per task and condition, (final return, train seconds) of seeds 0, 1, 2
    runs = {
        ("Hopper", "true"): [(100, 100), (120, 200), (110, 400)],
        ("Hopper", "pref700"): [(60, 300), (90, 800), (75, 500)],
        ("Reacher", "true"): [(-10, 10), (-12, 10), None],  # seed 2 unfinished: its 700 run has no pair
        ("Reacher", "pref700"): [(-20, 20), (-16, 30), (-5, 10)],
    }
    for run in plan.runs(tmp_path):
        if (done := runs[run.task, run.condition.slug][run.seed]) is not None:
            returns = [random_return[run.task]] * 9 + [done[0]]  # the first rollout's return, the last one's
            write_run(run.run_dir, 1000, returns, train_seconds=done[1])
    text = write_report(tmp_path, reps=50).read_text()
    with (tmp_path / "report" / "paired.csv").open() as f:
        rows = {r["task"]: r for r in csv.DictReader(f)}
    hopper, reacher = rows["Hopper"], rows["Reacher"]
    assert hopper["condition"] == "700" and hopper["seeds"] == "3" and reacher["seeds"] == "2"
    assert float(hopper["preference_return"]) == pytest.approx(75.0)
    assert float(hopper["true_return"]) == pytest.approx(110.0)
    assert float(hopper["return_ratio"]) == pytest.approx(75 / 110)
    assert float(hopper["normalised_score"]) == pytest.approx((75 - 10) / (110 - 10))
    # paired by seed: 300/100, 800/200, 500/400 -> median 3 (not 2.5 of the sorted times, nor their mean 2.75)
    assert float(hopper["wall_time_ratio"]) == pytest.approx(3.0)
    assert float(reacher["preference_return"]) == pytest.approx(-18.0)  # seeds 0 and 1 only
    assert float(reacher["return_ratio"]) == pytest.approx(18 / 11)
    assert float(reacher["normalised_score"]) == pytest.approx((-18 + 50) / (-11 + 50))
    assert float(reacher["wall_time_ratio"]) == pytest.approx(2.5)
    section = text.split("paired by seed")[1]
    assert "| 700 | Hopper | 3 | 75.0 ± 15.0 | 110.0 ± 10.0 | 0.68 | 0.65 | 3.00 |" in section
    assert "| 700 | Reacher | 2 | -18.0 ± 2.8 | -11.0 ± 1.4 | 1.64 | 0.82 | 2.50 |" in section
    assert f"{os.cpu_count()} CPUs" in section
    _, results = load_results(tmp_path)
    zero = paired_rows(results, plan.conditions, plan.tasks, baseline="zero")
    assert [r["normalised_score"] for r in zero] == pytest.approx([75 / 110, 18 / 11])  # the plain ratio


def test_no_paired_table_without_a_true_reward_condition(tmp_path):
    plan = SweepPlan(("Hopper",), (Condition(700),), 1, 1000)
    (tmp_path / "sweep.json").write_text(plan.to_json())
    write_run(plan.runs(tmp_path)[0].run_dir, 1000, np.arange(10.0), train_seconds=5.0)
    assert "paired by seed" not in write_report(tmp_path, reps=50).read_text()
    assert not (tmp_path / "report" / "paired.csv").exists()


def test_gait_of_the_final_policies_beside_the_returns(tmp_path):
    plan = SweepPlan(("Hopper-v1",), tuple(split_conditions(["true,700"])), 2, 1000)
    (tmp_path / "sweep.json").write_text(plan.to_json())
    for run in plan.runs(tmp_path):
        speed = 2.5 if run.condition.is_baseline else 1.0 + run.seed  # 700: seeds at 1.0 and 2.0 m/s
        episode = {"seed": 12345, "true_return": 1.0, "healthy_fraction": 0.9 + 0.05 * run.seed,
                   "forward_speed": speed, "hops": 10.0, "hops_per_second": 1.25}  # fmt: skip
        write_run(run.run_dir, 1000, np.linspace(0, 100, 20), final_episode=episode)
    text = write_report(tmp_path, reps=100).read_text()
    section = text.split("## What the final policies did", 1)[1]
    row = next(line for line in section.splitlines() if line.startswith("| 700 |"))
    assert row == "| 700 | 92% healthy, 1.50 m/s, 1.25 hops/s (n=2) |"
    assert "| true reward | 92% healthy, 2.50 m/s, 1.25 hops/s (n=2) |" in section
