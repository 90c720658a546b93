"""``LabelQueue``: which stored pair a human labeler sees next, and how their answers enter the store.

The queue lives in the run's SQLite database, so a labeling server in the trainer's process and another one
started later (``prefrl label RUN_DIR``) share it. Its rules, after rl-teacher:

* only pairs whose videos are rendered are served; the renderer renders pairs in serving order, a few ahead;
* a trainer chooses new pairs only as the labelers near them (``room``), so each is rendered as it is chosen;
* most uncertain first, but a pair chosen more than ``stale_steps`` agent timesteps ago goes behind every fresh
  one (the policy it shows has moved on; it is served only when nothing fresher waits);
* a served pair is leased to one labeler for ``lease_seconds``; an expired lease puts it back in the queue;
* an answer is accepted only from the labeler holding the pair's unexpired lease, and only once; it is
  committed before ``answer`` returns;
* a labeler can undo their last answer within ``undo_seconds``; a ``HumanTeacher`` hands answers to the trainer
  only once they are older than that, so the trainer never learns from an answer that is later undone.

Every method is one transaction; a refused call (``QueueError``) leaves the database unchanged.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from prefrl.preference import Answer, Preference
from prefrl.store import PreferenceStore
from prefrl.teachers.human import HumanTeacher

LEASE_SECONDS = 120.0
"""How long a shown pair stays reserved for its labeler."""
STALE_STEPS = 100_000
"""Pairs chosen this many agent timesteps ago are shown only when nothing fresher waits."""
RENDER_AHEAD = 8
"""Pairs the renderer keeps ready ahead of the labelers; a trainer keeps no more fresh pairs waiting than that."""

LABELER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}")
"""What a labeler name may look like (it is shown on the stats view and written to exports); the labeling page
checks names typed into it with the same pattern (``/api/stats``)."""
LABELER_RULE = "a labeler name is 1 to 64 letters, digits, spaces or _.@- and starts with a letter or digit"


class QueueError(Exception):
    """A labeler's request the queue refuses; nothing was changed.

    Attributes:
        kind: ``"not_found"`` (no such pair) or ``"conflict"`` (the pair is not theirs to answer, or there is
            nothing to undo).
    """

    def __init__(self, kind: Literal["not_found", "conflict"], message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Lease:
    """A pair shown to a labeler.

    Attributes:
        query_id: The pair (``Query.id``).
        left_clip, right_clip: Clip ids of its two clips (their videos are ``<clip id>.mp4``).
        timestep: Agent timestep when the pair was chosen.
        uncertainty: The selector's score.
        expires_at: Unix time the lease ends.
    """

    query_id: int
    left_clip: int
    right_clip: int
    timestep: int
    uncertainty: float
    expires_at: float


@dataclass(frozen=True)
class Progress:
    """What the labeling page shows about the run.

    Attributes:
        labels: Answers stored (by anyone, including imports).
        waiting: Pairs not answered yet.
        ready: Of those, pairs rendered and not leased: what labelers can get right now.
        agent_timestep: The trainer's last reported timestep (0 before it reports).
        labelers: Answers per labeler.
    """

    labels: int
    waiting: int
    ready: int
    agent_timestep: int
    labelers: dict[str, int]


def check_labeler(labeler: str) -> str:
    """``labeler`` if it is a valid name, else ``ValueError`` saying what a name may contain."""
    if not isinstance(labeler, str) or not LABELER_PATTERN.fullmatch(labeler):
        raise ValueError(LABELER_RULE)
    return labeler


# Serving order: fresh pairs first, then the most uncertain, then the oldest. ``:fresh_from`` is a timestep.
_ORDER = "ORDER BY (q.timestep >= :fresh_from) DESC, q.uncertainty DESC, q.id"
_UNANSWERED = "q.id NOT IN (SELECT query_id FROM answers)"
_LEASED = "q.id IN (SELECT query_id FROM leases WHERE expires_at > :now)"


class LabelQueue:
    """The labeling side of a run's ``PreferenceStore``.

    Args:
        store: The run's store (a connection of its own: a queue is used from the server's threads).
        lease_seconds: How long a served pair stays reserved for its labeler.
        undo_seconds: How long after answering a labeler may undo.
        stale_steps: Pairs chosen this many agent timesteps before the agent's current one are served last.
    """

    def __init__(
        self,
        store: PreferenceStore,
        lease_seconds: float = LEASE_SECONDS,
        undo_seconds: float = HumanTeacher.UNDO_SECONDS,
        stale_steps: int = STALE_STEPS,
    ):
        if not (0 < lease_seconds < math.inf) or not (0 <= undo_seconds < math.inf) or stale_steps < 0:
            raise ValueError(
                f"--lease-seconds must be a positive number and --undo-seconds and --stale-steps >= 0 (finite), got "
                f"{lease_seconds}, {undo_seconds} and {stale_steps}"
            )
        self.store = store
        self.lease_seconds = lease_seconds
        self.undo_seconds = undo_seconds
        self.stale_steps = stale_steps

    def _params(self, now: float) -> dict[str, float]:
        agent_timestep = int(self.store.meta("agent_timestep", "0") or 0)
        return {"now": now, "fresh_from": agent_timestep - self.stale_steps}

    def lease_next(self, labeler: str, holding: frozenset[int] = frozenset()) -> Lease | None:
        """Lease the next pair to ``labeler``; ``None`` if no rendered pair is free.

        A pair the labeler already leases but does not hold (say, after reloading the page) is given back to them
        first, with a fresh lease.

        Args:
            labeler: Who will see it.
            holding: Pairs the labeler's page already has (shown or preloaded); never returned.
        """
        check_labeler(labeler)
        now = time.time()
        with self.store.transaction() as db:
            params = self._params(now) | {"labeler": labeler}
            exclude = ",".join(str(int(i)) for i in holding) or "-1"
            row = (
                db.execute(
                    f"SELECT q.id FROM queries q JOIN leases l ON l.query_id = q.id "
                    f"WHERE l.labeler = :labeler AND l.expires_at > :now AND {_UNANSWERED} AND q.id NOT IN ({exclude}) "
                    f"{_ORDER} LIMIT 1",
                    params,
                ).fetchone()
                or db.execute(
                    f"SELECT q.id FROM queries q WHERE q.rendered_at IS NOT NULL AND {_UNANSWERED} AND NOT {_LEASED} "
                    f"AND q.id NOT IN ({exclude}) {_ORDER} LIMIT 1",
                    params,
                ).fetchone()
            )
            if row is None:
                return None
            expires = now + self.lease_seconds
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (row[0], labeler, expires))
            return self._lease(db, row[0], expires)

    @staticmethod
    def _lease(db, query_id: int, expires_at: float) -> Lease:
        q = db.execute(
            "SELECT left_clip, right_clip, timestep, uncertainty FROM queries WHERE id = ?", (query_id,)
        ).fetchone()
        return Lease(query_id, q[0], q[1], q[2], q[3], expires_at)

    def answer(self, query_id: int, preference: Preference, labeler: str) -> Answer:
        """Store ``labeler``'s answer to a pair leased to them; returns it once committed.

        A lease that ran out still counts while nobody else has taken the pair: a person who paused longer than
        the lease keeps their pair.

        Raises:
            QueueError: No such pair (``not_found``); already answered, or not leased to this labeler (never, or
                it has since been leased to someone else) (``conflict``).
        """
        check_labeler(labeler)
        with self.store.transaction() as db:
            now = time.time()
            if db.execute("SELECT 1 FROM queries WHERE id = ?", (query_id,)).fetchone() is None:
                raise QueueError("not_found", f"no pair {query_id}")
            if db.execute("SELECT 1 FROM answers WHERE query_id = ?", (query_id,)).fetchone() is not None:
                raise QueueError("conflict", f"pair {query_id} is already answered")
            lease = db.execute("SELECT labeler FROM leases WHERE query_id = ?", (query_id,)).fetchone()
            if lease is None or lease[0] != labeler:
                raise QueueError("conflict", f"pair {query_id} is not leased to {labeler}; ask for the next pair")
            answer = Answer(query_id, preference, labeler, now)
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?)", (query_id, preference.value, labeler, now))
            db.execute("DELETE FROM leases WHERE query_id = ?", (query_id,))
        return answer

    def release(self, labeler: str, query_ids: Iterable[int]) -> int:
        """Give up ``labeler``'s leases on ``query_ids`` (their page closed or went to the background), so others
        get those pairs at once; returns how many were released."""
        check_labeler(labeler)
        ids = [int(i) for i in query_ids]
        with self.store.transaction() as db:
            return sum(
                db.execute("DELETE FROM leases WHERE query_id = ? AND labeler = ?", (i, labeler)).rowcount for i in ids
            )

    def renew(self, labeler: str, query_ids: Iterable[int]) -> int:
        """Give ``labeler``'s leases on ``query_ids`` a fresh ``lease_seconds`` (their page still shows them: a
        person watching a pair for long keeps it); returns how many were renewed. A lease that ran out is renewed
        too while nobody else has taken its pair."""
        check_labeler(labeler)
        ids = [int(i) for i in query_ids]
        with self.store.transaction() as db:
            expires = time.time() + self.lease_seconds
            return sum(
                db.execute(
                    f"UPDATE leases SET expires_at = ? WHERE query_id = ? AND labeler = ? AND query_id IN "
                    f"(SELECT q.id FROM queries q WHERE {_UNANSWERED})",
                    (expires, i, labeler),
                ).rowcount
                for i in ids
            )

    def undo(self, labeler: str) -> Lease:
        """Take back ``labeler``'s last answer (if younger than ``undo_seconds``) and lease its pair to them again.

        Raises:
            QueueError: ``conflict`` when they have no answer young enough to undo.
        """
        check_labeler(labeler)
        with self.store.transaction() as db:
            now = time.time()
            row = db.execute(
                "SELECT query_id, answered_at FROM answers WHERE labeler = ? ORDER BY answered_at DESC LIMIT 1",
                (labeler,),
            ).fetchone()
            if row is None or now - row[1] >= self.undo_seconds:
                raise QueueError("conflict", f"{labeler} has no answer from the last {self.undo_seconds:g} s to undo")
            db.execute("DELETE FROM answers WHERE query_id = ?", (row[0],))
            expires = now + self.lease_seconds
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (row[0], labeler, expires))
            return self._lease(db, row[0], expires)

    def progress(self) -> Progress:
        """Counts for the page's progress line and stats view."""
        db = self.store.connection
        params = self._params(time.time())
        labels = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        waiting = db.execute(f"SELECT COUNT(*) FROM queries q WHERE {_UNANSWERED}").fetchone()[0]
        ready = db.execute(
            f"SELECT COUNT(*) FROM queries q WHERE q.rendered_at IS NOT NULL AND {_UNANSWERED} AND NOT {_LEASED}",
            params,
        ).fetchone()[0]
        labelers = dict(db.execute("SELECT labeler, COUNT(*) FROM answers GROUP BY labeler ORDER BY labeler"))
        return Progress(labels, waiting, ready, int(self.store.meta("agent_timestep", "0") or 0), labelers)

    def room(self, ahead: int = RENDER_AHEAD) -> int:
        """How many new pairs a trainer should choose now, so that each is rendered the moment it is chosen.

        Every fresh pair waiting (not answered, not leased) is served before a new one can be, so a pair chosen
        while fewer than ``ahead`` wait is among the next ``ahead`` to serve, which the renderer renders at once:
        people get pairs chosen moments ago (from the newest policy and r_hat), not a backlog the schedule chose
        faster than they answer. While the labelers have ``ahead // 2`` pairs ready, pairs are chosen one at a
        time, only once the last one is rendered (several answers at once would otherwise queue several pairs
        behind each other at the renderer); below that, two at a time, which keeps the renderer busy without a
        queue behind it.
        """
        # Of the pairs neither answered nor leased: the fresh ones, the fresh ones not rendered yet, the rendered ones.
        waiting, rendering, ready = self.store.connection.execute(
            "SELECT COUNT(*) FILTER (WHERE q.timestep >= :fresh_from), "
            "COUNT(*) FILTER (WHERE q.timestep >= :fresh_from AND q.rendered_at IS NULL), "
            f"COUNT(q.rendered_at) FROM queries q WHERE {_UNANSWERED} AND NOT {_LEASED}",
            self._params(time.time()),
        ).fetchone()
        in_flight = 1 if ready >= ahead // 2 else 2
        return max(0, min(ahead - waiting, in_flight - rendering))

    def to_render(self, ahead: int) -> list[tuple[int, int, int]]:
        """Pairs to render now, as ``(query id, left clip, right clip)``, in serving order.

        Those of the next ``ahead`` pairs to serve that are not rendered yet: a new pair that goes to the front
        of the queue is rendered at once, one at the back waits until labelers get near it.
        """
        rows = self.store.connection.execute(
            f"SELECT q.id, q.left_clip, q.right_clip, q.rendered_at FROM queries q WHERE {_UNANSWERED} "
            f"AND NOT {_LEASED} {_ORDER} LIMIT :n",
            self._params(time.time()) | {"n": ahead},
        ).fetchall()
        return [(query_id, left, right) for query_id, left, right, rendered in rows if rendered is None]

    def mark_rendered(self, query_id: int) -> None:
        """Record that both videos of a pair are written (it can now be served)."""
        with self.store.transaction() as db:
            db.execute("UPDATE queries SET rendered_at = ? WHERE id = ?", (time.time(), query_id))
