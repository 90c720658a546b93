"""``HumanTeacher``: people answering on the labeling page, read back from the run's store."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from prefrl.preference import Answer, Query
from prefrl.store import PreferenceStore

UNDO_META = "undo_seconds"
"""The store's meta key under which the labeling server keeps its undo window, for the trainer to honour."""


class HumanTeacher:
    """People answering through the labeling page (``prefrl.labeling``), which commits their answers to the store.

    ``ask`` only tells the page's renderer that new pairs wait (the loop has already stored them); ``answers``
    returns the answers not handed over yet, never waiting for one. An answer is handed over only once it is
    ``undo_seconds`` old, when the labeler can no longer undo it (``LabelQueue.undo``). Each call reads only the
    answers given since the last one (and ``LATE_COMMIT_SECONDS`` before, for a commit that came late).

    Args:
        store: The run's store (the trainer's connection; the page writes through its own).
        undo_seconds: The labeling page's undo window.
        on_ask: Called after new pairs were stored (wakes the renderer); optional.
    """

    UNDO_SECONDS = 15.0
    """How long a labeler can take an answer back (the labeling queue's default refers to this)."""
    LATE_COMMIT_SECONDS = 60.0
    answers_stored = True
    """The page has committed the answers already: the trainer need not store them again."""

    def __init__(
        self,
        store: PreferenceStore,
        undo_seconds: float = UNDO_SECONDS,
        on_ask: Callable[[], None] | None = None,
    ):
        self.store = store
        self.undo_seconds = undo_seconds
        self.on_ask = on_ask
        self._handed_over: set[int] = set()
        self._read_until = -math.inf  # answers up to this time have been handed over

    def ask(self, queries: Sequence[Query]) -> None:
        if queries and self.on_ask is not None:
            self.on_ask()

    def answers(self) -> list[Answer]:
        # The page in use may allow a longer undo (prefrl label --undo-seconds): it says so in the store.
        page_undo = float(self.store.meta(UNDO_META, "0") or 0)
        settled = time.time() - max(self.undo_seconds, page_undo)
        recent = self.store.answers(after=self._read_until - self.LATE_COMMIT_SECONDS)
        new = [a for a in recent if a.time <= settled and a.query_id not in self._handed_over]
        self._handed_over.update(a.query_id for a in new)
        self._read_until = settled
        return new

    def waiting(self) -> int:
        """Pairs stored but not answered yet."""
        return self.store.count_queries() - self.store.count_answers()
