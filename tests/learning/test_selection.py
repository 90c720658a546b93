import numpy as np
import pytest

from prefrl.learning.selection import DisagreementPairs, RandomPairs, SpreadPairs, clip_features, pair_distance


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


def _disagrees_on(odd):
    """A fake ensemble that disagrees only on pairs showing clip ``odd``, more the higher the other clip."""

    def predict(lefts, rights):
        spread = [
            0.2 + 0.01 * (a.true_return + b.true_return) if odd in (a.true_return, b.true_return) else 0.0
            for a, b in zip(lefts, rights)
        ]
        return np.array([[0.5 + (m - 1) * s for s in spread] for m in range(3)])

    return predict


def test_max_uses_shows_an_odd_clip_once(clip):
    clips = [clip([float(i)]) for i in range(10)]
    ranked = DisagreementPairs(_disagrees_on(7)).select(clips, 5, np.random.default_rng(1))
    assert all(7 in (p.left, p.right) for p in ranked)  # what a person saw: one clip in every pair

    pairs = DisagreementPairs(_disagrees_on(7), max_uses=1).select(clips, 5, np.random.default_rng(1))
    shown = [i for p in pairs for i in (p.left, p.right)]
    assert len(pairs) == 5
    assert shown.count(7) == 1
    assert 7 in (pairs[0].left, pairs[0].right)  # the most informative pair still comes first
    assert pairs[0].score == max(p.score for p in ranked)
    assert len(set(shown)) == 10  # 5 pairs, 10 different clips


def test_max_uses_allows_that_many(clip):
    clips = [clip([float(i)]) for i in range(10)]
    pairs = DisagreementPairs(_disagrees_on(7), max_uses=2).select(clips, 4, np.random.default_rng(1))
    shown = [i for p in pairs for i in (p.left, p.right)]
    assert shown.count(7) == 2
    assert max(shown.count(i) for i in shown) == 2
    random_pairs = RandomPairs(max_uses=1).select(clips, 5, np.random.default_rng(0))
    assert len({i for p in random_pairs for i in (p.left, p.right)}) == 10
    with pytest.raises(ValueError, match="max_uses"):
        RandomPairs(max_uses=0)


def test_max_uses_still_returns_n_pairs_when_clips_run_out(clip):
    clips = [clip([float(i)]) for i in range(3)]
    pairs = RandomPairs(max_uses=1).select(clips, 4, np.random.default_rng(0))
    assert len(pairs) == 4
    assert all(p.left != p.right for p in pairs)


def _situations(clip, counts):
    """Clips in a few situations: ``counts[k]`` near-copies of situation k (mean observation 10 k)."""
    rng = np.random.default_rng(0)
    return [
        clip([0.0, 0.0], obs=10.0 * k + 0.01 * rng.normal(size=(2, 3)))
        for k, count in enumerate(counts)
        for _ in range(count)
    ]


def _agree_equally(lefts, rights):
    return np.tile([[0.2], [0.5], [0.8]], (1, len(lefts)))  # the same disagreement on every pair


def test_spread_asks_about_different_situations_not_near_copies(clip):
    clips = _situations(clip, [40, 2, 2])  # mostly one situation, as a random Hopper lying on the floor
    situation = np.round(clip_features(clips)[:, 0] / 10).astype(int)
    pairs = SpreadPairs(_agree_equally, pool=25).select(clips, 3, np.random.default_rng(0))
    kinds = [tuple(sorted((situation[p.left], situation[p.right]))) for p in pairs]
    assert len(set(kinds)) == 3, kinds  # three different combinations, though 40 of 44 clips are alike
    random_kinds = [
        tuple(sorted((situation[p.left], situation[p.right])))
        for p in RandomPairs().select(clips, 3, np.random.default_rng(0))
    ]
    assert random_kinds.count((0, 0)) >= 2  # what uniform pairs of these clips mostly are


def test_spread_avoids_what_was_asked_before(clip):
    clips = _situations(clip, [10, 10])
    features = clip_features(clips)
    asked = np.stack([features[[0, 1]], features[[11, 12]]])  # both same-situation pairs were asked
    pairs = SpreadPairs(_agree_equally, history=lambda: asked).select(clips, 1, np.random.default_rng(0))
    left, right = pairs[0].left, pairs[0].right
    assert (left < 10) != (right < 10)  # the one kind of pair not asked yet: one clip of each situation


def test_spread_keeps_the_pairs_the_ensemble_disagrees_on(clip):
    clips = [clip([float(i)]) for i in range(10)]
    pairs = SpreadPairs(_disagrees_on(7), pool=2, oversample=5).select(clips, 3, np.random.default_rng(1))
    assert all(7 in (p.left, p.right) for p in pairs)


def test_pair_distance_ignores_which_clip_is_left():
    a, b = np.array([0.0, 0.0]), np.array([3.0, 4.0])
    pairs = np.stack([np.stack([a, b]), np.stack([b, a])])
    assert pair_distance(pairs, np.stack([b, a])).tolist() == [0.0, 0.0]
    assert pair_distance(pairs, np.stack([a, a])).tolist() == [5.0, 5.0]
