"""``scripts/backflip.py`` as a user runs it: evaluate a (tiny) backflip run, its last and its kept checkpoints."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "backflip.py"
ENV = {**os.environ, "MUJOCO_GL": "egl"}


def run(*args, timeout=600):
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def backflip_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("backflip") / "run"
    run(
        *("-m", "prefrl.cli", "train", "--env", "prefrl/HopperBackflip-v0", "--teacher", "backflip"),
        *("--labels", "12", "--steps", "4096", "--checkpoint-every", "2048", "--keep-checkpoints"),
        *("--no-video", "--no-progress", "--out", out),
    )
    return out


def test_evaluates_the_final_policy(backflip_run):
    run(SCRIPT, "--behaviour", "backflip", "--evaluate", backflip_run, "--episodes", "2")
    result = json.loads((backflip_run / "evaluation.json").read_text())
    assert result["episodes"] == 2 and result["labels"] == 12 and result["timesteps"] >= 4096
    with open(backflip_run / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["episode"]) for r in rows] == [0, 1]
    assert result["mean_backflips"] == pytest.approx(sum(int(r["backflips"]) for r in rows) / 2)
    for video in ("behaviour.mp4", "behaviour.gif"):
        assert (backflip_run / video).stat().st_size > 1000


def test_evaluates_a_kept_checkpoint_and_each_of_them(backflip_run):
    kept = sorted(int(p.name) for p in (backflip_run / "checkpoints").iterdir())
    assert len(kept) >= 2
    run(SCRIPT, "--evaluate", backflip_run, "--timestep", kept[0], "--episodes", "1")
    result = json.loads((backflip_run / "checkpoints" / str(kept[0]) / "evaluation.json").read_text())
    assert result["timesteps"] == kept[0]
    run(SCRIPT, "--evaluate", backflip_run, "--each-checkpoint", "--episodes", "1")
    with open(backflip_run / "checkpoint_evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["timestep"]) for r in rows] == kept


def test_rejects_a_checkpoint_without_a_run(tmp_path):
    result = subprocess.run(
        [sys.executable, SCRIPT, "--timestep", "2048"], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert result.returncode == 2 and "need --evaluate" in result.stderr
