"""prefrl's interquartile mean and stratified bootstrap intervals against rliable's (Agarwal et al., 2021), the
package that defined them, on the committed results and on random scores. rliable is in the dev extra (it needs
pandas < 3 today); without it these tests are skipped. rliable runs in a process of its own: importing it
installs absl's logging handler on the root logger, bound to the stderr of that moment, which breaks every later
test whose server logs."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prefrl.experiments.report import normalised_scores
from prefrl.experiments.statistics import iqm, stratified_bootstrap_ci
from prefrl.experiments.sweep_results import load_results

pytestmark = pytest.mark.skipif(importlib.util.find_spec("rliable") is None, reason="rliable is not installed")

RESULTS = Path(__file__).resolve().parents[2] / "results"
REPS = 20_000  # both sides: enough that their two bootstrap draws give the same interval to within 0.02
RLIABLE = """
import json, sys
import numpy as np
from rliable import library, metrics
matrix, reps = np.array(json.loads(sys.stdin.read())["matrix"]), int(sys.argv[1])
points, intervals = library.get_interval_estimates(
    {"x": matrix}, lambda m: np.array([metrics.aggregate_iqm(m)]), reps=reps
)
print(json.dumps([float(points["x"][0]), float(intervals["x"][0, 0]), float(intervals["x"][1, 0])]))
"""


def rliable_iqm_ci(matrix: np.ndarray) -> tuple[float, float, float]:
    """rliable's IQM of ``matrix [runs, tasks]`` and its 95% stratified bootstrap (percentile) interval."""
    result = subprocess.run(
        [sys.executable, "-c", RLIABLE, str(REPS)],
        input=json.dumps({"matrix": matrix.tolist()}),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    point, low, high = json.loads(result.stdout)
    return point, low, high


def assert_agree(scores: dict[str, np.ndarray]) -> None:
    matrix = np.stack([scores[task] for task in scores], axis=1)  # rliable: the same runs per task
    theirs = rliable_iqm_ci(matrix)
    ours = stratified_bootstrap_ci(scores, reps=REPS)
    assert ours[0] == pytest.approx(theirs[0], abs=1e-12) and iqm(matrix) == pytest.approx(theirs[0], abs=1e-12)
    assert ours[1:] == pytest.approx(theirs[1:], abs=0.02), (ours, theirs)


def test_random_scores_of_eight_tasks_and_five_seeds():
    rng = np.random.default_rng(0)
    assert_agree({f"task{i}": rng.normal(1.0, 0.3, size=5) for i in range(8)})


@pytest.mark.parametrize("sweep", ["fast-ppo", "v1-ppo-minibatch64"])
def test_the_committed_results(sweep):
    _, results = load_results(RESULTS / sweep)
    for condition, scores in normalised_scores(results).items():
        assert len({len(v) for v in scores.values()}) == 1, f"{sweep} {condition}: seeds differ between tasks"
        assert_agree(scores)
