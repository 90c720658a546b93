"""The one place where the env stack is built, so its order is visible at a glance."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

import prefrl.envs  # noqa: F401  (registers prefrl/* ids)
from prefrl.learning.reward_model import RewardFn
from prefrl.rl.hyperparams import PPOHyperparams
from prefrl.rl.learned_reward import LearnedRewardVecEnv
from prefrl.rl.recorder import SegmentRecorder


class SequentialVecEnv(DummyVecEnv):
    """SB3's ``DummyVecEnv`` without its per-step ``deepcopy`` of the info dicts.

    The copy guards against an env that hands out the same dict twice; prefrl's tasks build a new one every step
    (``FixedHorizon``), and copying their ``qpos`` / ``qvel`` arrays cost about a tenth of a rollout's time.
    """

    def step_wait(self) -> VecEnvStepReturn:
        for i, env in enumerate(self.envs):
            obs, self.buf_rews[i], terminated, truncated, info = env.step(self.actions[i])
            self.buf_dones[i] = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                info["terminal_observation"] = obs  # as DummyVecEnv: keep the last observation, then reset
                obs, self.reset_infos[i] = env.reset()
            self.buf_infos[i] = info
            self._save_obs(i, obs)
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), list(self.buf_infos)


def make_vec_env(
    env_id: str, hp: PPOHyperparams, seed: int, reward_fn: RewardFn | None
) -> tuple[VecNormalize, SegmentRecorder]:
    """Build, bottom to top:

    1. ``hp.n_envs`` copies of the task, each in a ``Monitor`` (logs the *true* episode return);
    2. ``SequentialVecEnv`` (they step one after the other in this process);
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

    venv: VecEnv = SequentialVecEnv([make(i) for i in range(hp.n_envs)])
    venv.seed(seed)
    recorder = SegmentRecorder(venv)
    venv = recorder if reward_fn is None else LearnedRewardVecEnv(recorder, reward_fn)
    normalized = VecNormalize(venv, norm_obs=hp.normalize_obs, norm_reward=hp.normalize_reward, gamma=hp.gamma)
    return normalized, recorder
