import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import prefrl.envs  # noqa: F401
from prefrl.rl.hyperparams import default_hyperparams
from prefrl.rl.learned_reward import LearnedRewardVecEnv
from prefrl.rl.recorder import SegmentRecorder
from prefrl.rl.vec_env import SequentialVecEnv, make_vec_env


def constant_reward(obs, actions):
    return np.full(len(obs), 42.0)


def test_learned_reward_replaces_the_reward_and_keeps_the_true_one():
    venv = DummyVecEnv([lambda: Monitor(gym.make("prefrl/Reacher-v0")) for _ in range(2)])
    recorder = SegmentRecorder(venv)
    top = LearnedRewardVecEnv(recorder, constant_reward)
    top.reset()
    true_rewards, episode_returns = [], []
    for _ in range(50):
        _, rewards, dones, infos = top.step(np.array([top.action_space.sample() for _ in range(2)]))
        assert np.all(rewards == 42.0)
        true_rewards.append([info["true_reward"] for info in infos])
    assert dones.all()
    episode_returns = [info["episode"]["r"] for info in infos]  # written by Monitor, below the reward change
    episodes = recorder.pop_episodes()
    assert len(episodes) == 2 and all(len(ep) == 50 for ep in episodes)
    true = np.array(true_rewards).T
    for i, ep in enumerate(episodes):
        np.testing.assert_allclose(ep.true_rewards, true[i])
        assert ep.true_return == pytest.approx(episode_returns[i], abs=1e-5)  # Monitor rounds to 6 decimals
        assert ep.qpos.shape == (50, 4) and ep.obs.shape == (50, 10)
    assert recorder.pop_episodes() == []


def test_recorded_obs_are_the_ones_acted_on():
    venv = DummyVecEnv([lambda: Monitor(gym.make("prefrl/Reacher-v0"))])
    recorder = SegmentRecorder(venv)
    obs = recorder.reset()
    seen = [obs[0]]
    for _ in range(50):
        obs, *_ = recorder.step(np.array([recorder.action_space.sample()]))
        seen.append(obs[0])
    (ep,) = recorder.pop_episodes()
    np.testing.assert_allclose(ep.obs, np.array(seen[:50]))


def test_stack_order():
    top, recorder = make_vec_env("prefrl/Hopper-v0", default_hyperparams(n_envs=2), seed=0, reward_fn=constant_reward)
    assert type(top).__name__ == "VecNormalize"
    assert isinstance(top.venv, LearnedRewardVecEnv) and top.venv.venv is recorder
    baseline, _ = make_vec_env("prefrl/Hopper-v0", default_hyperparams(n_envs=2), seed=0, reward_fn=None)
    assert isinstance(baseline.venv, SegmentRecorder)
    top.close()
    baseline.close()


def test_sequential_vec_env_steps_as_dummy_vec_env_does():
    def thunks():
        return [lambda: Monitor(gym.make("prefrl/Reacher-v0")) for _ in range(2)]

    ours, theirs = SequentialVecEnv(thunks()), DummyVecEnv(thunks())
    for venv in (ours, theirs):
        venv.seed(3)
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    actions = np.random.default_rng(0).uniform(-1, 1, size=(120, 2, 2))  # past the 50-step episode end, twice
    for step_actions in actions:
        mine, reference = ours.step(step_actions), theirs.step(step_actions)
        for a, b in zip(mine[:3], reference[:3]):
            np.testing.assert_array_equal(a, b)
        for info, expected in zip(mine[3], reference[3]):
            assert info.keys() == expected.keys()
            for key in expected.keys() - {"episode"}:
                np.testing.assert_array_equal(info[key], expected[key])
            if "episode" in expected:  # Monitor's summary; "t" is wall time
                assert [info["episode"][k] for k in "rl"] == [expected["episode"][k] for k in "rl"]
    assert mine[3][0] is not reference[3][0] and mine[3][0] is not mine[3][1]
    ours.close()
    theirs.close()
