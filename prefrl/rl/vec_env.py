"""The one place where the env stack is built, so its order is visible at a glance."""

from __future__ import annotations

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

import prefrl.envs  # noqa: F401  (registers prefrl/* ids)
from prefrl.learning.reward_model import RewardFn
from prefrl.rl.hyperparams import PPOHyperparams
from prefrl.rl.learned_reward import LearnedRewardVecEnv
from prefrl.rl.recorder import SegmentRecorder


def make_vec_env(
    env_id: str, hp: PPOHyperparams, seed: int, reward_fn: RewardFn | None
) -> tuple[VecNormalize, SegmentRecorder]:
    """Build, bottom to top:

    1. ``hp.n_envs`` copies of the task, each in a ``Monitor`` (logs the *true* episode return);
    2. ``DummyVecEnv``;
    3. ``SegmentRecorder`` (records true rewards and simulator states for clips);
    4. ``LearnedRewardVecEnv`` with ``reward_fn`` (omitted for the true-reward baseline);
    5. ``VecNormalize`` (observation and reward normalisation, the same for both conditions).

    Returns:
        The top of the stack (what PPO sees) and the recorder.
    """

    def make(rank: int):
        def thunk() -> gym.Env:
            env = Monitor(gym.make(env_id))
            env.reset(seed=seed + rank)
            env.action_space.seed(seed + rank)
            return env

        return thunk

    venv: VecEnv = DummyVecEnv([make(i) for i in range(hp.n_envs)])
    venv.seed(seed)
    recorder = SegmentRecorder(venv)
    venv = recorder if reward_fn is None else LearnedRewardVecEnv(recorder, reward_fn)
    normalized = VecNormalize(venv, norm_obs=hp.normalize_obs, norm_reward=hp.normalize_reward, gamma=hp.gamma)
    return normalized, recorder
