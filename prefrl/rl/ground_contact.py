"""Which parts of a body touch the ground, from stored ``qpos``, as the simulator's collision detection says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import gymnasium as gym
import mujoco
import numpy as np

import prefrl.envs  # noqa: F401  (registers prefrl/* ids)
from prefrl.behaviours.cheetah_kinematics import PARTS as CHEETAH_PARTS
from prefrl.teachers.registry import SCRIPTED_TASKS

FLOOR = "floor"


class GroundContacts:
    """Contacts of named groups of geoms with the floor, for a sequence of states.

    Positions are enough: for each state MuJoCo runs the position stage of its forward dynamics (kinematics and
    collision detection) on its own copy of the task's model; nothing is stepped.

    Args:
        env_id: A registered prefrl task.
        parts: Part name -> the geoms that belong to it (e.g. ``prefrl.behaviours.cheetah_kinematics.PARTS``).
        max_distance: A geom closer to the floor than this (m) touches it (MuJoCo reports contacts slightly
            before touch, within the geoms' margin; resting contacts have distance <= 0).
    """

    def __init__(self, env_id: str, parts: Mapping[str, Sequence[str]], max_distance: float = 0.0):
        env = gym.make(env_id)
        self.model: mujoco.MjModel = env.unwrapped.model  # type: ignore[attr-defined]
        env.close()
        self.data = mujoco.MjData(self.model)
        self.max_distance = max_distance
        self.floor = self.model.geom(FLOOR).id
        self.part_of_geom: dict[int, str] = {}
        for part, geoms in parts.items():
            for geom in geoms:
                self.part_of_geom[self.model.geom(geom).id] = part
        self.parts = list(parts)

    def __call__(self, qpos: np.ndarray) -> dict[str, np.ndarray]:
        """``[T]`` booleans per part: True where the part touches the floor in state ``qpos[t]``."""
        qpos = np.atleast_2d(qpos)
        touching = {part: np.zeros(len(qpos), dtype=bool) for part in self.parts}
        for t, q in enumerate(qpos):
            self.data.qpos[:] = q
            mujoco.mj_fwdPosition(self.model, self.data)
            for contact in self.data.contact[: self.data.ncon]:
                if contact.dist > self.max_distance or self.floor not in (contact.geom1, contact.geom2):
                    continue
                other = contact.geom2 if contact.geom1 == self.floor else contact.geom1
                part = self.part_of_geom.get(int(other))
                if part is not None:
                    touching[part][t] = True
        return touching


def cheetah_contacts(qpos: np.ndarray, env_id: str = SCRIPTED_TASKS["one-leg"]) -> dict[str, np.ndarray]:
    """Floor contacts of the Half-Cheetah's ``back`` leg, ``front`` leg and ``body`` for states ``qpos [T, 9]``."""
    return GroundContacts(env_id, CHEETAH_PARTS)(qpos)
