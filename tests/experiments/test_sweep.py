import csv
import json
import sys
import textwrap
from pathlib import Path

import pytest

from prefrl.experiments.ablations import Ablation
from prefrl.experiments.learner import label_schedule, trainer_config
from prefrl.experiments.sweep import Condition, LocalLauncher, RayLauncher, SweepPlan, run_sweep, split_conditions

# Stands in for `python -m prefrl.cli`: `train --out DIR ...` or `train --resume DIR` writes a finished run
# (config.json, episodes.csv, summary.json) unless DIR/../crash names it.
FAKE_PREFRL = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    args = sys.argv[2:]
    opt = lambda name: args[args.index(name) + 1] if name in args else None
    run = Path(opt("--out") or opt("--resume"))
    run.mkdir(parents=True, exist_ok=True)
    if not (run / "config.json").exists():
        (run / "config.json").write_text(json.dumps({"steps": int(opt("--steps")), "args": args}))
    if (run.parent / "crash").exists() and run.name in (run.parent / "crash").read_text().split():
        sys.exit(3)
    steps = json.loads((run / "config.json").read_text())["steps"]
    (run / "episodes.csv").write_text("timestep,true_return,learned_return\\n" + f"{steps},7.0,nan\\n")
    (run / "summary.json").write_text(json.dumps({"labels": 0, "train_seconds": 1.0, "resumed": "--resume" in args}))
    print("trained", run.name)
    """
)


class FakeLauncher:
    """Runs the fake prefrl in this process; records what it was asked to run."""

    def __init__(self, crash: tuple[str, ...] = ()):
        self.crash = set(crash)
        self.launched: list[list[str]] = []

    def launch(self, runs, logs):
        for run in runs:
            args = run.train_args()
            self.launched.append(args)
            run.run_dir.mkdir(parents=True, exist_ok=True)
            (run.run_dir / "config.json").write_text("{}")
            if run.run_dir.name in self.crash:
                yield run, 1
                continue
            (run.run_dir / "episodes.csv").write_text(f"timestep,true_return,learned_return\n{run.steps},5.0,nan\n")
            (run.run_dir / "summary.json").write_text(json.dumps({"labels": run.condition.labels or 0}))
            yield run, 0


def plan(**kw):
    values = {"tasks": ("Hopper", "Reacher"), "conditions": tuple(split_conditions(["true,700"])), "seeds": 2,
              "steps": 1000}  # fmt: skip
    return SweepPlan(**(values | kw))


def test_conditions_parse_and_round_trip():
    c = Condition.parse("700+regression+no-ensemble@skip:eps=0.2,scale=5")
    assert c == Condition(700, (Ablation.NO_ENSEMBLE, Ablation.REGRESSION), "skip:eps=0.2,scale=5")
    assert Condition.parse(c.name) == c
    assert c.slug == "pref700+no-ensemble+regression@skip-eps0.2-scale5"
    assert Condition.parse("true").is_baseline and Condition.parse("true").train_args() == ["--true-reward"]
    assert c.train_args() == ["--labels", "700", "--ensemble", "1", "--reward-objective", "regression",
                              "--teacher", "skip:eps=0.2,scale=5"]  # fmt: skip
    # commas separate conditions, except inside a teacher spec
    names = [c.name for c in split_conditions(["true,350,700@equal:eps=0.1,scale=2", "1400+single-step"])]
    assert names == ["true", "350", "700@equal:eps=0.1,scale=2", "1400+single-step"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("lots", "bad condition"), ("700+no-brain", "unknown ablation"), ("700@noisy", "unknown teacher"),
     ("0", "positive"), ("700@human", "people")],
)  # fmt: skip
def test_bad_conditions(text, message):
    with pytest.raises(ValueError, match=message):
        Condition.parse(text)


def test_every_ablation_has_switches():
    for a in Ablation:
        assert a.train_args and a.description
        assert Condition(700, (a,)).train_args()[2:] == list(a.train_args)
    assert trainer_config(1).bootstrap is False and trainer_config(3).bootstrap is True
    no_reg = trainer_config(3, regularization=False)
    assert no_reg.l2_init == 0 and not no_reg.adapt_l2
    assert trainer_config(3, objective="regression").objective == "regression"
    assert label_schedule(700, 10_000, online_labels=False).initial_labels == 700
    assert label_schedule(700, 10_000).initial_labels == 175


def test_plan_is_seed_major_with_one_dir_per_run(tmp_path):
    runs = plan().runs(tmp_path)
    assert len(runs) == 2 * 2 * 2
    assert [r.run_dir.name for r in runs[:4]] == ["Hopper__true__0", "Hopper__pref700__0", "Reacher__true__0",
                                                  "Reacher__pref700__0"]  # fmt: skip
    assert all(r.run_dir.parent == tmp_path.resolve() for r in runs)
    args = runs[1].train_args()
    assert args[:3] == ["train", "--env", "prefrl/Hopper-v0"] and args[-2:] == ["--labels", "700"]
    assert "--out" in args and "--no-video" in args
    with pytest.raises(ValueError, match="twice"):
        plan(conditions=tuple(split_conditions(["700,700"])))
    with pytest.raises(ValueError, match="short name"):
        plan(tasks=("prefrl/Hopper-v0",))


def test_a_task_name_may_carry_its_version(tmp_path):
    runs = plan(tasks=("Hopper-v1", "Reacher")).runs(tmp_path)
    assert [r.run_dir.name for r in runs[:3]] == ["Hopper-v1__true__0", "Hopper-v1__pref700__0", "Reacher__true__0"]
    assert runs[1].train_args()[:3] == ["train", "--env", "prefrl/Hopper-v1"]
    assert runs[2].env_id == "prefrl/Reacher-v0"
    with pytest.raises(ValueError, match="Hopper-v1 for"):
        plan(tasks=("Hopper-1",))


def test_rerun_skips_finished_and_resumes_interrupted(tmp_path):
    crashing = FakeLauncher(crash=("Reacher__pref700__1",))
    rows = run_sweep(tmp_path, plan(), crashing)
    assert len(crashing.launched) == 8
    assert [r["status"] for r in rows].count("failed") == 1
    with (tmp_path / "summary.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 8

    again = FakeLauncher()
    rows = run_sweep(tmp_path, None, again)  # --resume: the plan from sweep.json
    assert again.launched == [["train", "--resume", str((tmp_path / "Reacher__pref700__1").resolve()), "--no-progress"]]
    assert {r["status"] for r in rows} == {"done"}
    assert rows[0]["final_true_return"] == 5.0

    more = FakeLauncher()  # one more seed: only its runs
    run_sweep(tmp_path, plan(seeds=3), more)
    assert len(more.launched) == 4 and all(a[a.index("--seed") + 1] == "2" for a in more.launched)
    with pytest.raises(ValueError, match="--steps 1000"):
        run_sweep(tmp_path, plan(steps=5), FakeLauncher())


def test_a_sweep_in_a_git_repository_commits_only_its_small_files(tmp_path):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("needs git")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    sweep = tmp_path / "results" / "fig2"
    run_sweep(sweep, plan(tasks=("Hopper",), seeds=1), FakeLauncher())
    run = sweep / "Hopper__pref700__0"
    for large in ("preferences.sqlite", "preferences.sqlite-wal", "learning_curve.png", "final_policy.mp4",
                  "checkpoint/policy.zip", "checkpoint.tmp/runtime.pt", "checkpoints/2048/policy.zip",
                  "tb/events.out", "clips/3.mp4", ".lock"):  # fmt: skip
        (run / large).parent.mkdir(parents=True, exist_ok=True)
        (run / large).write_bytes(b"x")
    (sweep / "logs").mkdir(exist_ok=True)
    (sweep / "logs" / "Hopper__true__0.log").write_text("trained")
    (run / "metrics.csv").write_text("timesteps\n")
    status = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    listed = sorted(line[3:] for line in status.splitlines())
    assert listed == [f"results/fig2/{name}" for name in (
        ".gitignore", "Hopper__pref700__0/config.json", "Hopper__pref700__0/episodes.csv",
        "Hopper__pref700__0/metrics.csv", "Hopper__pref700__0/summary.json", "Hopper__true__0/config.json",
        "Hopper__true__0/episodes.csv", "Hopper__true__0/summary.json", "summary.csv", "sweep.json",
    )]  # fmt: skip


def test_run_dir_without_a_run_is_reported(tmp_path):
    (tmp_path / "Hopper__true__0").mkdir()
    with pytest.raises(ValueError, match="no config.json"):
        run_sweep(tmp_path, plan(tasks=("Hopper",), seeds=1), FakeLauncher())


@pytest.fixture
def fake_prefrl(tmp_path):
    script = tmp_path / "fake_prefrl.py"
    script.write_text(FAKE_PREFRL)
    return [sys.executable, str(script)]


def test_local_processes_run_in_parallel_and_log(tmp_path, fake_prefrl):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "crash").write_text("Hopper__pref700__0")
    small = plan(tasks=("Hopper",), seeds=1)
    rows = run_sweep(sweep, small, LocalLauncher(jobs=2, command=fake_prefrl))
    assert [r["status"] for r in rows] == ["done", "failed"]
    assert "trained Hopper__true__0" in (sweep / "logs" / "Hopper__true__0.log").read_text()
    (sweep / "crash").unlink()
    rows = run_sweep(sweep, small, LocalLauncher(jobs=2, command=fake_prefrl))
    assert [r["status"] for r in rows] == ["done", "done"]
    assert json.loads((sweep / "Hopper__pref700__0" / "summary.json").read_text())["resumed"]
    assert "--resume" in (sweep / "logs" / "Hopper__pref700__0.log").read_text()


def test_ray_path_on_a_local_ray_instance(tmp_path, fake_prefrl):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = run_sweep(tmp_path / "sweep", plan(tasks=("Hopper",), seeds=1), RayLauncher("local", fake_prefrl))
    finally:
        ray.shutdown()
    assert [r["status"] for r in rows] == ["done", "done"]
    assert "trained Hopper__pref700__0" in (tmp_path / "sweep" / "logs" / "Hopper__pref700__0.log").read_text()


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ValueError, match="pip install"):
        run_sweep(tmp_path, plan(seeds=1), RayLauncher("auto"))
    assert not Path(tmp_path / "Hopper__true__0").exists()
