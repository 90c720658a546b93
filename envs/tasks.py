"""The paper-style MuJoCo tasks: gymnasium's v5 models with a fixed horizon and no control penalty.

``make_task`` is the entry point registered for every ``prefrl/<Task>-v0`` id (see ``prefrl.envs``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.inverted_double_pendulum_v5 import InvertedDoublePendulumEnv
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv
from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

from prefrl.behaviours.gait import HEALTHY_RANGES, HealthyRange
from prefrl.envs.behaviours import HopperBackflipEnv


class HealthOncePerStep(MujocoEnv):
    """Evaluates ``is_healthy`` once per simulator state instead of three times per step.

    A v5 locomotion step asks it for the healthy bonus and again for termination, and ``FixedHorizon`` asks a
    third time for ``info["fallen"]``; on the Hopper that was a quarter of a wrapped env step under cProfile. The
    answer is kept until the state changes: every change goes through ``do_simulation`` (a step) or ``set_state``
    (a reset, a stand-up, a rendered clip), which drop it. Same rewards, observations and flags, bit for bit.
    """

    _healthy: bool | None = None

    @property
    def is_healthy(self) -> bool:
        if self._healthy is None:
            self._healthy = self._check_healthy()
        return self._healthy

    def _check_healthy(self) -> bool:
        return bool(super().is_healthy)  # type: ignore[misc]  # the model's own test

    def do_simulation(self, ctrl, n_frames) -> None:
        self._healthy = None
        super().do_simulation(ctrl, n_frames)

    def set_state(self, qpos, qvel) -> None:
        self._healthy = None
        super().set_state(qpos, qvel)


class Hopper(HealthOncePerStep, HopperEnv):
    """Gymnasium's v5 Hopper (``is_healthy`` once per step, by four array reductions where v5 builds the state
    vector and compares it elementwise: the same answer, NaN included, in about half the time)."""

    def _check_healthy(self) -> bool:
        qpos, qvel = self.data.qpos, self.data.qvel
        low, high = self._healthy_state_range
        joints = qpos[2:]  # a NaN makes its reductions NaN, and every comparison with it false, as in v5
        if not (low < joints.min() and joints.max() < high and low < qvel.min() and qvel.max() < high):
            return False
        (min_z, max_z), (min_angle, max_angle) = self._healthy_z_range, self._healthy_angle_range
        return bool(min_z < qpos[1] < max_z and min_angle < qpos[2] < max_angle)


class Walker2d(HealthOncePerStep, Walker2dEnv):
    """Gymnasium's v5 Walker2d (``is_healthy`` once per step)."""


class Ant(HealthOncePerStep, AntEnv):
    """Gymnasium's v5 Ant (``is_healthy`` once per step)."""


class UprightAnt(HealthOncePerStep, AntEnv):
    """Gymnasium's v5 Ant, unhealthy also while its torso is upside down.

    v5 checks only the torso's height, which an Ant lying on its back keeps within the healthy range; the v1 task
    (``prefrl/Ant-v1``) charges a fallen step, so it must see that fall.
    """

    @property
    def is_healthy(self) -> bool:
        _, x, y, _ = self.data.qpos[3:7]  # the torso's orientation (w, x, y, z)
        return bool(super().is_healthy and 1 - 2 * (x * x + y * y) > 0)  # its up axis points up


class UprightHalfCheetah(HealthOncePerStep, HalfCheetahEnv):
    """Gymnasium's v5 Half-Cheetah, unhealthy while its torso is pitched past vertical (on its back).

    v5 has no healthy range: a cheetah that flipped onto its back and pushes itself along on it earns the same as
    one running on its feet (observed with PPO on ``prefrl/HalfCheetah-v0``). The v1 task charges a flipped step.
    """

    @property
    def is_healthy(self) -> bool:
        return bool(HEALTHY_RANGES["half_cheetah_upright"].healthy(self.data.qpos, self.data.qvel)[0])


# Constructor arguments that turn each v5 model into the paper's version: no control penalty and, where the
# model has one, no termination when unhealthy (it loses its healthy bonus instead). The two pendulums have no
# such switch; FixedHorizon ignores their termination, and their rewards already pay nothing once fallen.
MODELS: dict[str, tuple[type[MujocoEnv], dict[str, Any]]] = {
    "hopper": (Hopper, {"ctrl_cost_weight": 0.0, "terminate_when_unhealthy": False}),
    "walker2d": (Walker2d, {"ctrl_cost_weight": 0.0, "terminate_when_unhealthy": False}),
    "swimmer": (SwimmerEnv, {"ctrl_cost_weight": 0.0}),
    "half_cheetah": (HalfCheetahEnv, {"ctrl_cost_weight": 0.0}),
    "half_cheetah_upright": (UprightHalfCheetah, {"ctrl_cost_weight": 0.0}),
    "ant": (Ant, {"ctrl_cost_weight": 0.0, "terminate_when_unhealthy": False}),
    "ant_upright": (UprightAnt, {"ctrl_cost_weight": 0.0, "terminate_when_unhealthy": False}),
    "reacher": (ReacherEnv, {"reward_control_weight": 0.0}),
    "inverted_pendulum": (InvertedPendulumEnv, {}),
    "inverted_double_pendulum": (InvertedDoublePendulumEnv, {}),
    # Novel behaviours (paper section 3.2); see envs/behaviours.py. No control penalty and no termination
    # either; the reward counts completed backflips, for logging only.
    "hopper_backflip": (HopperBackflipEnv, {}),
}

PLACE = {"ant": 2, "ant_upright": 2}
"""Models whose stand-up (``FixedHorizon``'s ``place``) keeps their place on the floor: x and y of the Ant."""


class FixedHorizon(gym.Wrapper):
    """Never terminates early, and reports the simulator state of every step in ``info``.

    ``info["qpos"]`` and ``info["qvel"]`` are the state *after* the step (after the reset for ``reset``), so a
    sequence of them is enough to re-render a clip. ``info["fallen"]`` tells whether the body is unhealthy here
    (the v5 model's ``is_healthy``, or its termination condition for the pendulums).

    Args:
        env: The MuJoCo env.
        fall_penalty: The healthy range whose distance a fallen step pays, negated, whatever the model pays
            (``None``: the model's own reward). The v1 tasks use it: a fallen body earns less than one standing
            still, however fast it slides, and more the nearer it is to standing. The model's reward is kept in
            ``info["model_reward"]``.
        stand_up_after: After this many fallen steps in a row, stand the body up again (the model's start pose
            and reset noise; ``info["stood_up"]``) and go on with the episode, as the paper reset an Atari game on
            a life loss (``None``: never).
        place: How many leading ``qpos`` entries a stand-up keeps: the body's place on the floor, where that is
            progress (2, x and y, for the Ant: it is stood up where it lies); 0: a fresh start (a cart's position
            on its rail is no progress, and keeping it let a policy park the cart at the rail's end).
        soft_edge: With ``fall_penalty``: over the first ``soft_edge`` of distance outside the healthy range, a
            fallen step pays a blend of what it would pay healthy (the model's reward with its healthy bonus) and
            the penalty, linear in the distance, so the reward has no cliff at the range's edge; beyond it, the
            penalty alone (``None``: the penalty from the edge on).
    """

    def __init__(
        self,
        env: gym.Env,
        fall_penalty: HealthyRange | None = None,
        stand_up_after: int | None = None,
        soft_edge: float | None = None,
        place: int = 0,
    ):
        super().__init__(env)
        if stand_up_after is not None and stand_up_after < 1:
            raise ValueError(f"stand_up_after must be a positive number of steps, got {stand_up_after}")
        if soft_edge is not None and not (fall_penalty is not None and soft_edge > 0):
            raise ValueError(f"soft_edge needs a fall penalty and a positive width, got {soft_edge}")
        self.fall_penalty = fall_penalty
        self.stand_up_after = stand_up_after
        self.soft_edge = soft_edge
        self.place = place
        self._healthy_bonus = float(getattr(env.unwrapped, "_healthy_reward", 0.0))  # what a healthy step adds
        self._fallen_for = 0  # fallen steps in a row

    def _state(self) -> dict[str, np.ndarray]:
        data = self.env.unwrapped.data  # type: ignore[attr-defined]
        return {"qpos": data.qpos.copy(), "qvel": data.qvel.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._fallen_for = 0
        return obs, {**info, **self._state()}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        fallen = bool(terminated or not getattr(self.env.unwrapped, "is_healthy", True))
        info = {**info, **self._state(), "fallen": fallen}
        if self.fall_penalty is not None:
            info["model_reward"] = float(reward)
            if fallen:
                distance = self.fall_penalty.distance_of(info["qpos"])
                penalty = -distance
                if self.soft_edge is not None and distance < self.soft_edge:  # 0: on the edge, or too fast
                    kept = 1 - distance / self.soft_edge  # of the healthy step's reward
                    penalty = kept * (float(reward) + self._healthy_bonus) + (1 - kept) * penalty
                reward = penalty
        if self.stand_up_after is not None:
            self._fallen_for = self._fallen_for + 1 if fallen else 0
            if self._fallen_for >= self.stand_up_after:
                obs = self._stand_up()
                info |= {**self._state(), "stood_up": True}
        return obs, float(reward), False, truncated, info

    def _stand_up(self) -> np.ndarray:
        """A fresh start pose (the model's reset noise), its first ``place`` coordinates kept from now."""
        sim = self.env.unwrapped
        place = sim.data.qpos[: self.place].copy()  # type: ignore[attr-defined]
        sim.reset_model()  # type: ignore[attr-defined]
        qpos, qvel = sim.data.qpos.copy(), sim.data.qvel.copy()  # type: ignore[attr-defined]
        qpos[: self.place] = place
        sim.set_state(qpos, qvel)  # type: ignore[attr-defined]
        self._fallen_for = 0
        return sim._get_obs()  # type: ignore[attr-defined]


def make_task(
    model: str,
    fall_penalty: bool = False,
    stand_up_after: int | None = None,
    soft_edge: float | None = None,
    **kwargs: Any,
) -> gym.Env:
    """Build one paper-style task; ``kwargs`` (e.g. ``render_mode``, reward weights) override the defaults.

    ``fall_penalty``: a fallen step pays minus its distance from the body's healthy range (the v1 tasks; see
    ``FixedHorizon``, also for ``stand_up_after`` and ``soft_edge``).
    """
    if model not in MODELS:
        raise ValueError(f"unknown MuJoCo model {model!r}; choose one of {sorted(MODELS)}")
    cls, defaults = MODELS[model]
    return FixedHorizon(
        cls(**{**defaults, **kwargs}),
        HEALTHY_RANGES[model] if fall_penalty else None,
        stand_up_after=stand_up_after,
        soft_edge=soft_edge,
        place=PLACE.get(model, 0),
    )
