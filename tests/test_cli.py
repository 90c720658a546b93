"""The ``prefrl`` command, run as a user would: in a subprocess."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

PREFRL = [sys.executable, "-m", "prefrl.cli"]


def prefrl(*args, timeout=300):
    return subprocess.run(
        [*PREFRL, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MUJOCO_GL": "egl"},
    )


def count(db, table):
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_help_explains_every_option():
    result = prefrl("train", "--help")
    assert result.returncode == 0
    for option in ["--env", "--labels", "--steps", "--seed", "--selection", "--true-reward", "--out", "--resume"]:
        assert option in result.stdout


def test_smoke_run_leaves_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    result = prefrl(
        "train", "--env", "prefrl/Reacher-v0", "--labels", "20", "--steps", "4096", "--out", out, "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    for name in [
        "config.json",
        "preferences.sqlite",
        "metrics.csv",
        "episodes.csv",
        "learning_curve.png",
        "final_policy.mp4",
        "summary.json",
        "checkpoint/policy.zip",
        "checkpoint/reward_model.pt",
    ]:
        assert (out / name).is_file(), name
    assert list((out / "tb").rglob("events.out.tfevents.*"))
    assert count(out / "preferences.sqlite", "queries") == 20 == count(out / "preferences.sqlite", "answers")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["labels"] == 20 and summary["timesteps"] >= 4096
    header = (out / "metrics.csv").read_text().splitlines()[0]
    for column in ["timesteps", "true_return", "learned_return", "labels", "val_accuracy"]:
        assert column in header


def test_true_reward_baseline(tmp_path):
    out = tmp_path / "base"
    result = prefrl(
        "train",
        "--env",
        "prefrl/Reacher-v0",
        "--true-reward",
        "--steps",
        "2048",
        "--out",
        out,
        "--no-progress",
        "--no-video",
    )
    assert result.returncode == 0, result.stderr
    assert not (out / "preferences.sqlite").exists()
    assert json.loads((out / "summary.json").read_text())["condition"] == "true"


def test_ablation_switches_and_an_imperfect_teacher(tmp_path):
    out = tmp_path / "ablated"
    result = prefrl(
        "train",
        "--env",
        "prefrl/Reacher-v0",
        "--labels",
        "12",
        "--steps",
        "2048",
        "--out",
        out,
        "--teacher",
        "mistake:eps=0.2",
        "--no-online-labels",
        "--clip-steps",
        "1",
        "--ensemble",
        "1",
        "--no-regularization",
        "--reward-objective",
        "regression",
        "--no-progress",
        "--no-video",
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(out / "preferences.sqlite") as con:
        assert con.execute("SELECT DISTINCT length FROM clips").fetchall() == [(1,)]
        assert con.execute("SELECT DISTINCT labeler FROM answers").fetchall() == [("mistake:eps=0.2",)]
        assert con.execute("SELECT MAX(timestep) FROM queries").fetchone() == (0,)  # all asked before RL


@pytest.mark.parametrize(
    "args,message",
    [
        (["--teacher", "mistake:eps=2"], "must be in [0, 1]"),
        (["--teacher", "wizard"], "unknown teacher"),
        (["--teacher", "backflip"], "pass --env"),
        (["--env", "prefrl/Nope-v0"], "unknown env id"),
        (["--labels", "0"], "--labels must be positive"),
        (["--steps", "-5"], "--steps must be positive"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    result = prefrl("train", *args, "--out", tmp_path / "x")
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_existing_run_directory_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = prefrl("train", "--out", out)
    assert result.returncode == 2 and "--resume" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_corrupt_or_foreign_database_on_resume(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"env": "prefrl/Reacher-v0", "out": str(out)}))
    (out / "preferences.sqlite").write_bytes(b"garbage" * 50)
    result = prefrl("train", "--resume", out)
    assert result.returncode == 2 and "not a readable SQLite database" in result.stderr
    assert (out / "preferences.sqlite").read_bytes() == b"garbage" * 50
    (out / "preferences.sqlite").unlink()
    sqlite3.connect(out / "preferences.sqlite").execute("CREATE TABLE other (x)").connection.commit()
    result = prefrl("train", "--resume", out)
    assert result.returncode == 2 and "not a prefrl preference database" in result.stderr
    assert prefrl("train", "--resume", tmp_path / "nothing").returncode == 2


def test_killed_run_resumes_without_losing_labels(tmp_path):
    out = tmp_path / "run"
    cmd = [
        *PREFRL,
        "train",
        "--env",
        "prefrl/Reacher-v0",
        "--labels",
        "40",
        "--steps",
        "40960",
        "--checkpoint-every",
        "4096",
        "--out",
        str(out),
        "--no-progress",
        "--no-video",
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    state = out / "checkpoint" / "state.json"
    while time.time() < deadline and not (state.exists() and json.loads(state.read_text())["timesteps"] >= 8192):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state.exists(), "no checkpoint was written"
    answers_at_kill = count(out / "preferences.sqlite", "answers")
    assert 0 < answers_at_kill < 40

    result = prefrl("train", "--resume", out)
    assert result.returncode == 0, result.stderr
    assert count(out / "preferences.sqlite", "answers") == 40  # the budget, nothing lost, nothing asked twice
    assert count(out / "preferences.sqlite", "queries") == 40
    summary = json.loads((out / "summary.json").read_text())
    assert summary["timesteps"] >= 40960 and summary["labels"] == 40
    steps = [float(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # no rows repeated by the resume
