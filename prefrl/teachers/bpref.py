"""Imperfect synthetic teachers from the B-Pref benchmark (Lee, Smith, Dragan and Abbeel, 2021, arXiv 2111.03026).

The paper's synthetic oracle (``prefrl.teachers.base.SyntheticOracle``) always prefers the clip with the higher true
return. B-Pref models the ways real people differ from it; each named teacher turns on one of them:

* ``stochastic:beta=1``  Boltzmann-rational: P(left) = sigmoid(beta * (R_left - R_right)); beta -> inf is the oracle.
* ``myopic:gamma=0.9``   judges the discounted return sum_t gamma^(L-1-t) r_t: later steps weigh more.
* ``mistake:eps=0.1``    gives the wrong answer with probability eps.
* ``skip:eps=0.1``       can't tell (``UNSURE``, the pair is dropped) when both clips' returns are below
  eps * scale.
* ``equal:eps=0.1``      answers ``EQUAL`` when the two returns differ by less than eps * |scale|.

``scale`` is B-Pref's "average return of a clip": by default the running mean true return of the last
``window`` clips this teacher was asked about (B-Pref uses the recent episodes' mean return scaled to clip length,
which is the same quantity), so one spec means the same thing on every task; ``scale=...`` fixes it instead.
``oracle`` is the paper's perfect teacher (the default everywhere).

    teacher = BPrefTeacher(parse_teacher("mistake:eps=0.1"), seed=0)   # or prefrl.teachers.registry.make_teacher
    teacher.ask(queries); teacher.answers()
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from prefrl.preference import Preference, Query
from prefrl.segment import Segment
from prefrl.teachers.base import ImmediateTeacher


@dataclass(frozen=True)
class TeacherModel:
    """How a B-Pref teacher departs from the perfect oracle; the defaults are the oracle.

    Attributes:
        beta: Rationality of the Boltzmann choice (``inf``: always the higher return).
        gamma: Discount towards the clip's end (1: no myopia).
        mistake: Probability of flipping a strict answer.
        skip: Skip when ``max(R_left, R_right) < skip * scale`` (``None``: never skip).
        equal: Answer ``EQUAL`` when ``|R_left - R_right| < equal * |scale|`` (``None``: only exact ties).
        scale: Fixed clip-return scale for ``skip`` and ``equal`` (``None``: running mean of the clips asked).
        window: Clips the running scale averages over.
    """

    beta: float = math.inf
    gamma: float = 1.0
    mistake: float = 0.0
    skip: float | None = None
    equal: float | None = None
    scale: float | None = None
    window: int = 1000

    def __post_init__(self) -> None:
        if not self.beta > 0:
            raise ValueError(f"beta (rationality) must be positive, got {self.beta}")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma (myopia) must be in (0, 1], got {self.gamma}")
        if not 0 <= self.mistake <= 1:
            raise ValueError(f"eps (mistake probability) must be in [0, 1], got {self.mistake}")
        if self.equal is not None and self.equal < 0:
            raise ValueError(f"eps (equal margin) must be >= 0, got {self.equal}")
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")


# name -> {parameter: (TeacherModel field, B-Pref's default or None)}. Each named teacher turns on one departure.
_PRESETS: dict[str, dict[str, tuple[str, float | None]]] = {
    "oracle": {},
    "stochastic": {"beta": ("beta", 1.0)},
    "myopic": {"gamma": ("gamma", 0.9)},
    "mistake": {"eps": ("mistake", 0.1)},
    "skip": {"eps": ("skip", 0.1), "scale": ("scale", None)},
    "equal": {"eps": ("equal", 0.1), "scale": ("scale", None)},
}
TEACHER_NAMES = tuple(_PRESETS)
"""The named teachers a spec may start with."""
TEACHER_SPECS = (
    "oracle, stochastic:beta=1, myopic:gamma=0.9, mistake:eps=0.1, skip:eps=0.1[,scale=S], equal:eps=0.1[,scale=S]"
)
"""The specs with B-Pref's default parameters, for ``--help`` texts."""


def parse_teacher(spec: str) -> TeacherModel:
    """The model a spec such as ``"stochastic:beta=1"`` or ``"skip:eps=0.2,scale=50"`` names.

    Raises:
        ValueError: for an unknown teacher, an unknown or repeated parameter, or a value out of range.
    """
    name, _, params = spec.strip().partition(":")
    if name not in _PRESETS:
        raise ValueError(
            f"unknown teacher {name!r} in {spec!r}: use one of {', '.join(TEACHER_NAMES)} (e.g. {TEACHER_SPECS})"
        )
    allowed = _PRESETS[name]
    values: dict[str, Any] = {field: default for field, default in allowed.values() if default is not None}
    seen: set[str] = set()
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or key not in allowed:
            expected = ", ".join(f"{k}=<number>" for k in allowed) or "no parameters"
            raise ValueError(f"bad parameter {item!r} in teacher spec {spec!r}: {name} takes {expected}")
        if key in seen:
            raise ValueError(f"parameter {key!r} given twice in teacher spec {spec!r}")
        seen.add(key)
        try:
            values[allowed[key][0]] = float(text)
        except ValueError:
            raise ValueError(f"{key} must be a number in teacher spec {spec!r}, got {text!r}") from None
    return TeacherModel(**values)


def format_teacher(model: TeacherModel) -> str:
    """A short spec-like name of a model (``"oracle"`` for the perfect one); used as the labeler name."""
    default = TeacherModel()
    parts = [
        f"{f.name}={getattr(model, f.name):g}"
        for f in fields(model)
        if f.name != "window" and getattr(model, f.name) != getattr(default, f.name)
    ]
    return "bpref:" + ",".join(parts) if parts else "oracle"


class BPrefTeacher(ImmediateTeacher):
    """A scripted teacher that answers at once, with B-Pref's departures from the oracle (``TeacherModel``).

    Follows B-Pref's order: skip on the undiscounted returns; then the myopic returns decide ties (``equal``),
    the Boltzmann choice and mistakes; an ``EQUAL`` answer is never flipped. A ``prefrl.teachers.base.Teacher``.

    Args:
        model: The departures (defaults: the perfect oracle).
        seed: Seed of the teacher's own random draws (Boltzmann choice, mistakes).
        labeler: Name recorded with each answer (default: the model's short name).
    """

    def __init__(self, model: TeacherModel = TeacherModel(), seed: int = 0, labeler: str | None = None):
        super().__init__(labeler if labeler is not None else format_teacher(model))
        self.model = model
        self.rng = np.random.default_rng(seed)
        self._recent_returns: deque[float] = deque(maxlen=model.window)

    def scale(self) -> float:
        """The clip-return scale of ``skip`` and ``equal`` (fixed, or the running mean; 0 before any clip)."""
        if self.model.scale is not None:
            return self.model.scale
        return float(np.mean(self._recent_returns)) if self._recent_returns else 0.0

    def perceived_return(self, clip: Segment) -> float:
        """The return as this teacher weighs it: ``sum_t gamma^(L-1-t) r_t``."""
        weights = self.model.gamma ** np.arange(len(clip) - 1, -1, -1, dtype=np.float64)
        return float(np.dot(weights, clip.true_rewards))

    def p_left(self, query: Query) -> float:
        """Probability of answering ``LEFT`` when the teacher answers strictly (before mistakes)."""
        diff = self.perceived_return(query.left) - self.perceived_return(query.right)
        if math.isinf(self.model.beta):
            return 1.0 if diff > 0 else 0.0 if diff < 0 else 0.5
        return float(0.5 * (1 + math.tanh(0.5 * self.model.beta * diff)))  # sigmoid, without overflow

    def judge(self, query: Query) -> Preference:
        """The teacher's (random) answer to one query; updates the running scale."""
        m = self.model
        self._recent_returns.extend([query.left.true_return, query.right.true_return])
        scale = self.scale()
        if m.skip is not None and max(query.left.true_return, query.right.true_return) < m.skip * scale:
            return Preference.UNSURE
        diff = self.perceived_return(query.left) - self.perceived_return(query.right)
        margin = 0.0 if m.equal is None else m.equal * abs(scale)
        if diff == 0 or abs(diff) < margin:
            return Preference.EQUAL
        left = bool(self.rng.random() < self.p_left(query))
        if m.mistake > 0 and self.rng.random() < m.mistake:
            left = not left
        return Preference.LEFT if left else Preference.RIGHT
