"""How high the Hopper's body and leg are, from its ``qpos``, in numpy (no simulator needed).

The Hopper is a planar chain like the Half-Cheetah (see ``cheetah_kinematics``), with two differences that
matter: its thigh, leg and foot hinges turn about -y (opposite to the torso's ``rooty``), and the leg and foot
hinges sit away from their body's origin, so each turns its body about that pivot. The constants are gymnasium's
``hopper.xml`` (v5); ``tests/test_behaviours.py`` checks them against MuJoCo's own kinematics. ``rootz`` has
``ref=1.25`` at the torso's height of 1.25, so ``qpos[1]`` is the torso's height above the floor.
"""

from __future__ import annotations

import numpy as np

from prefrl.behaviours.planar import rotate_about_y

HOPPER_NQ = 6  # rootx, rootz, rooty, thigh, leg, foot

# body: (parent, position in the parent's frame (x, z), hinge pivot in the body's frame (x, z), qpos index,
# the hinge's turn about +y per unit of qpos: -1 for axis "0 -1 0")
_BODIES: dict[str, tuple[str, tuple[float, float], tuple[float, float], int, float]] = {
    "thigh": ("torso", (0.0, -0.2), (0.0, 0.0), 3, -1.0),
    "leg": ("thigh", (0.0, -0.7), (0.0, 0.25), 4, -1.0),
    "foot": ("leg", (0.13, -0.35), (-0.13, 0.1), 5, -1.0),
}
# geom: (body, the two ends of the capsule's axis in the body's frame (x, z), radius)
_GEOMS: dict[str, tuple[str, tuple[tuple[float, float], ...], float]] = {
    "torso": ("torso", ((0.0, 0.2), (0.0, -0.2)), 0.05),
    "thigh": ("thigh", ((0.0, 0.0), (0.0, -0.45)), 0.05),
    "leg": ("leg", ((0.0, 0.25), (0.0, -0.25)), 0.04),
    "foot": ("foot", ((-0.26, 0.1), (0.13, 0.1)), 0.06),  # its quat lays the capsule along x
}


def geom_lowest_points(qpos: np.ndarray) -> dict[str, np.ndarray]:
    """Height above the floor (m) of each geom's lowest surface point, ``[T]`` per geom, for ``qpos [T, 6]``."""
    qpos = np.atleast_2d(np.asarray(qpos, dtype=np.float64))
    if qpos.ndim != 2 or qpos.shape[1] != HOPPER_NQ:
        raise ValueError(f"Hopper states have {HOPPER_NQ} positions per row, got shape {qpos.shape}")
    frames = {"torso": (qpos[:, 0], qpos[:, 1], qpos[:, 2])}  # body: (x, z, angle about +y) in the world
    for body, (parent, (px, pz), (jx, jz), joint, sign) in _BODIES.items():
        x0, z0, a0 = frames[parent]
        angle = a0 + sign * qpos[:, joint]
        hx, hz = rotate_about_y(a0, px + jx, pz + jz)  # the hinge's pivot, which the turn leaves in place
        bx, bz = rotate_about_y(angle, jx, jz)
        frames[body] = (x0 + hx - bx, z0 + hz - bz, angle)
    lowest = {}
    for geom, (body, ends, radius) in _GEOMS.items():
        _, z0, angle = frames[body]
        lowest[geom] = np.min([z0 + rotate_about_y(angle, ex, ez)[1] for ex, ez in ends], axis=0) - radius
    return lowest


def lowest_point(qpos: np.ndarray) -> np.ndarray:
    """Height of the whole body's lowest point above the floor, ``[T]``: its clearance."""
    return np.min(list(geom_lowest_points(qpos).values()), axis=0)
