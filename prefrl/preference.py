"""What a teacher is asked and what it answers: ``Preference``, ``Query`` and ``Answer``."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from prefrl.segment import Segment


class Preference(enum.Enum):
    """A teacher's answer to "which clip is better?" (the paper's four choices).

    ``UNSURE`` ("can't tell") drops the pair from training; ``EQUAL`` trains towards 0.5 / 0.5.
    """

    LEFT = "left"
    RIGHT = "right"
    EQUAL = "equal"
    UNSURE = "unsure"

    @property
    def target(self) -> float | None:
        """Probability that the left clip is better, as a training target; ``None`` for ``UNSURE``."""
        return _TARGETS[self]


_TARGETS = {Preference.LEFT: 1.0, Preference.RIGHT: 0.0, Preference.EQUAL: 0.5, Preference.UNSURE: None}


@dataclass(frozen=True)
class Query:
    """A pair of clips put to a teacher.

    Attributes:
        id: Unique within a run (assigned by the ``PreferenceStore``; -1 before it is stored).
        left, right: The two clips, of equal length.
        timestep: The agent's timestep when the pair was chosen.
        uncertainty: The selector's score (ensemble disagreement); higher is asked first.
    """

    id: int
    left: Segment
    right: Segment
    timestep: int
    uncertainty: float = 0.0


@dataclass(frozen=True)
class Answer:
    """A teacher's answer to one query.

    Attributes:
        query_id: ``Query.id`` of the pair answered.
        preference: Which clip is better.
        labeler: Who answered (``"oracle"`` for the synthetic one, a name for a human).
        time: Unix time of the answer.
    """

    query_id: int
    preference: Preference
    labeler: str
    time: float


@dataclass(frozen=True)
class Comparison:
    """A labeled pair, as the reward model trains on it.

    Attributes:
        query_id: The query it answers (also decides its train / validation split).
        left, right: The two clips.
        target: Probability that left is better (1, 0 or 0.5).
    """

    query_id: int
    left: Segment
    right: Segment
    target: float

    @classmethod
    def from_answer(cls, query: Query, answer: Answer) -> Comparison | None:
        """The comparison a query and its answer make; ``None`` when the teacher couldn't tell."""
        if answer.query_id != query.id:
            raise ValueError(f"answer to query {answer.query_id} paired with query {query.id}")
        target = answer.preference.target
        return None if target is None else cls(query.id, query.left, query.right, target)
