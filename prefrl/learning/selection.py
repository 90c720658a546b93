"""Which pairs of clips to ask about: uniformly random, or where the ensemble disagrees most."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from prefrl.segment import Segment

PairPredictor = Callable[[Sequence[Segment], Sequence[Segment]], np.ndarray]
"""Maps ``K`` left and ``K`` right clips to each ensemble member's P(left > right), ``[members, K]``."""


@dataclass(frozen=True)
class Candidate:
    """A chosen pair: indices into the clip list, and the selector's score (higher = ask first)."""

    left: int
    right: int
    score: float


class PairSelector(Protocol):
    """Chooses ``n`` pairs among ``clips``."""

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]: ...


class RandomPairs:
    """Uniformly random pairs of distinct clips."""

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]:
        if len(clips) < 2:
            raise ValueError("need at least two clips to form a pair")
        left = rng.integers(len(clips), size=n)
        offset = rng.integers(1, len(clips), size=n)  # never pairs a clip with itself
        right = (left + offset) % len(clips)
        return [Candidate(int(i), int(j), 0.0) for i, j in zip(left, right)]


class DisagreementPairs:
    """Active selection of Christiano et al. (2017): of ``oversample * n`` candidate pairs drawn by ``base``,
    keep the ``n`` on which the ensemble members' predicted preferences vary most.

    The paper calls this a crude approximation that can hurt in some tasks; ``RandomPairs`` stays available.

    Args:
        predict: Each member's P(left > right) for candidate pairs.
        base: Draws the candidates.
        oversample: Candidates per pair asked (10 in the paper).
    """

    def __init__(self, predict: PairPredictor, base: PairSelector | None = None, oversample: int = 10):
        if oversample < 1:
            raise ValueError(f"oversample must be >= 1, got {oversample}")
        self.predict = predict
        self.base = base or RandomPairs()
        self.oversample = oversample

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]:
        candidates = self.base.select(clips, n * self.oversample, rng)
        probs = self.predict([clips[c.left] for c in candidates], [clips[c.right] for c in candidates])
        variance = probs.var(axis=0)
        best = np.argsort(-variance, kind="stable")[:n]
        return [Candidate(candidates[i].left, candidates[i].right, float(variance[i])) for i in best]
