"""Every teacher spec, parsed, checked and built in this one place.

``--teacher`` (``prefrl train``), a sweep's ``700@SPEC`` condition and ``TrainConfig.check`` all come here:

* ``oracle``: the paper's synthetic oracle (``SyntheticOracle``; ``tie_tolerance`` makes close clips ties);
* a B-Pref spec (``stochastic:beta=1``, ``myopic:gamma=0.9``, ``mistake:eps=0.1``, ``skip:eps=0.1``,
  ``equal:eps=0.1``; see ``prefrl.teachers.bpref``);
* ``backflip`` / ``one-leg``: the scripted judges of the novel behaviours, each for its own task;
* ``human``: people on the labeling page (``HumanTeacher``, reading the run's store).

>>> parse("mistake:eps=0.2").kind
'bpref'
>>> check("backflip", "prefrl/Hopper-v0")
Traceback (most recent call last):
...
ValueError: --teacher backflip judges prefrl/HopperBackflip-v0 clips; pass --env prefrl/HopperBackflip-v0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prefrl.teachers.base import SyntheticOracle, Teacher
from prefrl.teachers.bpref import TEACHER_SPECS, BPrefTeacher, TeacherModel, parse_teacher

if TYPE_CHECKING:
    from prefrl.store import PreferenceStore

SCRIPTED_TASKS = {"backflip": "prefrl/HopperBackflip-v0", "one-leg": "prefrl/HalfCheetahOneLeg-v0"}
"""Each scripted teacher and the one task whose clips it can judge."""
HUMAN = "human"
ORACLE = "oracle"

Kind = Literal["oracle", "bpref", "scripted", "human"]


@dataclass(frozen=True)
class TeacherSpec:
    """A parsed ``--teacher`` value.

    Attributes:
        text: The spec as written (stripped).
        kind: Which family of teacher it names.
        model: The B-Pref departures (``kind == "bpref"`` only).
    """

    text: str
    kind: Kind
    model: TeacherModel | None = None

    @property
    def takes_tie_tolerance(self) -> bool:
        """Whether ``tie_tolerance`` means anything to it (B-Pref teachers tie with ``equal:eps=...`` instead)."""
        return self.kind in ("oracle", "scripted")


def parse(spec: str) -> TeacherSpec:
    """The teacher ``spec`` names; ``ValueError`` saying what to write otherwise."""
    text = spec.strip()
    if text == ORACLE:
        return TeacherSpec(text, "oracle")
    if text == HUMAN:
        return TeacherSpec(text, "human")
    if text in SCRIPTED_TASKS:
        return TeacherSpec(text, "scripted")
    try:
        model = parse_teacher(text)
    except ValueError as e:
        if ":" in text:  # a B-Pref spec with a bad parameter: its own message says what is wrong
            raise
        known = ", ".join([ORACLE, HUMAN, *SCRIPTED_TASKS])
        raise ValueError(f"unknown teacher {text!r}: use one of {known}, or a B-Pref spec ({TEACHER_SPECS})") from e
    return TeacherSpec(text, "bpref", model)


def check(spec: str, env_id: str, tie_tolerance: float | None = None) -> TeacherSpec:
    """``parse``, then ``ValueError`` unless the teacher can judge ``env_id``'s clips with these settings."""
    parsed = parse(spec)
    if parsed.kind == "scripted" and env_id != SCRIPTED_TASKS[parsed.text]:
        task = SCRIPTED_TASKS[parsed.text]
        raise ValueError(f"--teacher {parsed.text} judges {task} clips; pass --env {task}")
    if tie_tolerance is not None:
        if tie_tolerance < 0:
            raise ValueError(f"--tie-tolerance must be >= 0, got {tie_tolerance}")
        if not parsed.takes_tie_tolerance:
            hint = " (B-Pref's own ties: equal:eps=...)" if parsed.kind == "bpref" else ""
            raise ValueError(
                f"--tie-tolerance applies to the oracle and the scripted teachers, not to {parsed.text}{hint}"
            )
    return parsed


def make_teacher(
    spec: str,
    *,
    env_id: str,
    dt: float,
    seed: int = 0,
    tie_tolerance: float | None = None,
    store: PreferenceStore | None = None,
    on_ask: Callable[[], None] | None = None,
) -> Teacher:
    """Build the teacher ``spec`` names, for clips of ``env_id`` (``dt`` seconds per step).

    Args:
        spec: A ``--teacher`` value.
        env_id: The task whose clips it will judge.
        dt: The task's seconds per step (the scripted teachers measure speeds and spins).
        seed: Seed of a B-Pref teacher's own random draws.
        tie_tolerance: Score differences answered ``EQUAL`` (``None``: the teacher's own default).
        store: The run's store; the human teacher reads the page's answers from it.
        on_ask: The human teacher calls it when new pairs wait (to wake the labeling page's renderer).
    """
    parsed = check(spec, env_id, tie_tolerance)
    if parsed.kind == "oracle":
        return SyntheticOracle(tie_tolerance or 0.0)
    if parsed.kind == "bpref":
        assert parsed.model is not None
        labeler = parsed.text if parsed.model != TeacherModel() else ORACLE
        return BPrefTeacher(parsed.model, seed=seed, labeler=labeler)
    if parsed.kind == "scripted":
        from prefrl.teachers.scripted import make_behaviour_teacher

        return make_behaviour_teacher(parsed.text, dt, tie_tolerance)
    if store is None:
        raise ValueError("the human teacher reads answers from the run's store: pass store=")
    from prefrl.teachers.human import HumanTeacher

    return HumanTeacher(store, on_ask=on_ask)
