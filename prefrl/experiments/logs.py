"""A run's CSV logs: one row per PPO iteration (``metrics.csv``) and one per finished episode (``episodes.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

METRICS_FIELDS = [
    "timesteps",
    "wall_time",
    "true_return",
    "learned_return",
    "episodes",
    "labels",
    "queries",
    "val_accuracy",
    "val_loss",
    "train_loss",
    "l2",
]
"""The columns of ``metrics.csv``."""
EPISODES_FIELDS = ["timestep", "true_return", "learned_return"]
"""The columns of ``episodes.csv``."""


SIGNIFICANT_DIGITS = 7
"""Floats are written with this many significant digits (float32's precision, which r_hat's values have anyway):
a 1M-step run's two logs take about half the bytes of ``repr``'s 17, which keeps a sweep's committed results
small."""


def format_value(value: object) -> object:
    """A float as ``SIGNIFICANT_DIGITS`` significant digits (``nan`` as ``nan``); anything else as it is."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.{SIGNIFICANT_DIGITS}g}"
    return value


class CsvLog:
    """Append-only CSV, flushed every row (a crash keeps what was written); floats rounded by ``format_value``."""

    def __init__(self, path: Path, fields: list[str], append: bool = False):
        exists = append and path.exists() and path.stat().st_size > 0  # a run killed at once may leave it empty
        self._file = path.open("a" if exists else "w", newline="")
        self._writer = csv.writer(self._file)
        if not exists:
            self._writer.writerow(fields)
            self._file.flush()  # the header too: a run killed before its first row must not lose it

    def write(self, values: list) -> None:
        self._writer.writerow([format_value(v) for v in values])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def truncate_csv(path: Path, max_timestep: int) -> None:
    """Keep the header and the rows whose first column (timesteps) is at most ``max_timestep``."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and float(r[0]) <= max_timestep]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(kept)


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a numeric CSV as float arrays (empty cells become NaN)."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows]) for k in rows[0]}
