"""Known returns to compare a run with: PPO on the true reward, as measured by prefrl's own results.

Each entry comes from a committed sweep under ``results/`` (its ``report.md`` has the table and the command); a
run's learning-curve plot draws its task's entry as a dashed line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A final return to compare with.

    Attributes:
        final_return: Mean true return of the last 10% of training episodes, mean over seeds.
        steps: Timesteps of those runs.
        seeds: How many seeds.
        source: The committed results it comes from.
    """

    final_return: float
    steps: int
    seeds: int
    source: str

    @property
    def label(self) -> str:
        return f"PPO on the true reward, {self.steps / 1e6:g}M steps ({self.seeds} seeds)"


TRUE_REWARD: dict[str, Reference] = {
    "prefrl/Hopper-v1": Reference(2708.5, 1_000_000, 5, "results/hopper-v1-final-code"),
    "prefrl/HalfCheetah-v0": Reference(2718.3, 1_000_000, 2, "results/halfcheetah-ppo-minibatch64"),
    "prefrl/Walker2d-v1": Reference(1209.3, 1_000_000, 3, "results/walker2d-v1-explore"),
    "prefrl/HalfCheetah-v1": Reference(1643.8, 1_000_000, 3, "results/halfcheetah-v1"),
}
"""env id -> the true-reward baseline measured on it."""


def reference(env_id: str) -> Reference | None:
    """The true-reward baseline of ``env_id``, if prefrl has measured one."""
    return TRUE_REWARD.get(env_id)
