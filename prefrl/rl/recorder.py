"""``SegmentRecorder``: keeps what each env did, step by step, so clips can be cut from it later."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from prefrl.segment import Segment


class SegmentRecorder(VecEnvWrapper):
    """Records observations, actions, true rewards and simulator states of every step; passes all through.

    It must sit directly above the envs' ``Monitor`` (below any reward-changing wrapper), so the rewards it
    records are the true ones. The envs must put ``qpos`` and ``qvel`` in ``info`` (prefrl's tasks do).
    Completed episodes are collected with ``pop_episodes``.

    Args:
        venv: The vectorised envs.
    """

    def __init__(self, venv: VecEnv):
        super().__init__(venv)
        self.timestep = 0  # env steps taken by all envs together
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._steps: list[list[tuple]] = [[] for _ in range(self.num_envs)]
        self._starts = [0] * self.num_envs
        self._done: list[Segment] = []

    def reset(self) -> VecEnvObs:
        self._obs = np.asarray(self.venv.reset())
        self._steps = [[] for _ in range(self.num_envs)]
        self._starts = [self.timestep] * self.num_envs
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        assert self._obs is not None and self._actions is not None, "step before reset"
        for i, info in enumerate(infos):
            self._steps[i].append((self._obs[i], self._actions[i], rewards[i], info["qpos"], info["qvel"]))
            if dones[i]:
                self._done.append(self._episode(i))
                self._steps[i] = []
                self._starts[i] = self.timestep + self.num_envs
        self.timestep += self.num_envs
        self._obs = np.asarray(obs)
        return obs, rewards, dones, infos

    def _episode(self, i: int) -> Segment:
        obs, actions, rewards, qpos, qvel = (np.array(column) for column in zip(*self._steps[i]))
        return Segment(obs, actions, rewards.astype(np.float64), qpos, qvel, timestep=self._starts[i])

    def state(self) -> dict:
        """What it holds of the episodes under way (a checkpoint's, to continue exactly where it stopped)."""
        columns = [tuple(np.array(c) for c in zip(*steps)) if steps else () for steps in self._steps]  # compact
        return {"timestep": self.timestep, "obs": self._obs, "steps": columns, "starts": list(self._starts)}

    def set_state(self, state: dict) -> None:
        """Continue from ``state()``'s (the envs below must be put back in the same state)."""
        self.timestep, self._obs, self._starts = state["timestep"], state["obs"], list(state["starts"])
        self._steps = [list(zip(*columns)) for columns in state["steps"]]
        self._done = []

    def pop_episodes(self) -> list[Segment]:
        """Episodes completed since the last call, each as one ``Segment``."""
        done, self._done = self._done, []
        return done
