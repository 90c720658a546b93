"""Slow learning tests (minutes): ``pytest -m slow``. Benchmarks: ``prefrl sweep``, ``prefrl report``."""

import json

import pytest

from prefrl.config import TrainConfig
from prefrl.experiments.plotting import read_csv
from prefrl.experiments.train import run


@pytest.mark.slow
def test_hopper_learns_to_hop_from_oracle_preferences(tmp_path):
    """300 oracle labels over 150k steps: the Hopper moves right instead of falling (random policy: about -100)."""
    out = run(
        TrainConfig(
            env="prefrl/Hopper-v0", labels=300, steps=150_000, seed=0, out=tmp_path / "run", video=False, progress=False
        )
    )
    episodes = read_csv(out / "episodes.csv")
    late = episodes["true_return"][episodes["timestep"] > 135_000]
    assert late.mean() > 400, late
    metrics = read_csv(out / "metrics.csv")
    assert metrics["val_accuracy"][-1] > 0.8
    assert json.loads((out / "summary.json").read_text())["labels"] == 300
