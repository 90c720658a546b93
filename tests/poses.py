"""Hand-built state sequences of the Hopper and the Half-Cheetah, shared by the behaviour and teacher tests."""

import math

import numpy as np

from prefrl.behaviours.hopper_kinematics import lowest_point
from prefrl.preference import Query
from prefrl.segment import Segment

DT = 0.016  # prefrl/HopperBackflip-v0


TURN = 2 * math.pi


def hopper(pitch, height):
    """Hopper states ``[T, 6]`` with the given torso pitch and height (x and joints 0)."""
    pitch, height = np.broadcast_arrays(np.asarray(pitch, float), np.asarray(height, float))
    qpos = np.zeros((len(pitch), 6))
    qpos[:, 1], qpos[:, 2] = height, pitch
    return qpos


def stand(steps=20, pitch=0.0):
    return hopper(np.full(steps, pitch), 1.25)


def flip(turns=1.0, steps=40, start=0.0, land_height=1.25):
    """A jump turning ``turns`` backwards (pitch decreasing) at ~10 rad/s, torso up to 2 m; ends at land_height."""
    s = np.linspace(0, 1, steps)
    height = 1.25 + 3 * s * (1 - s) + (land_height - 1.25) * s
    return hopper(start - turns * TURN * s, height)


def fall(to_pitch=-math.pi / 2, steps=30):
    s = np.linspace(0, 1, steps)
    return hopper(to_pitch * s, 1.25 - 1.1 * s)


def seq(*parts):
    return np.concatenate(parts)


# Cheetah poses: back foot on the ground and front leg lifted; both feet down; front foot down, back leg lifted.
FRONT_UP = np.array([0, -0.0764, 0, 0, 0, 0, -0.9, -1.0, 0])


BOTH_DOWN = np.array([0, -0.1062, 0, 0, 0, 0, 0, 0, 0])


BACK_UP = np.array([0, -0.1062, 0, 0.9, 0.7, 0, 0, 0, 0])


def cheetah_clip(poses, speed, dt=0.05):
    qpos = np.array(poses, dtype=float)
    qpos[:, 0] = speed * dt * np.arange(len(qpos))
    n = len(qpos)
    return Segment(np.zeros((n, 17)), np.zeros((n, 6)), np.zeros(n), qpos, np.zeros((n, 9)))


def hopper_clip(qpos):
    n = len(qpos)
    return Segment(np.zeros((n, 12)), np.zeros((n, 3)), np.zeros(n), qpos, np.zeros((n, 6)))


def judge(teacher, left, right):
    return teacher.judge(Query(0, left, right, timestep=0))


def on_floor(qpos):
    """The same poses lowered or raised so that the body's lowest point just touches the floor."""
    qpos = qpos.copy()
    qpos[:, 1] -= lowest_point(qpos)
    return qpos
