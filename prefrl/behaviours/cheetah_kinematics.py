"""How high the Half-Cheetah's legs and body are, from its ``qpos``, in numpy (no simulator needed).

The Half-Cheetah is a planar chain: every joint turns about the y axis, so forward kinematics is a sum of 2-D
rotations. The constants below are gymnasium's ``half_cheetah.xml`` (v5); ``tests/test_behaviours.py`` checks
them against MuJoCo's own kinematics. The scripted one-leg teacher judges clips with this, the way a person
looks at a clip; the objective metric uses the simulator's contacts instead.
"""

from __future__ import annotations

import numpy as np

from prefrl.behaviours.planar import rotate_about_y

CHEETAH_NQ = 9  # rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot
TORSO_HEIGHT = 0.7  # the torso body's z at qpos[1] == 0
RADIUS = 0.046  # every capsule's radius

# body: (parent, position in the parent's frame (x, z), qpos index of its hinge)
_BODIES: dict[str, tuple[str | None, tuple[float, float], int]] = {
    "torso": (None, (0.0, 0.0), 2),
    "bthigh": ("torso", (-0.5, 0.0), 3),
    "bshin": ("bthigh", (0.16, -0.25), 4),
    "bfoot": ("bshin", (-0.28, -0.14), 5),
    "fthigh": ("torso", (0.5, 0.0), 6),
    "fshin": ("fthigh", (-0.14, -0.24), 7),
    "ffoot": ("fshin", (0.13, -0.18), 8),
}
# geom: (body, the two ends of the capsule's axis in the body's frame)


def _capsule(pos: tuple[float, float], angle: float, half_length: float) -> tuple[tuple[float, float], ...]:
    dx, dz = half_length * np.sin(angle), half_length * np.cos(angle)
    return (pos[0] + dx, pos[1] + dz), (pos[0] - dx, pos[1] - dz)


_GEOMS: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "torso": ("torso", ((-0.5, 0.0), (0.5, 0.0))),
    "head": ("torso", _capsule((0.6, 0.1), 0.87, 0.15)),
    "bthigh": ("bthigh", _capsule((0.1, -0.13), -3.8, 0.145)),
    "bshin": ("bshin", _capsule((-0.14, -0.07), -2.03, 0.15)),
    "bfoot": ("bfoot", _capsule((0.03, -0.097), -0.27, 0.094)),
    "fthigh": ("fthigh", _capsule((-0.07, -0.12), 0.52, 0.133)),
    "fshin": ("fshin", _capsule((0.065, -0.09), -0.6, 0.106)),
    "ffoot": ("ffoot", _capsule((0.045, -0.07), -0.6, 0.07)),
}
PARTS = {"back": ("bthigh", "bshin", "bfoot"), "front": ("fthigh", "fshin", "ffoot"), "body": ("torso", "head")}
"""The geoms of each part whose contact with the ground matters."""


def geom_lowest_points(qpos: np.ndarray) -> dict[str, np.ndarray]:
    """Height above the floor (m) of each geom's lowest surface point, ``[T]`` per geom, for ``qpos [T, 9]``."""
    qpos = np.atleast_2d(np.asarray(qpos, dtype=np.float64))
    if qpos.shape[1] != CHEETAH_NQ:
        raise ValueError(f"Half-Cheetah states have {CHEETAH_NQ} positions per row, got shape {qpos.shape}")
    frames: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # body: (x, z, angle) in the world
    for body, (parent, (px, pz), joint) in _BODIES.items():
        if parent is None:
            frames[body] = (qpos[:, 0], TORSO_HEIGHT + qpos[:, 1], qpos[:, joint])
        else:
            x0, z0, a0 = frames[parent]
            dx, dz = rotate_about_y(a0, px, pz)
            frames[body] = (x0 + dx, z0 + dz, a0 + qpos[:, joint])
    lowest = {}
    for geom, (body, ends) in _GEOMS.items():
        x0, z0, angle = frames[body]
        lowest[geom] = np.min([z0 + rotate_about_y(angle, ex, ez)[1] for ex, ez in ends], axis=0) - RADIUS
    return lowest


def part_heights(qpos: np.ndarray) -> dict[str, np.ndarray]:
    """Height of the lowest point of the back leg, the front leg and the body (``PARTS``), ``[T]`` each."""
    lowest = geom_lowest_points(qpos)
    return {part: np.min([lowest[g] for g in geoms], axis=0) for part, geoms in PARTS.items()}
