"""The unsupervised pre-training reward (PEBBLE's k-NN state entropy) and its hand-over to r_hat."""

import numpy as np
import pytest

from prefrl.rl.state_entropy import PretrainingReward, StateEntropyReward


def test_a_state_unlike_the_recent_ones_pays_more():
    rng = np.random.default_rng(0)
    reward = StateEntropyReward(k=5, memory=1000)
    for _ in range(250):
        reward(rng.normal(0.0, 0.1, size=(4, 3)), None)  # the policy stays near the origin
    near, far = reward(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), None)
    assert far > near + 1.0


def test_it_is_log_one_plus_the_kth_neighbour_distance_in_spread_units():
    reward = StateEntropyReward(k=2, memory=8)
    # Coordinate 0 spreads 100 times wider than coordinate 1: both count by their own spread.
    seen = np.array([[0.0, 0.0], [100.0, 1.0], [200.0, 2.0], [300.0, 3.0]])
    reward(seen, None)
    scale = seen.std(axis=0) + 1e-6
    query = np.array([[0.0, 3.0]])
    expected = np.log1p(np.sort(np.sqrt((((query - seen) / scale) ** 2).sum(-1)))[1])
    assert reward(query, None) == pytest.approx([expected])


def test_the_memory_forgets_first_in_first_out():
    reward = StateEntropyReward(k=1, memory=4)
    reward(np.zeros((4, 1)), None)
    reward(np.full((4, 1), 10.0), None)  # the four zeros are gone
    assert reward(np.array([[10.0]]), None)[0] == pytest.approx(0.0, abs=1e-6)


def test_the_first_calls_pay_nothing_until_k_states_are_seen():
    reward = StateEntropyReward(k=5)
    assert np.all(reward(np.ones((3, 2)), None) == 0.0)


def test_pretraining_hands_over_to_the_learned_reward_at_its_step():
    learned = lambda obs, actions: np.full(len(obs), 7.0)  # noqa: E731
    phased = PretrainingReward(lambda obs, actions: np.zeros(len(obs)), learned, steps=1000)
    obs = np.zeros((2, 3))
    phased.timestep = 999
    assert phased.pretraining_now and np.all(phased(obs, None) == 0.0)
    phased.timestep = 1000
    assert not phased.pretraining_now and np.all(phased(obs, None) == 7.0)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="1 <= k < memory"):
        StateEntropyReward(k=5, memory=5)
