"""Objective measures of a locomotion gait, from simulator states: healthy fraction, forward speed, hops.

A return can rise while the body does the wrong thing (a Hopper lying down and sliding forward earns more per
step on ``prefrl/Hopper-v0`` than one standing still). These measures say what the body did:

* **healthy fraction**: steps whose state is within gymnasium's v5 healthy range for that body (the same test
  as the model's ``is_healthy``, which ends a standard episode);
* **forward speed**: mean x velocity of the torso over the episode (m/s);
* **hops** (Hopper): flight phases, each a takeoff after which the whole body stays off the floor for at least
  ``MIN_FLIGHT_SECONDS``.

>>> import numpy as np
>>> standing = np.tile([0.0, 1.25, 0.0, 0.0, 0.0, 0.0], (10, 1))
>>> healthy_fraction("hopper", standing, np.zeros((10, 6)))
1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from prefrl.behaviours.hopper_kinematics import lowest_point
from prefrl.behaviours.metrics import forward_speed


@dataclass(frozen=True)
class HealthyRange:
    """Gymnasium v5's healthy range of a body (``is_healthy``).

    Attributes:
        height_index: Index of the torso height in ``qpos``.
        height: Open interval of healthy torso heights.
        angle_index: Index of the torso pitch in ``qpos`` (``None``: not checked).
        angle: Open interval of healthy pitches.
        state_limit: ``|qpos[2:]|`` and ``|qvel|`` must stay below this (Hopper; ``None``: not checked).
        closed: The height interval includes its ends (the Ant's does).
        quaternion_index: Where the torso's orientation (w, x, y, z) starts in ``qpos``: the torso must not be
            upside down (``None``: not checked; prefrl's upright Ant).
        wrap_angle: The pitch is a free hinge that keeps counting past a full turn (the Half-Cheetah's): it is
            measured within (-pi, pi] first, so a body that turned over once and back up is upright again.
    """

    height_index: int
    height: tuple[float, float]
    angle_index: int | None = None
    angle: tuple[float, float] = (-math.inf, math.inf)
    state_limit: float | None = None
    closed: bool = False
    quaternion_index: int | None = None
    wrap_angle: bool = False

    def _pitch(self, qpos: np.ndarray) -> np.ndarray:
        angle = qpos[:, self.angle_index]
        return (angle + math.pi) % (2 * math.pi) - math.pi if self.wrap_angle else angle

    def distance(self, qpos: np.ndarray) -> np.ndarray:
        """How far each state ``qpos [T, nq]`` is outside the healthy height and pitch (and, with a quaternion,
        how far the torso's up axis points down): 0 inside the range, ``[T]``. The v1 tasks pay its negative for
        a fallen step, so that getting up is progress even while fallen."""
        qpos = np.atleast_2d(qpos)
        z = qpos[:, self.height_index]
        low, high = self.height
        outside = np.maximum(0.0, low - z) + np.maximum(0.0, z - high)
        if self.angle_index is not None:
            angle = self._pitch(qpos)
            outside += np.maximum(0.0, self.angle[0] - angle) + np.maximum(0.0, angle - self.angle[1])
        if self.quaternion_index is not None:
            x, y = qpos[:, self.quaternion_index + 1], qpos[:, self.quaternion_index + 2]
            outside += np.maximum(0.0, -(1 - 2 * (x * x + y * y)))  # the up axis's downward part
        return outside

    def distance_of(self, qpos: np.ndarray) -> float:
        """``distance`` of one state ``qpos [nq]``, in plain floats: the same number in a ninth of the time
        (0.65 us against 5.9; a v1 task asks it on every fallen step)."""
        z = float(qpos[self.height_index])
        low, high = self.height
        outside = max(0.0, low - z) + max(0.0, z - high)
        if self.angle_index is not None:
            angle = float(qpos[self.angle_index])
            if self.wrap_angle:
                angle = (angle + math.pi) % (2 * math.pi) - math.pi
            outside += max(0.0, self.angle[0] - angle) + max(0.0, angle - self.angle[1])
        if self.quaternion_index is not None:
            x, y = float(qpos[self.quaternion_index + 1]), float(qpos[self.quaternion_index + 2])
            outside += max(0.0, -(1 - 2 * (x * x + y * y)))
        return outside

    def healthy(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Which states ``qpos [T, nq]``, ``qvel [T, nv]`` are healthy: ``[T]`` bool."""
        qpos, qvel = np.atleast_2d(qpos), np.atleast_2d(qvel)
        z = qpos[:, self.height_index]
        low, high = self.height
        within = ((low <= z) & (z <= high)) if self.closed else ((low < z) & (z < high))
        ok = within & np.isfinite(qpos).all(1) & np.isfinite(qvel).all(1)
        if self.angle_index is not None:
            angle = self._pitch(qpos)
            ok &= (self.angle[0] < angle) & (angle < self.angle[1])
        if self.state_limit is not None:
            state = np.concatenate([qpos[:, 2:], qvel], axis=1)
            ok &= (np.abs(state) < self.state_limit).all(1)
        if self.quaternion_index is not None:
            x, y = qpos[:, self.quaternion_index + 1], qpos[:, self.quaternion_index + 2]
            ok &= 1 - 2 * (x * x + y * y) > 0
        return ok


HEALTHY_RANGES = {
    "hopper": HealthyRange(1, (0.7, math.inf), 2, (-0.2, 0.2), 100.0),
    "walker2d": HealthyRange(1, (0.8, 2.0), 2, (-1.0, 1.0)),
    "ant": HealthyRange(2, (0.2, 1.0), closed=True),
    "ant_upright": HealthyRange(2, (0.2, 1.0), closed=True, quaternion_index=3),
    # v5's Half-Cheetah has no healthy range; prefrl's upright one is fallen once its torso pitches past vertical
    # (on its back, or standing on its head), whatever its height.
    "half_cheetah_upright": HealthyRange(1, (-math.inf, math.inf), 2, (-math.pi / 2, math.pi / 2), wrap_angle=True),
}
"""The bodies whose healthy range prefrl measures, by MuJoCo model name (gymnasium v5's defaults)."""

MIN_FLIGHT_SECONDS = 0.04
"""A hop's flight lasts at least this long (5 Hopper steps), so a foot skimming the floor is no hop."""
FLIGHT_CLEARANCE = 0.01
"""The body is in flight when its lowest point is this high (m) above the floor."""


def healthy_fraction(body: str, qpos: np.ndarray, qvel: np.ndarray) -> float:
    """Fraction of the states of ``body`` (a key of ``HEALTHY_RANGES``) that are healthy."""
    if body not in HEALTHY_RANGES:
        raise ValueError(f"no healthy range for {body!r}; prefrl knows {', '.join(HEALTHY_RANGES)}")
    return float(HEALTHY_RANGES[body].healthy(qpos, qvel).mean())


def count_hops(qpos: np.ndarray, dt: float) -> int:
    """Flight phases of a Hopper state sequence ``qpos [T, 6]``: takeoffs followed by ``MIN_FLIGHT_SECONDS`` or
    more with the whole body off the floor (a body that starts in the air has not taken off)."""
    airborne = lowest_point(np.asarray(qpos, dtype=np.float64)) > FLIGHT_CLEARANCE
    min_steps = max(1, round(MIN_FLIGHT_SECONDS / dt))
    hops, run, touched = 0, 0, False
    for up in airborne:
        if up:
            run += 1
            if run == min_steps and touched:
                hops += 1
        else:
            run, touched = 0, True
    return hops


def gait(body: str, qpos: np.ndarray, qvel: np.ndarray, dt: float) -> dict[str, float]:
    """The gait measures of one episode of ``body``: ``healthy_fraction``, ``forward_speed`` and, for the
    Hopper, ``hops`` (also per second of the episode, ``hops_per_second``)."""
    measures = {"healthy_fraction": healthy_fraction(body, qpos, qvel), "forward_speed": forward_speed(qpos, dt)}
    if body == "hopper":
        hops = count_hops(qpos, dt)
        measures |= {"hops": float(hops), "hops_per_second": hops / ((len(qpos) - 1) * dt)}
    return measures
