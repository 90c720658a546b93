"""Teachers answer queries. The loop talks to every teacher, synthetic or human, through ``Teacher``."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Protocol

from prefrl.preference import Answer, Preference, Query


class Teacher(Protocol):
    """Answers "which clip is better?" at its own pace; never makes the caller wait.

    ``ask`` hands over new queries; ``answers`` returns the answers given since its last call (possibly none).
    A synthetic teacher answers at once; a human answers later, through the labeling page. The run stores every
    answer in its database, unless the teacher has an ``answers_stored = True`` attribute (the human teacher:
    the page has committed them already).

    >>> class AlwaysLeft:
    ...     def __init__(self):
    ...         self.pending = []
    ...     def ask(self, queries):
    ...         self.pending += [Answer(q.id, Preference.LEFT, "always-left", 0.0) for q in queries]
    ...     def answers(self):
    ...         answers, self.pending = self.pending, []
    ...         return answers
    >>> teacher: Teacher = AlwaysLeft()
    """

    def ask(self, queries: Sequence[Query]) -> None: ...

    def answers(self) -> list[Answer]: ...


def prefer_higher(left_score: float, right_score: float, tie_tolerance: float = 0.0) -> Preference:
    """The clip with the higher score; ``EQUAL`` when the scores differ by at most ``tie_tolerance``."""
    diff = left_score - right_score
    if abs(diff) <= tie_tolerance:
        return Preference.EQUAL
    return Preference.LEFT if diff > 0 else Preference.RIGHT


class ImmediateTeacher:
    """Base of the scripted teachers: answers every query the moment it is asked, with ``judge``.

    Args:
        labeler: Name recorded with each answer.
    """

    def __init__(self, labeler: str):
        self.labeler = labeler
        self._pending: list[Answer] = []

    def judge(self, query: Query) -> Preference:
        """The teacher's answer to one query."""
        raise NotImplementedError

    def ask(self, queries: Sequence[Query]) -> None:
        now = time.time()
        self._pending += [Answer(q.id, self.judge(q), self.labeler, now) for q in queries]

    def answers(self) -> list[Answer]:
        answers, self._pending = self._pending, []
        return answers

    def state(self) -> dict:
        """Everything it keeps but the answers not yet collected (a B-Pref teacher's random generator and running
        scale, say): a checkpoint's, so that a resumed run gets the same answers again."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "_pending"})

    def set_state(self, state: dict) -> None:
        vars(self).update(copy.deepcopy(state))
        self._pending = []


class SyntheticOracle(ImmediateTeacher):
    """The paper's synthetic oracle: prefers the clip with the higher true return.

    Args:
        tie_tolerance: Answer ``EQUAL`` when the two true returns differ by at most this much.
        labeler: Name recorded with each answer.
    """

    def __init__(self, tie_tolerance: float = 0.0, labeler: str = "oracle"):
        if tie_tolerance < 0:
            raise ValueError(f"tie_tolerance must be >= 0, got {tie_tolerance}")
        super().__init__(labeler)
        self.tie_tolerance = tie_tolerance

    def judge(self, query: Query) -> Preference:
        """The oracle's preference for one query."""
        return prefer_higher(query.left.true_return, query.right.true_return, self.tie_tolerance)
