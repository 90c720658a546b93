"""The numpy forward kinematics of the Hopper and the Half-Cheetah, checked against MuJoCo."""

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from poses import BACK_UP, BOTH_DOWN, FRONT_UP

import prefrl.envs  # noqa: F401
from prefrl.behaviours.cheetah_kinematics import geom_lowest_points, part_heights
from prefrl.behaviours.hopper_kinematics import HOPPER_NQ
from prefrl.behaviours.hopper_kinematics import geom_lowest_points as hopper_lowest_points
from prefrl.behaviours.hopper_kinematics import lowest_point as hopper_lowest_point
from prefrl.rl.ground_contact import cheetah_contacts


def test_numpy_kinematics_match_mujoco():
    env = gym.make("prefrl/HalfCheetahOneLeg-v0")
    model = env.unwrapped.model
    env.close()
    data = mujoco.MjData(model)
    qpos = np.random.default_rng(0).uniform(-1, 1, size=(20, 9)) * [3, 0.3, 3, 1, 1, 1, 1, 1, 1]
    lowest = geom_lowest_points(qpos)
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for name, heights in lowest.items():
            g = model.geom(name).id
            radius, half = model.geom_size[g][:2]
            axis_z = data.geom_xmat[g].reshape(3, 3)[2, 2]
            expected = data.geom_xpos[g][2] - half * abs(axis_z) - radius
            assert heights[t] == pytest.approx(expected, abs=1e-9)


def test_hopper_kinematics_match_mujoco():
    env = gym.make("prefrl/HopperBackflip-v0")
    model = env.unwrapped.model
    env.close()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    n = 50
    qpos = np.column_stack(
        [
            rng.uniform(-2, 2, n),  # rootx
            rng.uniform(0.0, 2.5, n),  # rootz: the torso's height
            rng.uniform(-math.pi, math.pi, n),  # torso pitch over a full turn
            rng.uniform(-math.radians(150), 0, n),  # thigh
            rng.uniform(-math.radians(150), 0, n),  # leg
            rng.uniform(-math.radians(45), math.radians(45), n),  # foot
        ]
    )
    lowest = hopper_lowest_points(qpos)
    assert set(lowest) == {"torso", "thigh", "leg", "foot"}
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        assert data.xpos[model.body("torso").id][2] == pytest.approx(q[1], abs=1e-9)
        expected = []
        for name, heights in lowest.items():
            g = model.geom(f"{name}_geom").id
            radius, half = model.geom_size[g][:2]
            axis = data.geom_xmat[g].reshape(3, 3)[:, 2]  # the capsule's local z, in the world
            ends = data.geom_xpos[g] + np.outer([half, -half], axis)
            expected.append(ends[:, 2].min() - radius)
            assert heights[t] == pytest.approx(expected[-1], abs=1e-6)
        assert hopper_lowest_point(q)[0] == pytest.approx(min(expected), abs=1e-6)
    assert hopper_lowest_point(qpos).shape == (n,)


def test_hopper_kinematics_reject_other_shapes():
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_points(np.zeros((5, 9)))
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_point(np.zeros(HOPPER_NQ + 1))
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_points(np.zeros((2, 3, HOPPER_NQ)))


def test_constructed_poses_touch_where_meant():
    heights = part_heights(np.array([FRONT_UP, BOTH_DOWN, BACK_UP]))
    assert heights["back"][0] == pytest.approx(0, abs=1e-3) and heights["front"][0] > 0.3
    assert heights["front"][1] < 0.05 and heights["back"][2] > 0.2
    contacts = cheetah_contacts(np.array([FRONT_UP, BOTH_DOWN, BACK_UP]) - [0, 0.005, 0, 0, 0, 0, 0, 0, 0])
    assert contacts["back"].tolist() == [True, True, False]
    assert contacts["front"].tolist() == [False, True, True]
    assert not contacts["body"].any()
