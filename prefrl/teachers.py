"""Teachers answer queries. The loop talks to every teacher, synthetic or human, through ``Teacher``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from prefrl.preference import Answer, Preference, Query
from prefrl.store import PreferenceStore


class Teacher(Protocol):
    """Answers "which clip is better?" at its own pace; never makes the caller wait.

    ``ask`` hands over new queries; ``answers`` returns the answers given since its last call (possibly none).
    A synthetic teacher answers at once; a human answers later, through the labeling page.
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


class HumanTeacher:
    """People answering through the labeling page (``prefrl.web``), which commits their answers to the store.

    ``ask`` only tells the page's renderer that new pairs wait (the loop has already stored them); ``answers``
    reads the store and returns the answers not handed over yet, never waiting for one. An answer is handed
    over only once it is ``undo_seconds`` old, when the labeler can no longer undo it (``LabelQueue.undo``).

    Args:
        store: The run's store (the trainer's connection; the page writes through its own).
        undo_seconds: The labeling page's undo window.
        on_ask: Called after new pairs were stored (wakes the renderer); optional.
    """

    def __init__(self, store: PreferenceStore, undo_seconds: float = 15.0, on_ask: Callable[[], None] | None = None):
        self.store = store
        self.undo_seconds = undo_seconds
        self.on_ask = on_ask
        self._handed_over: set[int] = set()

    def ask(self, queries: Sequence[Query]) -> None:
        if queries and self.on_ask is not None:
            self.on_ask()

    def answers(self) -> list[Answer]:
        settled = time.time() - self.undo_seconds
        new = [a for a in self.store.answers() if a.time <= settled and a.query_id not in self._handed_over]
        self._handed_over.update(a.query_id for a in new)
        return new

    def waiting(self) -> int:
        """Pairs stored but not answered yet."""
        return self.store.count_queries() - self.store.count_answers()
