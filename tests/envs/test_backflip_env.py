"""The HopperBackflip-v0 body: its flip reward and its observation."""

import math

import gymnasium as gym
import numpy as np
import pytest
from poses import DT, TURN

import prefrl.envs  # noqa: F401
from prefrl.behaviours.metrics import count_backflips


def test_a_simulated_backflip_is_counted_by_the_env():
    """Launched upwards with a backward spin, the passive Hopper turns once and lands upright: reward 1."""
    env = gym.make("prefrl/HopperBackflip-v0")
    env.reset(seed=0)
    sim = env.unwrapped
    qvel = np.zeros(sim.model.nv)
    qvel[1], qvel[2] = 5.0, -6.0  # up 5 m/s, pitch rate -6 rad/s (backwards)
    sim.set_state(sim.init_qpos + [0, 0.05, 0, 0, 0, 0], qvel)
    sim.flips.reset(0.0)
    qpos, total = [], 0.0
    for _ in range(80):
        _, reward, _, _, info = env.step(np.zeros(3))
        qpos.append(info["qpos"])
        total += reward
    env.close()
    assert total == 1.0 and info["backflips"] == 1
    assert count_backflips(np.array(qpos), DT) == 1
    assert -TURN - 0.5 < qpos[-1][2] < -TURN + 0.5


def test_backflip_task_observes_the_pitch_as_cos_and_sin():
    env = gym.make("prefrl/HopperBackflip-v0")
    obs, info = env.reset(seed=0)
    assert obs.shape == (12,) and env.observation_space.shape == (12,)
    assert env.unwrapped.dt == pytest.approx(DT)
    pitch = info["qpos"][2]
    np.testing.assert_allclose(obs[1:3], [math.cos(pitch), math.sin(pitch)])
    env.close()
