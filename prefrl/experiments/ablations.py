"""The paper's ablations (Christiano et al., 2017, section 3.3 and figure 5), each a switch on a normal run.

    prefrl train --env prefrl/Hopper-v1 --labels 700 --selection random       # random queries
    prefrl train --env prefrl/Hopper-v1 --labels 700 --ensemble 1             # no ensemble
    prefrl train --env prefrl/Hopper-v1 --labels 700 --no-online-labels       # no online queries
    prefrl train --env prefrl/Hopper-v1 --labels 700 --no-regularization      # no regularization
    prefrl train --env prefrl/Hopper-v1 --labels 700 --clip-steps 1           # single-step segments
    prefrl train --env prefrl/Hopper-v1 --labels 700 --reward-objective regression   # regression on true returns

and four of prefrl's own, not in the paper:

    prefrl train --env prefrl/Hopper-v1 --labels 700 --exploration-bonus 1    # explore: r_hat + disagreement
    prefrl train --env prefrl/Hopper-v1 --labels 700 --clip-reuse 1           # distinct-clips: no clip in two pairs
    prefrl train --env prefrl/Hopper-v1 --labels 700 --pretrain-steps 100000  # pretrain: diverse states first
    prefrl train --env prefrl/Hopper-v1 --labels 700 --reward-inputs obs      # obs-reward: r_hat(o), no action

``Ablation`` names them (the sweep's conditions use these names) and knows the ``prefrl train`` switches that
turn each on; ``prefrl.experiments.learner`` derives the reward trainer's and the label schedule's settings from
the switches. Only names here: a sweep plans its runs without loading torch.
"""

from __future__ import annotations

import enum


class Ablation(enum.Enum):
    """One of the paper's six ablations, or one of prefrl's variants; the value is its name on the command
    line."""

    RANDOM_QUERIES = "random-queries"
    NO_ENSEMBLE = "no-ensemble"
    NO_ONLINE_QUERIES = "no-online-queries"
    NO_REGULARIZATION = "no-regularization"
    SINGLE_STEP = "single-step"
    REGRESSION = "regression"
    EXPLORE = "explore"  # not in the paper: prefrl's exploration bonus (RUNE)
    DISTINCT_CLIPS = "distinct-clips"  # not in the paper: each clip in at most one pair of a batch
    PRETRAIN = "pretrain"  # not in the paper: PEBBLE's unsupervised pre-training before the first labels
    OBS_REWARD = "obs-reward"  # not in the paper: r_hat of the observation alone

    @property
    def train_args(self) -> tuple[str, ...]:
        """The ``prefrl train`` switches that turn it on."""
        return _TRAIN_ARGS[self]

    @property
    def description(self) -> str:
        """What changes, in the paper's words."""
        return _DESCRIPTIONS[self]

    @classmethod
    def parse(cls, name: str) -> Ablation:
        """The ablation called ``name``; ``ValueError`` listing the known names otherwise."""
        try:
            return cls(name.strip())
        except ValueError:
            known = ", ".join(a.value for a in cls)
            raise ValueError(f"unknown ablation {name!r}: use one of {known}") from None


_TRAIN_ARGS = {
    Ablation.RANDOM_QUERIES: ("--selection", "random"),
    Ablation.NO_ENSEMBLE: ("--ensemble", "1"),
    Ablation.NO_ONLINE_QUERIES: ("--no-online-labels",),
    Ablation.NO_REGULARIZATION: ("--no-regularization",),
    Ablation.SINGLE_STEP: ("--clip-steps", "1"),
    Ablation.REGRESSION: ("--reward-objective", "regression"),
    Ablation.EXPLORE: ("--exploration-bonus", "1"),
    Ablation.DISTINCT_CLIPS: ("--clip-reuse", "1"),
    Ablation.PRETRAIN: ("--pretrain-steps", "100000"),
    Ablation.OBS_REWARD: ("--reward-inputs", "obs"),
}
_DESCRIPTIONS = {
    Ablation.RANDOM_QUERIES: "pairs chosen uniformly at random instead of by ensemble disagreement",
    Ablation.NO_ENSEMBLE: "a single predictor, trained on all comparisons, with random queries",
    Ablation.NO_ONLINE_QUERIES: "all labels asked about clips of the random policy, before RL starts",
    Ablation.NO_REGULARIZATION: "no L2 penalty (and no adaptation of it)",
    Ablation.SINGLE_STEP: "clips of a single step instead of 1.5 s",
    Ablation.REGRESSION: "r_hat regressed on the clips' true returns instead of fitted to the comparisons",
    Ablation.EXPLORE: "not in the paper: the policy trains on r_hat plus the ensemble's disagreement (RUNE)",
    Ablation.DISTINCT_CLIPS: "not in the paper: no clip in two pairs of one batch (the human teacher's default)",
    Ablation.PRETRAIN: "not in the paper: 100k steps of state-entropy RL (PEBBLE) before the first labels",
    Ablation.OBS_REWARD: "not in the paper: r_hat reads the observation alone, not the action",
}
