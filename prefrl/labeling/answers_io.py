"""Export a run's answers, with their clips, as JSON Lines; import them into another run.

    prefrl export runs/Hopper__pref700__0__20261129-120000 hopper_labels.jsonl
    prefrl import runs/Hopper__pref700__1__20261130-090000 hopper_labels.jsonl

One line per answer: ``env_id``, ``query_id``, ``left_clip``, ``right_clip``, ``timestep``, ``uncertainty``,
``preference``, ``labeler``, ``time``, and the two clips (``left``, ``right``: ``obs``, ``actions``,
``true_rewards``, ``qpos``, ``qvel`` as nested lists, and ``timestep``), so the labels can train a reward model
in a run that never saw those clips. Floats round-trip exactly.

Importing is idempotent: a pair whose two clips the run already holds (as a pair, in either order) is skipped,
so importing a file twice, or a file that overlaps an earlier one, adds each pair once. Clips are compared by
their contents (``clip_digest``), since ids differ between runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from prefrl.preference import Answer, Preference, Query
from prefrl.segment import Segment
from prefrl.store import PreferenceStore

_ARRAYS = ("obs", "actions", "true_rewards", "qpos", "qvel")


def _clip_json(clip: Segment) -> dict:
    return {name: getattr(clip, name).tolist() for name in _ARRAYS} | {"timestep": clip.timestep}


def _clip_from_json(data: dict) -> Segment:
    obs, actions, true_rewards, qpos, qvel = (np.asarray(data[name], dtype=np.float64) for name in _ARRAYS)
    return Segment(obs, actions, true_rewards, qpos, qvel, timestep=int(data["timestep"]))


def clip_digest(clip: Segment) -> bytes:
    """A digest of a clip's steps: equal for equal clips, however they were stored.

    The arrays are hashed as float64 with their shapes, so a run's own clips (float32 actions, say) match their
    copies imported from JSON (float64). The clip's timestep is left out: the same steps are the same clip.
    """
    digest = hashlib.sha256()
    for name in _ARRAYS:
        array = np.ascontiguousarray(getattr(clip, name), dtype=np.float64)
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.digest()


def _pair_key(left: Segment, right: Segment) -> frozenset[bytes]:
    return frozenset((clip_digest(left), clip_digest(right)))  # either order: the same comparison


def _stored_pairs(store: PreferenceStore) -> set[frozenset[bytes]]:
    """The pairs of every query in ``store`` (answered or not), as ``_pair_key``s."""
    digests: dict[int, bytes] = {}

    def digest(clip_id: int) -> bytes:
        if clip_id not in digests:
            digests[clip_id] = clip_digest(store.clip(clip_id))
        return digests[clip_id]

    rows = store.connection.execute("SELECT left_clip, right_clip FROM queries").fetchall()
    return {frozenset((digest(left), digest(right))) for left, right in rows}


class ImportCounts(NamedTuple):
    """What ``import_answers`` did."""

    imported: int
    """Pairs added, each with its answer."""
    skipped: int
    """Pairs left out because the run already held them (or the file held them twice)."""


def export_answers(store: PreferenceStore, path: str | Path) -> int:
    """Write every stored answer with its pair to ``path`` (JSON Lines); returns how many."""
    answers = store.answers()
    env_id = store.env_id
    with Path(path).open("w") as f:
        for a in answers:
            row = store.connection.execute(
                "SELECT left_clip, right_clip FROM queries WHERE id = ?", (a.query_id,)
            ).fetchone()
            q = store.query(a.query_id)
            line = {
                "env_id": env_id,
                "query_id": q.id,
                "left_clip": row[0],
                "right_clip": row[1],
                "timestep": q.timestep,
                "uncertainty": q.uncertainty,
                "preference": a.preference.value,
                "labeler": a.labeler,
                "time": a.time,
                "left": _clip_json(q.left),
                "right": _clip_json(q.right),
            }
            f.write(json.dumps(line) + "\n")
    return len(answers)


def import_answers(store: PreferenceStore, path: str | Path) -> ImportCounts:
    """Add the pairs and answers in ``path`` to ``store`` as new queries; returns how many, and how many it skipped.

    A pair the store already holds (the same two clips, in either order, answered or not) is skipped and nothing
    stored changes, so importing the same file again adds nothing. The whole file is checked before anything is
    written: a file for another task, or a malformed line, raises ``ValueError`` naming the line, and leaves the
    store unchanged.
    """
    pairs: list[tuple[Query, Preference, str, float]] = []
    env_id = store.env_id
    with Path(path).open() as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                if line["env_id"] != env_id:
                    raise ValueError(f"its answers are about {line['env_id']}, this run learns {env_id}")
                query = Query(
                    -1,
                    _clip_from_json(line["left"]),
                    _clip_from_json(line["right"]),
                    int(line["timestep"]),
                    float(line["uncertainty"]),
                )
                pairs.append((query, Preference(line["preference"]), str(line["labeler"]), float(line["time"])))
            except (ValueError, KeyError, TypeError, AssertionError) as e:
                raise ValueError(f"{path}, line {number}: not a prefrl answer ({type(e).__name__}: {e})") from None
    keys = [_pair_key(q.left, q.right) for q, *_ in pairs]
    # One transaction for all of it: an import is either complete or absent, and no other process can add a pair
    # between the check for duplicates and the writes.
    with store.transaction():
        present = _stored_pairs(store)
        new = []
        for key, pair in zip(keys, pairs):
            if key not in present:
                present.add(key)  # a pair the file holds twice is imported once
                new.append(pair)
        stored = store.add_queries([q for q, *_ in new])
        store.add_answers([Answer(q.id, pref, who, t) for q, (_, pref, who, t) in zip(stored, new)])
    return ImportCounts(len(new), len(pairs) - len(new))
