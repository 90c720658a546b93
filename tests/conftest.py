"""Shared fixtures: tiny hand-made clips, and headless rendering for every test."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

import numpy as np
import pytest

from prefrl.segment import Segment


def make_clip(rewards, obs_dim: int = 3, act_dim: int = 2, timestep: int = 0, obs=None) -> Segment:
    """A clip with the given true rewards; observations random unless given."""
    rewards = np.asarray(rewards, dtype=np.float64)
    n = len(rewards)
    rng = np.random.default_rng(n)
    return Segment(
        obs=rng.normal(size=(n, obs_dim)) if obs is None else np.asarray(obs, dtype=np.float64),
        actions=rng.normal(size=(n, act_dim)),
        true_rewards=rewards,
        qpos=np.zeros((n, 2)),
        qvel=np.zeros((n, 2)),
        timestep=timestep,
    )


@pytest.fixture
def clip():
    return make_clip
