"""Which pairs of clips to ask about: uniformly random, or where the ensemble disagrees most."""

from __future__ import annotations

from collections import Counter
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


def spread_out(ranked: Sequence[Candidate], n: int, max_uses: int) -> list[Candidate]:
    """The first ``n`` pairs of ``ranked`` (best first) in which no clip appears more than ``max_uses`` times.

    Only when too few pairs pass is the rest filled with the best of the others, so ``n`` pairs come back (if
    ``ranked`` has them).
    """
    uses: Counter[int] = Counter()
    kept: list[Candidate] = []
    others: list[Candidate] = []
    for pair in ranked:
        if len(kept) == n:
            break
        if uses[pair.left] < max_uses and uses[pair.right] < max_uses:
            kept.append(pair)
            uses.update((pair.left, pair.right))
        else:
            others.append(pair)
    return kept + others[: n - len(kept)]


def _check_max_uses(max_uses: int | None) -> None:
    if max_uses is not None and max_uses < 1:
        raise ValueError(f"max_uses must be >= 1 (pairs per clip) or None, got {max_uses}")


class RandomPairs:
    """Uniformly random pairs of distinct clips.

    Args:
        max_uses: Pairs one clip may appear in per call (``None``: any number, independent draws).
    """

    def __init__(self, max_uses: int | None = None):
        _check_max_uses(max_uses)
        self.max_uses = max_uses

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]:
        if len(clips) < 2:
            raise ValueError("need at least two clips to form a pair")
        left = rng.integers(len(clips), size=n)
        offset = rng.integers(1, len(clips), size=n)  # never pairs a clip with itself
        right = (left + offset) % len(clips)
        pairs = [Candidate(int(i), int(j), 0.0) for i, j in zip(left, right)]
        if self.max_uses is None:
            return pairs
        shuffled = rng.permutation(len(clips))  # disjoint pairs first, then the independent draws
        disjoint = [Candidate(int(i), int(j), 0.0) for i, j in zip(shuffled[0::2], shuffled[1::2])]
        return spread_out(disjoint + pairs, n, self.max_uses)


class DisagreementPairs:
    """Active selection of Christiano et al. (2017): of ``oversample * n`` candidate pairs drawn by ``base``,
    keep the ``n`` on which the ensemble members' predicted preferences vary most.

    The paper calls this a crude approximation that can hurt in some tasks; ``RandomPairs`` stays available.
    Left alone it tends to pick one odd clip again and again (the members disagree about it whatever it is paired
    with: one clip was in 5 of the first 25 pairs shown to a person); ``max_uses`` keeps, in order of
    disagreement, only pairs whose clips are not used up yet.

    Args:
        predict: Each member's P(left > right) for candidate pairs.
        base: Draws the candidates.
        oversample: Candidates per pair asked (10 in the paper).
        max_uses: Pairs one clip may appear in per call (``None``: any number, as in the paper).
    """

    def __init__(
        self,
        predict: PairPredictor,
        base: PairSelector | None = None,
        oversample: int = 10,
        max_uses: int | None = None,
    ):
        if oversample < 1:
            raise ValueError(f"oversample must be >= 1, got {oversample}")
        _check_max_uses(max_uses)
        self.predict = predict
        self.base = base or RandomPairs()
        self.oversample = oversample
        self.max_uses = max_uses

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]:
        candidates = self.base.select(clips, n * self.oversample, rng)
        probs = self.predict([clips[c.left] for c in candidates], [clips[c.right] for c in candidates])
        variance = probs.var(axis=0)
        order = np.argsort(-variance, kind="stable")
        if self.max_uses is None:
            order = order[:n]
        ranked = [Candidate(candidates[i].left, candidates[i].right, float(variance[i])) for i in order]
        return ranked if self.max_uses is None else spread_out(ranked, n, self.max_uses)
