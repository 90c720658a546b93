"""When to ask for labels: the paper's schedule (Christiano et al., 2017, appendix A.1)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelSchedule:
    """A fraction of the budget up front, then a rate proportional to ``decay / (T + decay)``.

    The paper collects 25% of its comparisons from the randomly initialised policy before RL starts, then asks
    at a rate proportional to 2e6 / (T + 2e6) at timestep T. Integrating that rate, the labels due by timestep
    T are ``initial + rest * log(1 + T / decay) / log(1 + total / decay)``: scaled so that the whole budget is
    spent exactly at ``total_steps``.

    Attributes:
        budget: Total number of labels to ask for.
        total_steps: Length of the run in agent timesteps.
        initial_fraction: Fraction asked before RL starts (0.25 in the paper).
        decay_steps: The rate's time constant (2e6 in the paper).
        start_step: No labels before this timestep; the schedule runs from it as the paper's runs from 0 (not in
            the paper: prefrl's unsupervised pre-training comes first).
    """

    budget: int
    total_steps: int
    initial_fraction: float = 0.25
    decay_steps: float = 2e6
    start_step: int = 0

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ValueError(f"the label budget must be positive, got {self.budget}")
        if self.total_steps < 1:
            raise ValueError(f"the number of steps must be positive, got {self.total_steps}")
        if not 0.0 <= self.initial_fraction <= 1.0:
            raise ValueError(f"initial_fraction must be in [0, 1], got {self.initial_fraction}")
        if not 0 <= self.start_step < self.total_steps:
            raise ValueError(f"start_step must be in [0, total_steps), got {self.start_step}")

    @property
    def initial_labels(self) -> int:
        """Labels asked from the random policy before RL starts (at ``start_step``)."""
        return round(self.budget * self.initial_fraction)

    def labels_due(self, timestep: int) -> int:
        """Total labels that should have been asked for by ``timestep`` (non-decreasing, ends at ``budget``)."""
        if timestep >= self.total_steps:
            return self.budget
        if timestep < self.start_step:
            return 0
        rest = self.budget - self.initial_labels
        elapsed, total = timestep - self.start_step, self.total_steps - self.start_step
        spent = math.log1p(elapsed / self.decay_steps) / math.log1p(total / self.decay_steps)
        return self.initial_labels + math.floor(rest * spent)
