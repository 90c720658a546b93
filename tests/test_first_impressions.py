"""What a newcomer sees first: TensorBoard curves that tell the truth, a progress bar that says what it counts,
the paths a run made, and an install without warnings."""

import glob
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def skip_run(tmp_path_factory):
    """A small preference run whose teacher can't tell on many pairs (B-Pref's skip)."""
    out = tmp_path_factory.mktemp("impressions") / "run"
    command = [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--labels", "30"]
    options = ["--steps", "6144", "--teacher", "skip:eps=0.5", "--out", str(out), "--no-video"]
    env = {**os.environ, "MUJOCO_GL": "egl", "COLUMNS": "200"}
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return out, result


def test_tensorboard_logs_learned_return_only_real_values_and_the_config(skip_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = skip_run
    events = EventAccumulator(glob.glob(str(out / "tb" / "*"))[0])
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"rollout/true_return", "rollout/learned_return", "preferences/labels", "preferences/skipped"} <= set(
        scalars
    )
    values = [s.value for s in events.Scalars("rollout/true_return")]
    assert values and all(np.isfinite(values))  # iterations that finished no episode logged nothing
    metrics = np.genfromtxt(out / "metrics.csv", delimiter=",", names=True)
    logged = {s.step: s.value for s in events.Scalars("rollout/true_return")}
    expected = {int(t): v for t, v in zip(metrics["timesteps"], metrics["true_return"]) if np.isfinite(v)}
    assert logged.keys() == expected.keys()  # at the iteration that measured them, not one later
    assert all(logged[t] == pytest.approx(expected[t], rel=1e-5) for t in expected)
    assert any("config" in tag for tag in events.Tags()["tensors"])


def test_the_bar_counts_usable_and_skipped_labels_and_the_paths_are_printed(skip_run):
    out, result = skip_run
    last_bar = result.stderr.replace("\r", "\n").strip().splitlines()[-1]
    usable, skipped = (int(last_bar.split(f"{key}=")[1].split(",")[0].rstrip("]")) for key in ("labels", "skipped"))
    assert skipped > 0 and usable + skipped == 30
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"run directory: {out}"
    assert lines[-1] == f"learning curve: {out / 'learning_curve.png'}; summary: {out / 'summary.json'}"


def test_runs_and_sweeps_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "runs/" in ignored and "sweeps/" in ignored


def test_building_the_wheel_warns_of_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "BuildBackendWarning" not in output and "would be ignored" not in output, output
    (wheel,) = tmp_path.glob("prefrl-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "prefrl/labeling/web/static/label.js" in names and "prefrl/rl/ppo.toml" in names
    assert not any(name.startswith("scripts/") for name in names)  # the wheel is the package only (README)
