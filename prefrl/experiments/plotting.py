"""Learning-curve plots of a run (matplotlib, written as PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from prefrl.experiments.logs import read_csv
from prefrl.experiments.references import Reference


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    n = np.minimum(np.arange(1, len(x) + 1), window)
    return (c[1:] - c[np.arange(1, len(x) + 1) - n]) / n


def plot_learning_curve(
    metrics_csv: Path, episodes_csv: Path, out: Path, title: str, reference: Reference | None = None
) -> Path:
    """True (and learned) episode return against timesteps, and labels against timesteps.

    ``reference``: a known return to compare with (PPO on the true reward, ``prefrl.experiments.references``),
    drawn as a dashed line.
    """
    episodes, metrics = read_csv(episodes_csv), read_csv(metrics_csv)
    has_labels = bool(metrics) and np.isfinite(metrics.get("labels", np.array([np.nan]))).any()
    fig, axes = plt.subplots(
        2 if has_labels else 1, 1, figsize=(7, 6 if has_labels else 3.8), sharex=True, squeeze=False
    )
    ax = axes[0, 0]
    if episodes:
        t, ret = episodes["timestep"], episodes["true_return"]
        ax.plot(t, ret, ".", alpha=0.25, color="tab:blue", markersize=3)
        ax.plot(t, rolling_mean(ret, 20), color="tab:blue", label="true return (20-episode mean)")
    if reference is not None:
        ax.axhline(reference.final_return, color="tab:gray", linestyle="--", label=reference.label)
        learned = episodes["learned_return"]
        if np.isfinite(learned).any():
            twin = ax.twinx()
            twin.plot(t, rolling_mean(learned, 20), color="tab:orange", alpha=0.8, label="learned return (r_hat)")
            twin.set_ylabel("learned return", color="tab:orange")
    ax.set_ylabel("true episode return")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    if has_labels:
        ax2 = axes[1, 0]
        ax2.plot(metrics["timesteps"], metrics["labels"], color="tab:green", label="labels")
        ax2.set_ylabel("labels")
        acc = ax2.twinx()
        acc.plot(metrics["timesteps"], metrics["val_accuracy"], color="tab:red", alpha=0.7)
        acc.set_ylabel("held-out accuracy", color="tab:red")
        acc.set_ylim(0.4, 1.0)
        ax2.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("timesteps")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
