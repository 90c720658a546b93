"""The learning-curve plot of a run, with and without a reference return."""

import numpy as np

from prefrl.experiments.logs import EPISODES_FIELDS, METRICS_FIELDS, CsvLog
from prefrl.experiments.plotting import plot_learning_curve
from prefrl.experiments.references import Reference


def test_plot_draws_the_reference_return(tmp_path):
    metrics, episodes = CsvLog(tmp_path / "m.csv", METRICS_FIELDS), CsvLog(tmp_path / "e.csv", EPISODES_FIELDS)
    for i in range(1, 30):
        episodes.write([i * 1000, 10.0 * i, np.nan])
        metrics.write([i * 1000, i, 10.0 * i, np.nan, 1, 10 + i, 10 + i, 0.8, 0.5, 0.4, 1e-3])
    metrics.close()
    episodes.close()
    plain = plot_learning_curve(tmp_path / "m.csv", tmp_path / "e.csv", tmp_path / "plain.png", "t")
    ref = Reference(final_return=3000.0, steps=1_000_000, seeds=3, source="results/x")
    with_ref = plot_learning_curve(tmp_path / "m.csv", tmp_path / "e.csv", tmp_path / "ref.png", "t", ref)
    assert plain.stat().st_size > 1000 and with_ref.read_bytes() != plain.read_bytes()
    assert ref.label == "PPO on the true reward, 1M steps (3 seeds)"
