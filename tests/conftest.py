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


# --- Runs with real Hopper clips, for the labeling queue, page and renderer ------------------------------------


@pytest.fixture(scope="session")
def hopper_episode():
    """60 steps of random actions in prefrl/Hopper-v0, with the simulator states that render them."""
    import gymnasium as gym

    import prefrl.envs  # noqa: F401

    env = gym.make("prefrl/Hopper-v0")
    obs, info = env.reset(seed=0)
    env.action_space.seed(0)
    steps = []
    for _ in range(60):
        action = env.action_space.sample()
        next_obs, reward, _, _, info = env.step(action)
        steps.append((obs, action, reward, info["qpos"], info["qvel"]))
        obs = next_obs
    env.close()
    return Segment(*(np.array(column) for column in zip(*steps)))


@pytest.fixture
def hopper_run(tmp_path, hopper_episode):
    """Make a run directory whose store holds ``pairs`` Hopper pairs of ``clip_steps``-step clips.

    Pair ``i`` has uncertainty ``i`` (so the last one is served first) unless ``uncertainties`` says otherwise.
    """
    from prefrl.preference import Query
    from prefrl.store import PreferenceStore

    def make(pairs: int = 4, clip_steps: int = 15, uncertainties=None, timesteps=None, name: str = "run"):
        root = tmp_path / name
        root.mkdir()
        starts = np.random.default_rng(pairs).integers(0, len(hopper_episode) - clip_steps, size=(pairs, 2))
        queries = [
            Query(
                -1,
                hopper_episode.slice(a, a + clip_steps),
                hopper_episode.slice(b, b + clip_steps),
                timestep=0 if timesteps is None else timesteps[i],
                uncertainty=float(i) if uncertainties is None else uncertainties[i],
            )
            for i, (a, b) in enumerate(starts.tolist())
        ]
        with PreferenceStore.create(root / "preferences.sqlite", "prefrl/Hopper-v0") as store:
            store.add_queries(queries)
        return root

    return make
