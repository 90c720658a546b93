"""``LearnedRewardVecEnv``: the agent sees r_hat instead of the task's reward."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from prefrl.learning.reward_model import RewardFn


class LearnedRewardVecEnv(VecEnvWrapper):
    """Replaces each step's reward by ``reward_fn(obs, action)``, with ``obs`` the observation acted on.

    The true reward is kept in ``info["true_reward"]``; the ``Monitor`` below this wrapper keeps logging the
    true episode return, so SB3's ``ep_rew_mean`` stays the true return.

    Args:
        venv: The vectorised envs (raw observations).
        reward_fn: The learned reward; it may change between steps (the reward model is retrained in place).
    """

    def __init__(self, venv: VecEnv, reward_fn: RewardFn):
        super().__init__(venv)
        self.reward_fn = reward_fn
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> VecEnvObs:
        self._obs = np.asarray(self.venv.reset())
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    @property
    def last_obs(self) -> np.ndarray | None:
        """The observation the next action will be taken on (a checkpoint keeps it)."""
        return self._obs

    @last_obs.setter
    def last_obs(self, obs: np.ndarray | None) -> None:
        self._obs = obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, true_rewards, dones, infos = self.venv.step_wait()
        assert self._obs is not None and self._actions is not None, "step before reset"
        rewards = self.reward_fn(self._obs, self._actions).astype(np.float32)
        for info, true_reward in zip(infos, true_rewards):
            info["true_reward"] = float(true_reward)
        self._obs = np.asarray(obs)
        return obs, rewards, dones, infos
