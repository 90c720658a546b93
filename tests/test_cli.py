"""The ``prefrl`` command, run as a user would: in a subprocess."""

import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import imageio.v3 as iio
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
        "train",
        *("--env", "prefrl/Reacher-v0", "--labels", "20", "--steps", "4096", "--out", out, "--no-progress"),
        *("--keep-checkpoints", "--checkpoint-every", "2048"),
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
    kept = sorted(int(p.name) for p in (out / "checkpoints").iterdir())
    assert len(kept) >= 2 and kept[-1] == json.loads((out / "summary.json").read_text())["timesteps"]
    assert all((out / "checkpoints" / str(t) / "policy.zip").is_file() for t in kept)
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


def test_pretraining_comes_before_the_first_labels(tmp_path):
    out = tmp_path / "pretrained"
    args = ["--env", "prefrl/Reacher-v0", "--labels", "12", "--steps", "6144", "--pretrain-steps", "2048"]
    result = prefrl("train", *args, "--out", out, "--no-progress", "--no-video")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(out / "preferences.sqlite") as con:
        assert con.execute("SELECT MIN(timestep) FROM queries").fetchone() == (2048,)  # none about the random policy
        assert con.execute("SELECT COUNT(*) FROM answers").fetchone() == (12,)
    assert json.loads((out / "config.json").read_text())["pretrain_steps"] == 2048


@pytest.mark.parametrize(
    "args,message",
    [
        (["--teacher", "mistake:eps=2"], "must be in [0, 1]"),
        (["--teacher", "wizard"], "unknown teacher"),
        (["--teacher", "backflip"], "pass --env"),
        (["--env", "prefrl/Nope-v0"], "unknown env id"),
        (["--labels", "0"], "--labels must be positive"),
        (["--steps", "-5"], "--steps must be positive"),
        (["--checkpoint-every", "0"], "--checkpoint-every must be positive"),
        (["--label-decay-steps", "inf"], "--label-decay-steps must be a positive number"),
        (["--label-decay-steps", "nan"], "--label-decay-steps must be a positive number"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--clip-steps", "5000"], "--clip-steps 5000 exceeds prefrl/Hopper-v1's episodes"),
        (["--label-port", "70000"], "--label-port must be in 0..65535"),
        (["--tie-tolerance", "inf"], "--tie-tolerance must be a finite number"),
        (["--ppo.gamma", "2"], "PPO setting gamma must be in (0, 1]"),
        (["--exploration-bonus", "nan"], "--exploration-bonus must be a number >= 0"),
        (["--exploration-bonus", "1", "--exploration-decay", "1"], "--exploration-decay must be in [0, 1)"),
        (["--exploration-bonus", "1", "--ensemble", "1"], "--exploration-bonus needs --ensemble 2 or more"),
        (["--exploration-bonus", "1", "--true-reward"], "--true-reward has none"),
        (["--pretrain-steps", "5000", "--steps", "5000"], "--pretrain-steps must be in [0, --steps)"),
        (["--pretrain-steps", "2048", "--true-reward"], "--true-reward asks none"),
        (["--teacher", "mistake:eps=0.1", "--tie-tolerance", "0.1"], "--tie-tolerance applies to the oracle"),
        (["--teacher", "human", "--label-host", "no.such.host.invalid"], "--label-host no.such.host.invalid"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    result = prefrl("train", *args, "--out", tmp_path / "x")
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_run_directory_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = prefrl("train", "--out", tmp_path / "file" / "run")
    assert result.returncode == 1
    assert result.stderr == f"prefrl: error: {tmp_path / 'file' / 'run'}: Not a directory\n"


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


# --- prefrl video -------------------------------------------------------------------------------------------------

REACHER_FPS = 50  # prefrl/Reacher-v0 steps at dt = 0.02 s; its episodes last 50 steps


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished true-reward run of one PPO iteration, with the final_policy.mp4 that training writes."""
    out = tmp_path_factory.mktemp("video") / "run"
    result = prefrl(
        "train", "--env", "prefrl/Reacher-v0", "--true-reward", "--steps", "1", "--out", out, "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    return out


def test_video_help_explains_every_option():
    result = prefrl("video", "--help")
    assert result.returncode == 0
    for option in ["--out", "--episodes", "--seed", "--max-fps", "overwritten", ".gif"]:
        assert option in result.stdout


def test_video_plays_the_checkpointed_policy(tiny_run):
    result = prefrl("video", tiny_run, "--episodes", "2")
    assert result.returncode == 0, result.stderr
    steps = [int(n) for n in re.findall(r"true return -?[\d.]+, (\d+) steps", result.stdout)]
    assert steps == [50, 50]
    video = tiny_run / "policy.mp4"
    assert f"video: {video}" in result.stdout
    # At 50 fps every state is kept, each episode's reset state included.
    assert iio.imread(video).shape == (sum(n + 1 for n in steps), 240, 320, 3)
    # The default seed replays the episode of the video written at the end of training.
    first_return = float(re.search(r"true return (-?[\d.]+)", result.stdout).group(1))
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert first_return == pytest.approx(summary["final_episode"]["true_return"], abs=0.006)
    assert iio.imread(tiny_run / "final_policy.mp4").shape[0] == steps[0] + 1


def test_video_gif_and_max_fps_subsample_and_replace_an_old_file(tiny_run):
    gif = tiny_run / "look" / "policy.gif"
    gif.parent.mkdir()
    gif.write_bytes(b"an old video")
    result = prefrl("video", tiny_run, "--out", gif, "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert "replaced the old one" in result.stdout
    every = math.ceil(REACHER_FPS / 20)  # GIFs keep every k-th state, at most 20 frames a second
    frames = iio.imread(gif)
    assert frames.shape[0] == math.ceil(51 / every) and frames.shape[1:3] == (180, 240)
    assert [p.name for p in gif.parent.iterdir()] == ["policy.gif"]  # no temporary file left behind

    result = prefrl("video", tiny_run, "--out", tiny_run / "slow.mp4", "--max-fps", "10")
    assert result.returncode == 0, result.stderr
    assert iio.imread(tiny_run / "slow.mp4").shape[0] == math.ceil(51 / math.ceil(REACHER_FPS / 10))


@pytest.mark.parametrize(
    "case,message",
    [
        ("missing", "does not exist"),
        ("no-config", "is not a prefrl run directory (no config.json)"),
        ("no-checkpoint", "has no checkpoint yet"),
        ("bad-suffix", "--out must end in .mp4 or .gif"),
    ],
)
def test_video_bad_input_exits_2_with_one_line(tmp_path, case, message):
    run_dir = tmp_path / "run"
    if case != "missing":
        run_dir.mkdir()
    if case in ("no-checkpoint", "bad-suffix"):
        (run_dir / "config.json").write_text(json.dumps({"env": "prefrl/Reacher-v0"}))
    extra = ["--out", tmp_path / "policy.avi"] if case == "bad-suffix" else []
    result = prefrl("video", run_dir, *extra)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob("*.avi"))
