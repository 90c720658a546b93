"""``Segment``: a short clip of a trajectory, with enough stored to judge it, learn from it and re-render it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Segment:
    """``L`` consecutive steps of one episode.

    Attributes:
        obs: ``[L, obs_dim]`` observations the agent acted on.
        actions: ``[L, act_dim]`` actions taken.
        true_rewards: ``[L]`` the task's true rewards (what the synthetic oracle judges; never shown to r_hat).
        qpos: ``[L, nq]`` simulator positions after each step (for rendering).
        qvel: ``[L, nv]`` simulator velocities after each step.
        timestep: The agent's global timestep at the clip's first step.
    """

    obs: np.ndarray
    actions: np.ndarray
    true_rewards: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    timestep: int = 0

    def __post_init__(self) -> None:
        n = len(self.obs)
        lengths = {len(self.actions), len(self.true_rewards), len(self.qpos), len(self.qvel)}
        assert lengths == {n}, f"segment arrays differ in length: {n} vs {lengths}"

    def __len__(self) -> int:
        return len(self.obs)

    @property
    def true_return(self) -> float:
        """Sum of the true rewards over the clip."""
        return float(np.sum(self.true_rewards))

    def slice(self, start: int, stop: int) -> Segment:
        """Steps ``start:stop`` as a new segment (timestep shifted accordingly)."""
        if not 0 <= start < stop <= len(self):
            raise ValueError(f"slice {start}:{stop} out of range for a segment of length {len(self)}")
        s = np.s_[start:stop]
        return Segment(
            self.obs[s], self.actions[s], self.true_rewards[s], self.qpos[s], self.qvel[s], self.timestep + start
        )


def random_clips(episodes: list[Segment], n: int, length: int, rng: np.random.Generator) -> list[Segment]:
    """Cut ``n`` clips of ``length`` steps at uniformly random places of randomly chosen episodes.

    Args:
        episodes: Completed episodes (each a ``Segment``); those shorter than ``length`` are skipped.
        n: Number of clips.
        length: Steps per clip.
        rng: Random generator.
    """
    usable = [ep for ep in episodes if len(ep) >= length]
    if not usable:
        raise ValueError(f"no episode of at least {length} steps to cut clips from")
    clips = []
    for i in rng.integers(len(usable), size=n):
        ep = usable[i]
        start = int(rng.integers(len(ep) - length + 1))
        clips.append(ep.slice(start, start + length))
    return clips
