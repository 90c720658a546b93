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


PairHistory = Callable[[], np.ndarray]
"""The clip features (``clip_features``) of the pairs labelled so far, ``[n, 2, d]``."""


def clip_features(clips: Sequence[Segment]) -> np.ndarray:
    """What a clip is summarised by when pairs are spread out: its mean observation, ``[K, obs_dim]``."""
    return np.stack([clip.obs.mean(axis=0) for clip in clips])


class SpreadPairs:
    """Not in the paper: of the pairs the ensemble disagrees most about, ask those least like the pairs asked so
    far (greedy k-center, as B-Pref's "k-center + disagreement", Lee et al. 2021).

    Disagreement alone asks about near-copies of one situation again and again: a random Hopper lies on the
    floor in almost every clip, a standing one stands in all of them, and a pair of two such clips tells r_hat
    little. Here ``DisagreementPairs`` keeps the ``pool * n`` pairs the members disagree on most among
    ``oversample`` times as many random candidates (by default 5n of 10n, as B-Pref's half), and ``n`` of those
    are chosen one at a time, each the pair farthest from every pair asked before (``history``) and chosen so
    far. A pair is two clips, each summarised by its mean observation, in units of those features' spread over
    the pool and the history; the distance between two pairs is the smaller of the two ways of matching their
    clips. On Hopper-v1 it ends worse than disagreement alone: the clips of a run that stands are all of
    standing, however they are paired (docs/BENCHMARKS.md, section 42).

    Args:
        predict: Each member's P(left > right) for candidate pairs.
        history: Features of the pairs labelled so far (none: only this call's picks count).
        pool: Pairs kept by disagreement per pair asked.
        oversample: Random candidates per pair kept.
    """

    def __init__(self, predict: PairPredictor, history: PairHistory | None = None, pool: int = 5, oversample: int = 2):
        if pool < 1:
            raise ValueError(f"pool must be >= 1, got {pool}")
        self.ranked = DisagreementPairs(predict, oversample=oversample)
        self.history, self.pool = history, pool

    def select(self, clips: Sequence[Segment], n: int, rng: np.random.Generator) -> list[Candidate]:
        top = self.ranked.select(clips, self.pool * n, rng)  # best first
        features = clip_features(clips)
        pairs = np.stack([features[[c.left, c.right]] for c in top])  # [m, 2, d]
        past = self.history() if self.history is not None else np.empty((0, 2, features.shape[1]))
        scale = np.concatenate([pairs, past]).reshape(-1, features.shape[1]).std(axis=0) + 1e-8
        pairs, past = pairs / scale, past / scale
        nearest = np.full(len(top), np.inf)  # each pair's distance to the nearest one asked or chosen
        for centre in past:
            nearest = np.minimum(nearest, pair_distance(pairs, centre))
        chosen: list[int] = []
        for _ in range(min(n, len(top))):
            pick = int(np.argmax(nearest))  # the farthest; with nothing asked yet, the one disagreed on most
            chosen.append(pick)
            nearest = np.minimum(nearest, pair_distance(pairs, pairs[pick]))
            nearest[pick] = -np.inf  # never picked twice
        return [top[i] for i in chosen]


def pair_distance(pairs: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Distance of each pair ``[m, 2, d]`` to one pair ``[2, d]``: the smaller of the two ways to match clips."""
    straight = np.linalg.norm(pairs - centre, axis=-1).sum(-1)
    crossed = np.linalg.norm(pairs - centre[::-1], axis=-1).sum(-1)
    return np.minimum(straight, crossed)
