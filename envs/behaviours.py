"""Bodies for the novel behaviours of Christiano et al. (2017), section 3.2, which no reward function describes.

``prefrl/HopperBackflip-v0`` uses ``HopperBackflipEnv`` below. ``prefrl/HalfCheetahOneLeg-v0`` needs no change
to the Half-Cheetah: it is the ``half_cheetah`` model of ``prefrl/HalfCheetah-v0`` with its own instruction and
teacher.

The Hopper's body (``hopper.xml``: joint ranges, gears, masses) is gymnasium's v5 one, unchanged; the paper's
Hopper flipped with the standard body. What changes, each kept minimal:

* ``frame_skip`` 8 instead of 4 (dt 0.016 s): a clip of the paper's 60-step maximum then lasts 0.96 s, long
  enough to see most of a flip (0.48 s at the v5 rate shows only a fragment of one), and an episode of 1000
  steps lasts 16 s, time for several flips;
* the observation holds ``cos`` and ``sin`` of the torso pitch instead of the raw angle, which MuJoCo doesn't
  wrap: after a few flips the raw angle would sit far outside anything the policy had seen, although the
  body is in the same pose;
* ``is_healthy`` (reported as ``info["fallen"]``) ignores the pitch, since a flip is meant to turn the body:
  the Hopper has fallen when its torso centre is below the v5 healthy height of 0.7 m;
* the reward is the number of backflips completed at this step (``prefrl.behaviours.metrics.BackflipCounter``),
  so the logged true return is the flip count of the episode. The agent never sees it when it learns from
  preferences (the scripted teacher judges states, not this reward); with ``--true-reward`` it is the sparse
  baseline "reward = flips".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.spaces import Box

from prefrl.behaviours.hopper_kinematics import lowest_point
from prefrl.behaviours.metrics import BackflipCounter

BACKFLIP_FRAME_SKIP = 8


class HopperBackflipEnv(HopperEnv):
    """Gymnasium's v5 Hopper for learning backflips (see the module docstring for what differs).

    Observation (12): torso height, ``cos`` and ``sin`` of the torso pitch, the three joint angles, then the six
    velocities (clipped to +-10 as in v5). ``info`` adds ``backflips`` (completed so far this episode).
    """

    def __init__(self, frame_skip: int = BACKFLIP_FRAME_SKIP, **kwargs: Any):
        defaults = {
            "forward_reward_weight": 0.0,
            "ctrl_cost_weight": 0.0,
            "healthy_reward": 0.0,
            "terminate_when_unhealthy": False,
        }
        super().__init__(frame_skip=frame_skip, **{**defaults, **kwargs})
        self._pitch_index = 1 if self._exclude_current_positions_from_observation else 2
        size = self.observation_space.shape[0] + 1  # type: ignore[index]  # a Box: its shape is known
        self.observation_space = Box(low=-np.inf, high=np.inf, shape=(size,), dtype=np.float64)
        self.flips = BackflipCounter(dt=self.dt)

    @property
    def is_healthy(self) -> bool:
        low, high = self._healthy_state_range
        state = self.state_vector()
        in_range = bool(np.all((low < state[3:]) & (state[3:] < high)))  # joints and velocities; not the pitch
        return bool(self.data.qpos[1] >= self._healthy_z_range[0]) and in_range

    def _get_obs(self) -> np.ndarray:
        obs = super()._get_obs()
        i = self._pitch_index
        pitch = obs[i]
        return np.concatenate([obs[:i], [np.cos(pitch), np.sin(pitch)], obs[i + 1 :]])

    def reset_model(self) -> np.ndarray:
        obs = super().reset_model()
        self.flips.reset(self.data.qpos[2])
        return obs

    def step(self, action: np.ndarray):
        obs, _, terminated, truncated, info = super().step(action)
        qpos = self.data.qpos
        flips = self.flips.update(qpos[2], qpos[1], float(lowest_point(qpos)[0]))
        info = {**info, "reward_backflip": float(flips), "backflips": self.flips.total}
        return obs, float(flips), terminated, truncated, info
