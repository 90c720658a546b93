"""What a finished run directory says about the agent: final return, learning curve, the random policy's return.

Shared by ``prefrl.experiments.sweep`` (its summary CSV) and ``prefrl.experiments.report`` (plots and tables).
All read ``episodes.csv`` (``timestep, true_return, learned_return``: one row per finished episode).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from prefrl.experiments.logs import read_csv
from prefrl.run_dir import RunFiles

FINAL_FRACTION = 0.1
"""The final return averages the episodes of the last 10% of timesteps, as the paper's curves average batches."""


def read_episodes(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Timesteps at which episodes ended and their true returns (empty arrays when none ended yet)."""
    path = RunFiles(Path(run_dir)).episodes
    episodes = read_csv(path) if path.exists() else {}
    if not episodes:
        return np.zeros(0), np.zeros(0)
    return episodes["timestep"], episodes["true_return"]


def final_return(run_dir: Path, total_steps: int, fraction: float = FINAL_FRACTION) -> float:
    """Mean true return of the episodes that ended in the last ``fraction`` of the run's timesteps (NaN: none)."""
    t, ret = read_episodes(run_dir)
    late = ret[t > (1 - fraction) * total_steps]
    return float(late.mean()) if len(late) else math.nan


def initial_return(run_dir: Path) -> float:
    """Mean true return of the episodes of the first logged rollout: the (nearly) untrained policy's return."""
    t, ret = read_episodes(run_dir)
    return float(ret[t == t.min()].mean()) if len(t) else math.nan


def binned_curve(run_dir: Path, total_steps: int, bins: int) -> np.ndarray:
    """Mean true return of the episodes ending in each of ``bins`` equal timestep bins of the run: ``[bins]``.

    A bin without an episode is NaN.
    """
    t, ret = read_episodes(run_dir)
    edges = np.linspace(0, total_steps, bins + 1)
    which = np.clip(np.searchsorted(edges, t, side="left") - 1, 0, bins - 1)
    sums = np.bincount(which, weights=ret, minlength=bins)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)[:bins]
