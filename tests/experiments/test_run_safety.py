"""What keeps a run safe: options checked before anything is written, one trainer per run directory, a
NaN guard, databases refused untouched, and the checkpoint a kill between two renames leaves behind."""

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from prefrl.cli import main
from prefrl.experiments import RunError
from prefrl.experiments.checkpoint import RunLock, read_state
from prefrl.experiments.train import check_finite
from prefrl.run_dir import RunFiles


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_busy_label_port_is_refused_before_the_run_directory_is_made(tmp_path, capsys, busy_port):
    out = tmp_path / "run"
    assert main(["train", "--teacher", "human", "--label-port", str(busy_port), "--out", str(out)]) == 2
    assert f"cannot listen on 127.0.0.1:{busy_port}" in capsys.readouterr().err and not out.exists()


def test_a_human_run_resumes_on_the_port_it_is_given_and_refuses_a_busy_one(tmp_path, capsys, busy_port):
    out = tmp_path / "run"
    train = ["train", "--env", "prefrl/Reacher-v0", "--teacher", "human", "--labels", "2", "--steps", "1"]
    assert main([*train, "--label-port", "0", "--out", str(out), "--no-video", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--label-port", str(busy_port)]) == 2
    assert f"cannot listen on 127.0.0.1:{busy_port}" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["label_port"] == 0  # the refused port is not saved


@pytest.mark.parametrize("option", [["--lease-seconds", "nan"], ["--lease-seconds", "inf"], ["--undo-seconds", "nan"]])
def test_label_refuses_non_finite_times(tmp_path, capsys, option):
    run = tmp_path / "run"
    assert main(["train", "--env", "prefrl/Reacher-v0", "--labels", "4", "--steps", "1", "--out", str(run),
                 "--no-video", "--no-progress"]) == 0  # fmt: skip
    before = (run / "preferences.sqlite").read_bytes()
    assert main(["label", str(run), "--port", "0", *option]) == 2
    err = capsys.readouterr().err
    assert "--lease-seconds must be a positive number" in err and err.count("\n") == 1
    assert (run / "preferences.sqlite").read_bytes() == before


def test_one_trainer_per_run_directory(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--true-reward"]
    first = subprocess.Popen([*command, "--steps", "400000", "--out", str(out), "--no-progress", "--no-video"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not RunFiles(out).lock.exists():
            time.sleep(0.1)
        time.sleep(1.0)
        second = subprocess.run([sys.executable, "-m", "prefrl", "train", "--resume", str(out)],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 2
        assert f"{out} is in use by another prefrl train (pid {first.pid})" in second.stderr
    finally:
        first.kill()
        first.wait()
    with RunLock(RunFiles(out)):  # the lock went with the killed process
        pass


def test_the_nan_guard_names_what_and_when():
    buffer = SimpleNamespace(observations=np.zeros((4, 2, 3)), rewards=np.zeros((4, 2)))
    agent = SimpleNamespace(rollout_buffer=buffer, num_timesteps=8192)
    check_finite(agent, "prefrl/Hopper-v1")  # all finite: nothing to say
    buffer.rewards[2, 1] = math.nan
    with pytest.raises(RunError, match="non-finite reward .* at timestep 8192 of prefrl/Hopper-v1; the last"):
        check_finite(agent, "prefrl/Hopper-v1")
    buffer.observations[0, 0, 0] = math.inf
    with pytest.raises(RunError, match="non-finite observation"):
        check_finite(agent, "prefrl/Hopper-v1")


def test_a_kill_between_the_two_renames_keeps_the_previous_checkpoint(tmp_path):
    files = RunFiles(tmp_path)
    files.checkpoint_old.root.mkdir()
    for path in files.checkpoint_old.policy_files:
        path.write_bytes(b"")
    files.checkpoint_old.state.write_text(json.dumps({"timesteps": 4096, "wall_time": 1.0}))
    assert read_state(files) == {"timesteps": 4096, "wall_time": 1.0}
    assert files.checkpoint.is_complete() and not files.checkpoint_old.root.exists()


def test_a_checkpoint_missing_a_file_is_called_damaged_not_read(tmp_path):
    files = RunFiles(tmp_path)
    files.checkpoint.root.mkdir()
    files.checkpoint.normalization.write_bytes(b"")
    files.checkpoint.state.write_text(json.dumps({"timesteps": 4096, "wall_time": 1.0}))
    with pytest.raises(RunError, match=r"checkpoint is damaged: policy.zip missing"):
        read_state(files)


def test_a_diverged_reward_model_stops_the_run(tmp_path, clip):
    import torch

    from prefrl.experiments.learner import PreferenceLearner
    from prefrl.learning.label_schedule import LabelSchedule
    from prefrl.learning.reward_model import RewardEnsemble
    from prefrl.learning.reward_training import RewardTrainer
    from prefrl.learning.selection import RandomPairs
    from prefrl.preference import Comparison
    from prefrl.store import PreferenceStore
    from prefrl.teachers.base import SyntheticOracle

    model = RewardEnsemble(3, 2)
    trainer = RewardTrainer(model, seed=0)
    trainer.add([Comparison(i, clip(np.ones(5)), clip(np.zeros(5)), 1.0) for i in range(8)])
    store = PreferenceStore.create(tmp_path / "p.sqlite", "prefrl/Hopper-v1")
    learner = PreferenceLearner(store, model, trainer, SyntheticOracle(), RandomPairs(), LabelSchedule(10, 100), 5,
                                np.random.default_rng(0), unfitted=8)  # fmt: skip
    learner.collect_and_fit(initial_steps=5, steps_per_label=1)  # a healthy fit
    with torch.no_grad():
        model.weights[0][0, 0, 0] = math.nan
    learner.unfitted = 8
    with pytest.raises(RunError, match="the reward model diverged"):
        learner.collect_and_fit(initial_steps=5, steps_per_label=1)


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path):
    import signal

    out = tmp_path / "run"
    command = [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--true-reward"]
    process = subprocess.Popen([*command, "--steps", "400000", "--out", str(out), "--no-progress", "--no-video"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "metrics.csv").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == f"interrupted; continue from the last checkpoint: prefrl train --resume {out}"


def test_resume_extends_with_steps_and_refuses_other_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--env", "prefrl/Reacher-v0", "--labels", "10", "--steps", "2048", "--out", str(out),
                 "--no-video", "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--labels", "20", "--seed", "3"]) == 2
    assert "drop --labels, --seed (only --steps" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--label-port", "0", "--no-progress"]) == 0  # a port of its own
    assert json.loads((out / "config.json").read_text())["label_port"] == 0
    assert main(["train", "--resume", str(out), "--steps", "1024"]) == 2
    assert "would shorten the run (2048 steps)" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--steps", "4096", "--no-progress"]) == 0
    assert "extending the run from 2,048 to 4,096 steps" in capsys.readouterr().out
    config, summary = (json.loads((out / name).read_text()) for name in ("config.json", "summary.json"))
    assert config["steps"] == 4096 and "git_commit" in config and summary["timesteps"] >= 4096
    assert summary["labels"] == 10  # the budget is the run's own: all of it asked, none twice


def test_resume_tells_an_option_given_at_its_default_from_one_not_given(tmp_path, capsys, monkeypatch):
    from prefrl.experiments import train
    from prefrl.experiments.run_setup import flags_given

    assert flags_given(["train", "--resume", "r", "--steps", "1000000", "--no-progress", "--ppo.batch-size=8"]) == {
        "resume", "steps", "progress", "ppo"}  # fmt: skip
    out = tmp_path / "run"
    assert main(["train", "--env", "prefrl/Reacher-v0", "--true-reward", "--steps", "2048", "--out", str(out),
                 "--no-video", "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--seed", "0"]) == 2  # 0 is the default, but it was given
    assert "drop --seed" in capsys.readouterr().err
    monkeypatch.setattr(train, "train_in", lambda files, teacher: None)  # only what --resume writes first
    assert main(["train", "--resume", str(out), "--steps", "1000000"]) == 0  # the default length, asked for
    assert "extending the run from 2,048 to 1,000,000 steps" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["steps"] == 1_000_000


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device whose writes fail: disk full)")
def test_a_full_disk_stops_the_run_with_one_line_and_keeps_its_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    train = ["train", "--env", "prefrl/Reacher-v0", "--true-reward", "--no-video", "--no-progress"]
    assert main([*train, "--steps", "2048", "--out", str(out)]) == 0
    files = RunFiles(out)
    files.summary.unlink()
    files.summary.symlink_to("/dev/full")  # the last write of the run now hits a full disk
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "4096", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"prefrl: error: No space left on device; once that is fixed, continue from the last checkpoint: "
        f"prefrl train --resume {out}\n"
    )
    state = read_state(files)
    assert state is not None and state["timesteps"] >= 4096  # the checkpoint before the failed write is whole
    files.summary.unlink()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert json.loads(files.summary.read_text())["timesteps"] == state["timesteps"]


def test_no_opengl_is_found_out_before_the_run_directory_is_made(tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")} | {"MUJOCO_GL": "glfw"}
    command = [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--steps", "1", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("prefrl: error: cannot render clips with MUJOCO_GL=glfw") and "MUJOCO_GL=osmesa" in line
    assert not out.exists()
    no_video = subprocess.run(
        [*command, "--true-reward", "--no-video", "--no-progress"], capture_output=True, text=True, env=env
    )
    assert no_video.returncode == 0, no_video.stderr  # a run without a video needs no OpenGL


def test_a_run_killed_anywhere_and_resumed_each_time_ends_as_if_never_killed(tmp_path):
    """SIGKILL at random moments (seeded): before the first checkpoint, between checkpoints, and once leaving what
    a kill inside ``save_checkpoint`` (between its two renames) leaves on disk; ``--resume`` after each."""
    import random
    import signal
    import sqlite3

    def train(out):
        return [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--labels", "30", "--steps",
                "20480", "--checkpoint-every", "4096", "--out", str(out), "--no-progress", "--no-video"]  # fmt: skip

    def ending(out):
        metrics = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()]
        with sqlite3.connect(out / "preferences.sqlite") as db:
            asked = db.execute("SELECT id, left_clip, right_clip, timestep, uncertainty FROM queries").fetchall()
            answered = db.execute("SELECT query_id, preference FROM answers ORDER BY query_id").fetchall()
        summary = json.loads((out / "summary.json").read_text())
        episodes = (out / "episodes.csv").read_text()
        return [row[:1] + row[2:] for row in metrics], asked, answered, episodes, summary["labels"]

    def rows(path):
        return len(path.read_text().splitlines()) - 1 if path.exists() else 0

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(train(whole), check=True, capture_output=True, timeout=300)
    files, rng = RunFiles(killed), random.Random(0)
    command, logs = train(killed), []
    # of 10 PPO iterations (2,048 steps each; a checkpoint every 2): the first kill comes before the first one
    for kill_after_rows, wait in ((1, 0.0), (rng.randint(3, 4), rng.uniform(0, 0.5)), (rng.randint(6, 7), 0.3)):
        logs.append(tmp_path / f"attempt{len(logs)}.log")
        with logs[-1].open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.time() + 240
            while time.time() < deadline and rows(files.metrics) < kill_after_rows:
                time.sleep(0.02)
            time.sleep(wait)  # somewhere in the iteration that follows
            process.send_signal(signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL and not files.summary.exists()
        if len(logs) == 1:
            assert not files.checkpoint.is_complete()  # killed before the first checkpoint
        command = [sys.executable, "-m", "prefrl", "train", "--resume", str(killed)]
    assert "no checkpoint yet: the run starts over" in logs[1].read_text()
    assert files.checkpoint.is_complete()
    files.checkpoint.root.rename(files.checkpoint_old.root)  # as a kill between save_checkpoint's renames leaves it
    files.checkpoint_tmp.root.mkdir()
    files.checkpoint_tmp.policy.write_bytes(b"half a zip")
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert ending(killed) == ending(whole)  # the same labels, in the same order, the same metrics and episodes


def test_a_log_keeps_its_header_through_a_kill_before_its_first_row(tmp_path):
    from prefrl.experiments.logs import EPISODES_FIELDS, CsvLog, read_csv

    path = tmp_path / "episodes.csv"
    CsvLog(path, EPISODES_FIELDS)  # opened, never written to, never closed: as a run killed early leaves it
    assert path.read_text().splitlines() == [",".join(EPISODES_FIELDS)]
    path.write_text("")  # a kill can also leave the file empty
    log = CsvLog(path, EPISODES_FIELDS, append=True)
    log.write([16384, 1.0, 2.0])
    log.close()
    assert read_csv(path)["timestep"].tolist() == [16384]


def test_a_log_writes_floats_to_seven_significant_digits_and_leaves_integers_whole(tmp_path):
    import numpy as np

    from prefrl.experiments.logs import EPISODES_FIELDS, CsvLog, read_csv

    path = tmp_path / "episodes.csv"
    log = CsvLog(path, EPISODES_FIELDS)
    log.write([1_000_000, -2686.952919755364, np.float32(552.17041015625)])
    log.write([1_002_048, float("nan"), np.float64(0.025628906250000003)])
    log.close()
    assert path.read_text().splitlines()[1:] == ["1000000,-2686.953,552.1704", "1002048,nan,0.02562891"]
    assert read_csv(path)["timestep"].tolist() == [1_000_000, 1_002_048]
