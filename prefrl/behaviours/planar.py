"""Planar rigid-body geometry shared by the Hopper's and the Half-Cheetah's kinematics."""

from __future__ import annotations

import numpy as np


def rotate_about_y(angle: np.ndarray, x: float | np.ndarray, z: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point of a frame turned by ``angle`` about +y, in its parent's frame (MuJoCo's convention)."""
    c, s = np.cos(angle), np.sin(angle)
    return c * x + s * z, -s * x + c * z
