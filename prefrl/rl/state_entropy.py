"""Unsupervised pre-training before the first labels: the policy is rewarded for reaching states unlike the ones
it has seen (PEBBLE, Lee et al. 2021, section 4.1). Not in the paper.

The paper asks its first quarter of labels about the randomly initialised policy. On a task with a fixed horizon
that policy spends nearly every clip lying on the floor, so the first labels can only say "closer to upright",
and the policy they teach stands still (docs/BENCHMARKS.md 16 and 22). A policy trained first to visit diverse
states shows the teacher a wider spread of behaviour to compare.

``StateEntropyReward`` is the particle estimate of state entropy that PEBBLE maximises: each step pays
``log(1 + d_k)``, with ``d_k`` the distance from its observation to the k-th nearest of the last ``memory`` ones,
each coordinate scaled by its spread in that memory (so a velocity of 10 m/s does not drown a height of 1 m).
``PretrainingReward`` pays that for the first ``steps`` timesteps and the learned reward after them.
"""

from __future__ import annotations

import numpy as np

from prefrl.learning.reward_model import RewardFn


class StateEntropyReward:
    """``log(1 + distance to the k-th nearest recent observation)`` for each observation of a batch.

    Args:
        k: Which neighbour (PEBBLE: 5).
        memory: Recent observations kept to compare against (first in, first out).
    """

    def __init__(self, k: int = 5, memory: int = 4096):
        if k < 1 or memory <= k:
            raise ValueError(f"need 1 <= k < memory, got k={k}, memory={memory}")
        self.k, self.capacity = k, memory
        self._memory: np.ndarray | None = None
        self._size = 0
        self._next = 0
        self._calls = 0
        self._weights: np.ndarray | None = None  # 1 / each coordinate's variance in the memory

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)
        if self._memory is None:
            self._memory = np.zeros((self.capacity, obs.shape[1]))
        seen = self._memory[: self._size]
        if self._size > self.k:
            # Each coordinate's spread, recomputed every 64 calls (it moves slowly; at every call it took 10%).
            if self._weights is None or self._calls % 64 == 0:
                self._weights = 1.0 / (seen.std(axis=0) + 1e-6) ** 2
            w = self._weights
            squared = (obs**2 @ w)[:, None] + (seen**2 @ w)[None] - 2 * (obs * w) @ seen.T
            kth = np.partition(squared, self.k - 1, axis=1)[:, self.k - 1]
            rewards = np.log1p(np.sqrt(np.maximum(kth, 0.0)))
        else:
            rewards = np.zeros(len(obs))
        self._remember(obs)
        self._calls += 1
        return rewards

    def _remember(self, obs: np.ndarray) -> None:
        assert self._memory is not None
        rows = np.arange(self._next, self._next + len(obs)) % len(self._memory)
        self._memory[rows] = obs
        self._next = (self._next + len(obs)) % len(self._memory)
        self._size = min(self._size + len(obs), len(self._memory))


class PretrainingReward:
    """``pretraining`` for the first ``steps`` timesteps, then ``reward``.

    ``timestep`` is set by the training loop before each rollout (so one rollout is paid by one of them).
    """

    def __init__(self, pretraining: RewardFn, reward: RewardFn, steps: int):
        self.pretraining, self.reward, self.steps = pretraining, reward, steps
        self.timestep = 0

    @property
    def pretraining_now(self) -> bool:
        return self.timestep < self.steps

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return (self.pretraining if self.pretraining_now else self.reward)(obs, actions)
