"""The statistics of the report: interquartile mean, stratified bootstrap confidence intervals, bootstrap bands.

As recommended by Agarwal et al. (2021, "Deep RL at the edge of the statistical precipice") and computed by their
``rliable`` package; here with numpy (tested on known numbers) instead of depending on ``rliable``, which would
pull in scipy, pandas, seaborn and arch for two functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np


def iqm(x: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``, which rliable uses).

    ``floor(n / 4)`` values are cut from each end after sorting; with ``axis=None`` over all values.
    """
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        x, axis = x.reshape(-1), 0
    x = np.sort(x, axis=axis)
    n = x.shape[axis]
    if n == 0:
        return math.nan
    cut = int(0.25 * n)
    return np.take(x, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def stratified_bootstrap_ci(
    scores: Mapping[str, np.ndarray],
    statistic: Callable[[np.ndarray], float] = iqm,  # type: ignore[assignment]
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``statistic`` of all scores pooled over tasks, and its percentile bootstrap confidence interval.

    Each replicate resamples, within every task independently, as many runs as the task has, with replacement
    (rliable's stratified bootstrap); tasks may have different numbers of runs.

    Args:
        scores: Per task, the scores of its runs ``[runs]`` (NaNs are dropped).
        statistic: Of the pooled scores ``[n]``.
        reps: Bootstrap replicates.
        confidence: Coverage of the interval.
        seed: Seed of the resampling.

    Returns:
        ``(point estimate, low, high)``; NaNs when there are no scores.
    """
    strata = [s[np.isfinite(s)] for s in (np.asarray(v, dtype=np.float64) for v in scores.values())]
    strata = [s for s in strata if len(s)]
    if not strata:
        return math.nan, math.nan, math.nan
    point = float(statistic(np.concatenate(strata)))
    rng = np.random.default_rng(seed)
    draws = np.concatenate([s[rng.integers(len(s), size=(reps, len(s)))] for s in strata], axis=1)  # [reps, n]
    stats = np.array([statistic(d) for d in draws])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return point, float(low), float(high)


def bootstrap_mean_band(curves: np.ndarray, reps: int = 1000, confidence: float = 0.95, seed: int = 0):
    """Mean over seeds of ``curves [seeds, bins]`` and its percentile bootstrap band (NaN bins ignored)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(curves), size=(reps, len(curves)))
    with warnings.catch_warnings():  # bins where every seed is NaN stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(curves[idx], axis=1)  # [reps, bins]
        alpha = (1 - confidence) / 2
        low, high = np.nanquantile(means, [alpha, 1 - alpha], axis=0)
        return np.nanmean(curves, axis=0), low, high
