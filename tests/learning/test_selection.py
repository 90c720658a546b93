import numpy as np
import pytest

from prefrl.learning.selection import DisagreementPairs, RandomPairs


def test_random_pairs_never_pair_a_clip_with_itself(clip):
    clips = [clip([i]) for i in range(3)]
    pairs = RandomPairs().select(clips, 200, np.random.default_rng(0))
    assert len(pairs) == 200
    assert all(p.left != p.right for p in pairs)
    assert {p.left for p in pairs} == {0, 1, 2}


def test_disagreement_keeps_the_highest_variance_pairs(clip):
    # clip i has true reward i; the fake ensemble disagrees exactly on pairs that include clip 7
    clips = [clip([float(i)]) for i in range(10)]

    def predict(lefts, rights):
        members = []
        for m in range(3):
            row = [m / 2 if 7 in (a.true_return, b.true_return) else 0.5 for a, b in zip(lefts, rights)]
            members.append(row)
        return np.array(members)

    selector = DisagreementPairs(predict, oversample=10)
    pairs = selector.select(clips, 5, np.random.default_rng(1))
    assert len(pairs) == 5
    assert all(7 in (p.left, p.right) for p in pairs)
    assert all(p.score == pytest.approx(np.var([0, 0.5, 1.0])) for p in pairs)


def test_disagreement_draws_oversample_candidates(clip):
    clips = [clip([float(i)]) for i in range(4)]
    seen = []

    def predict(lefts, rights):
        seen.append(len(lefts))
        return np.random.default_rng(0).random((3, len(lefts)))

    DisagreementPairs(predict, oversample=10).select(clips, 6, np.random.default_rng(0))
    assert seen == [60]


def test_needs_two_clips(clip):
    with pytest.raises(ValueError, match="two clips"):
        RandomPairs().select([clip([1.0])], 1, np.random.default_rng(0))
