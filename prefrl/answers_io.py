"""Export a run's answers, with their clips, as JSON Lines; import them into another run.

    prefrl export runs/Hopper__pref700__0__20261129-120000 hopper_labels.jsonl
    prefrl import runs/Hopper__pref700__1__20261130-090000 hopper_labels.jsonl

One line per answer: ``env_id``, ``query_id``, ``left_clip``, ``right_clip``, ``timestep``, ``uncertainty``,
``preference``, ``labeler``, ``time``, and the two clips (``left``, ``right``: ``obs``, ``actions``,
``true_rewards``, ``qpos``, ``qvel`` as nested lists, and ``timestep``), so the labels can train a reward model
in a run that never saw those clips. Floats round-trip exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

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


def import_answers(store: PreferenceStore, path: str | Path) -> int:
    """Add the pairs and answers in ``path`` to ``store`` as new queries; returns how many.

    The whole file is checked before anything is written: a file for another task, or a malformed line, raises
    ``ValueError`` naming the line, and leaves the store unchanged.
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
    # One transaction for all of it: an import is either complete or absent.
    with store.transaction():
        stored = store.add_queries([q for q, *_ in pairs])
        store.add_answers([Answer(q.id, pref, who, t) for q, (_, pref, who, t) in zip(stored, pairs)])
    return len(pairs)
