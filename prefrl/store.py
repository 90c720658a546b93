"""``PreferenceStore``: every clip, query and answer of a run, in one SQLite database.

Each write is its own transaction, committed before the call returns, so a crash loses nothing that was
acknowledged. The database runs in WAL mode, so the trainer and a labeling server can share it. Clip arrays
are stored as ``.npy`` bytes (no pickle).

Tables: ``meta`` (key/value: application, schema version, env id, the agent's timestep), ``clips``,
``queries`` (two clip ids, when/why the pair was chosen, and when its videos were rendered), ``answers`` (at
most one per query: the first answer wins) and ``leases`` (which labeler is being shown which pair, until when).
"""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from prefrl.preference import Answer, Comparison, Preference, Query
from prefrl.segment import Segment

APPLICATION_ID = 0x70726566  # "pref": marks a database as prefrl's (PRAGMA application_id)
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE clips (
    id INTEGER PRIMARY KEY,
    timestep INTEGER NOT NULL,
    length INTEGER NOT NULL,
    obs BLOB NOT NULL, actions BLOB NOT NULL, true_rewards BLOB NOT NULL, qpos BLOB NOT NULL, qvel BLOB NOT NULL
);
CREATE TABLE queries (
    id INTEGER PRIMARY KEY,
    left_clip INTEGER NOT NULL REFERENCES clips(id),
    right_clip INTEGER NOT NULL REFERENCES clips(id),
    timestep INTEGER NOT NULL,
    uncertainty REAL NOT NULL,
    created_at REAL NOT NULL,
    rendered_at REAL
);
CREATE TABLE answers (
    query_id INTEGER PRIMARY KEY REFERENCES queries(id),
    preference TEXT NOT NULL CHECK (preference IN ('left', 'right', 'equal', 'unsure')),
    labeler TEXT NOT NULL,
    answered_at REAL NOT NULL
);
CREATE TABLE leases (
    query_id INTEGER PRIMARY KEY REFERENCES queries(id),
    labeler TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Each step turns a database of schema version ``i + 1`` into one of version ``i + 2``.
_MIGRATIONS = [
    """
    ALTER TABLE queries ADD COLUMN rendered_at REAL;
    CREATE TABLE leases (
        query_id INTEGER PRIMARY KEY REFERENCES queries(id),
        labeler TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    """,
]


class StoreError(ValueError):
    """The file is not a usable prefrl preference database."""


def _to_blob(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _from_blob(blob: bytes) -> np.ndarray:
    return np.load(io.BytesIO(blob), allow_pickle=False)


class PreferenceStore:
    """The run's preference database.

    Use ``PreferenceStore.create`` for a new run and ``PreferenceStore.open`` to continue or inspect one.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self._db = connection
        self.path = path

    @classmethod
    def create(cls, path: str | Path, env_id: str) -> PreferenceStore:
        """Create a new database at ``path`` (which must not exist) for the task ``env_id``."""
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} already exists; open it instead of creating it")
        db = cls._connect(path)
        with db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("application", "prefrl"), ("env_id", env_id)])
        return cls(db, path)

    @classmethod
    def open(cls, path: str | Path) -> PreferenceStore:
        """Open an existing database; ``StoreError`` if it is missing, corrupt or not prefrl's."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"no preference database at {path}")
        version = cls._check_read_only(path)  # a file that is not prefrl's is refused untouched
        db = cls._connect(path)
        if version < SCHEMA_VERSION:
            cls._migrate(db)
        return cls(db, path)

    @staticmethod
    def _check_read_only(path: Path) -> int:
        """The schema version of prefrl's database at ``path``, read without writing to the file (not even
        switching its journal mode); ``StoreError`` for anything else."""
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a readable SQLite database ({e}); restore it or start a new run") from None
        try:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a readable SQLite database ({e}); restore it or start a new run") from None
        finally:
            db.close()
        if app_id != APPLICATION_ID:
            raise StoreError(f"{path} is not a prefrl preference database; point to a run directory made by prefrl")
        if not 1 <= version <= SCHEMA_VERSION:
            raise StoreError(f"{path} has schema version {version}, this prefrl reads up to {SCHEMA_VERSION}")
        return version

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring an older database up to ``SCHEMA_VERSION`` in one transaction (runs made by older prefrl)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
            for step in _MIGRATIONS[current - 1 :]:
                for statement in filter(str.strip, step.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.commit()
        except BaseException:
            db.rollback()
            raise

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PreferenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._db.in_transaction:  # called inside ``transaction()``: its commit covers this write too
            yield self._db
            return
        with self._db:
            yield self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its first statement.

        What is read inside it cannot change before it commits, even with other processes (a labeling server
        and a trainer) writing to the same file; it commits on exit, or rolls back on an exception.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for reads by modules that build on the schema (``LabelQueue``); write through
        ``transaction``."""
        return self._db

    @property
    def env_id(self) -> str:
        return self._db.execute("SELECT value FROM meta WHERE key = 'env_id'").fetchone()[0]

    def set_meta(self, key: str, value: str) -> None:
        """Set one ``meta`` entry (e.g. ``agent_timestep``, which the labeling page shows)."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str | None = None) -> str | None:
        """One ``meta`` entry; ``default`` if it was never set."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def _insert_clip(self, db: sqlite3.Connection, clip: Segment) -> int:
        cursor = db.execute(
            "INSERT INTO clips (timestep, length, obs, actions, true_rewards, qpos, qvel) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                int(clip.timestep),
                len(clip),  # int(): a numpy integer would be stored as a BLOB
                *map(_to_blob, (clip.obs, clip.actions, clip.true_rewards, clip.qpos, clip.qvel)),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_queries(self, queries: Sequence[Query]) -> list[Query]:
        """Store new queries (their ``id`` is ignored) and their clips; returns them with their ids."""
        stored = []
        now = time.time()
        with self._transaction() as db:
            for q in queries:
                left, right = self._insert_clip(db, q.left), self._insert_clip(db, q.right)
                cursor = db.execute(
                    "INSERT INTO queries (left_clip, right_clip, timestep, uncertainty, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (left, right, int(q.timestep), float(q.uncertainty), now),  # numpy scalars would be BLOBs
                )
                assert cursor.lastrowid is not None
                stored.append(Query(cursor.lastrowid, q.left, q.right, q.timestep, q.uncertainty))
        return stored

    def add_answers(self, answers: Sequence[Answer]) -> int:
        """Store answers; an answer to an already answered query is ignored. Returns how many were new."""
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO answers (query_id, preference, labeler, answered_at) VALUES (?, ?, ?, ?)",
                [(a.query_id, a.preference.value, a.labeler, a.time) for a in answers],
            )
            return db.total_changes - before

    def clip(self, clip_id: int) -> Segment:
        """One stored clip."""
        row = self._db.execute(
            "SELECT obs, actions, true_rewards, qpos, qvel, timestep FROM clips WHERE id = ?", (clip_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no clip {clip_id}")
        obs, actions, true_rewards, qpos, qvel = (_from_blob(blob) for blob in row[:5])
        return Segment(obs, actions, true_rewards, qpos, qvel, timestep=row[5])

    def query(self, query_id: int) -> Query:
        """One stored query with its clips."""
        row = self._db.execute(
            "SELECT id, left_clip, right_clip, timestep, uncertainty FROM queries WHERE id = ?", (query_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no query {query_id}")
        return Query(row[0], self.clip(row[1]), self.clip(row[2]), row[3], row[4])

    def answers(self, after: float = -1.0) -> list[Answer]:
        """Answers given after Unix time ``after`` (all by default), oldest first."""
        rows = self._db.execute(
            "SELECT query_id, preference, labeler, answered_at FROM answers WHERE answered_at > ? "
            "ORDER BY answered_at, query_id",
            (after,),
        ).fetchall()
        return [Answer(q, Preference(p), who, t) for q, p, who, t in rows]

    def comparisons(self, answers: Sequence[Answer] | None = None) -> list[Comparison]:
        """Answered queries as training comparisons (pairs answered "can't tell" are left out).

        Args:
            answers: The answers to turn into comparisons; all stored answers by default.
        """
        comparisons = []
        for answer in self.answers() if answers is None else answers:
            comparison = Comparison.from_answer(self.query(answer.query_id), answer)
            if comparison is not None:
                comparisons.append(comparison)
        return comparisons

    def last_ids(self) -> tuple[int, int]:
        """The highest query id and clip id stored (0 for none): where ``forget_after`` cuts."""
        q = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM queries").fetchone()[0]
        c = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM clips").fetchone()[0]
        return q, c

    def forget_after(self, query_id: int, clip_id: int) -> int:
        """Delete the queries after ``query_id``, their answers and leases, and the clips after ``clip_id`` (a run
        with a synthetic teacher going back to its checkpoint: it will ask them again, and get the same answers);
        returns how many answers were deleted."""
        with self._transaction() as db:
            answers = db.execute("DELETE FROM answers WHERE query_id > ?", (query_id,)).rowcount
            db.execute("DELETE FROM leases WHERE query_id > ?", (query_id,))
            db.execute("DELETE FROM queries WHERE id > ?", (query_id,))
            db.execute("DELETE FROM clips WHERE id > ?", (clip_id,))
        return answers

    def forget_labels(self) -> int:
        """Delete every clip, query, answer and lease (a run with a synthetic teacher starting over: its teacher
        will give the same answers again); returns how many answers were deleted."""
        answers = self.count_answers()
        with self._transaction() as db:
            for table in ("leases", "answers", "queries", "clips"):  # children first (foreign keys)
                db.execute(f"DELETE FROM {table}")
        return answers

    def count_queries(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM queries").fetchone()[0]

    def count_answers(self, preference: Preference | None = None) -> int:
        """Answers stored (only those of ``preference``, if given: ``UNSURE`` counts the skipped pairs)."""
        if preference is None:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        query = "SELECT COUNT(*) FROM answers WHERE preference = ?"
        return self._db.execute(query, (preference.value,)).fetchone()[0]

    def unanswered(self) -> list[int]:
        """Ids of queries still waiting for an answer, most uncertain first."""
        rows = self._db.execute(
            "SELECT id FROM queries WHERE id NOT IN (SELECT query_id FROM answers) ORDER BY uncertainty DESC, id"
        ).fetchall()
        return [r[0] for r in rows]
