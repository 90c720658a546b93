"""Bradley-Terry preference math (Christiano et al., 2017, eq. 1), with the paper's 10% random-answer term.

The probability that a teacher prefers clip 1 to clip 2 is a softmax over the clips' summed predicted rewards,

    P(1 > 2) = exp(sum r1) / (exp(sum r1) + exp(sum r2)) = sigmoid(sum r1 - sum r2),

and the teacher is assumed to answer uniformly at random with probability ``eps`` (0.1 in the paper):

    P'(1 > 2) = (1 - eps) * P(1 > 2) + eps / 2.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

RANDOM_ANSWER_PROB = 0.1
"""The paper's assumed rate of uniformly random answers."""


def log_preference_probability(
    return_left: torch.Tensor, return_right: torch.Tensor, random_answer_prob: float = RANDOM_ANSWER_PROB
) -> torch.Tensor:
    """``log P'(left > right)``, computed stably (``logaddexp``) for any return difference."""
    if not 0.0 <= random_answer_prob < 1.0:
        raise ValueError(f"random_answer_prob must be in [0, 1), got {random_answer_prob}")
    log_p = F.logsigmoid(return_left - return_right)
    if random_answer_prob == 0.0:
        return log_p
    noise = torch.full_like(log_p, math.log(random_answer_prob / 2))
    return torch.logaddexp(math.log1p(-random_answer_prob) + log_p, noise)


def preference_probability(
    return_left: torch.Tensor, return_right: torch.Tensor, random_answer_prob: float = RANDOM_ANSWER_PROB
) -> torch.Tensor:
    """``P'(left > right)``; elementwise over any matching shapes."""
    return log_preference_probability(return_left, return_right, random_answer_prob).exp()


def preference_loss(
    return_left: torch.Tensor,
    return_right: torch.Tensor,
    target: torch.Tensor,
    random_answer_prob: float = RANDOM_ANSWER_PROB,
) -> torch.Tensor:
    """Cross-entropy between the label and ``P'``, elementwise (no reduction).

    Args:
        return_left, return_right: Summed predicted rewards of the two clips, any matching shape.
        target: Probability that left is better: 1 (left), 0 (right) or 0.5 (equally good).
        random_answer_prob: ``eps`` of the random-answer term.
    """
    log_left = log_preference_probability(return_left, return_right, random_answer_prob)
    log_right = log_preference_probability(return_right, return_left, random_answer_prob)
    return -(target * log_left + (1.0 - target) * log_right)
