"""The label queue, the human teacher, schema migration and answer export / import (no web server)."""

import json
import sqlite3
import threading
import time

import numpy as np
import pytest

from prefrl.labeling.answers_io import clip_digest, export_answers, import_answers
from prefrl.labeling.queue import LabelQueue, QueueError
from prefrl.preference import Preference
from prefrl.store import SCHEMA_VERSION, PreferenceStore
from prefrl.teachers.human import HumanTeacher


def open_queue(run, **kwargs):
    return LabelQueue(PreferenceStore.open(run / "preferences.sqlite"), **kwargs)


def render_all(queue):
    for query_id in range(1, queue.store.count_queries() + 1):
        queue.mark_rendered(query_id)


def test_serves_rendered_pairs_most_uncertain_first(hopper_run):
    queue = open_queue(hopper_run(pairs=3, uncertainties=[0.5, 0.9, 0.1]))
    assert queue.lease_next("ann") is None  # nothing rendered yet
    assert [q for q, *_ in queue.to_render(ahead=2)] == [2, 1]  # renders in serving order, only `ahead`
    render_all(queue)
    assert queue.to_render(ahead=2) == []
    held: set[int] = set()
    for _ in range(3):
        held.add(queue.lease_next("ann", frozenset(held)).query_id)
        assert queue.to_render(ahead=2) == []
    assert held == {1, 2, 3} and queue.lease_next("ann", frozenset(held)) is None
    assert queue.lease_next("bob") is None  # all leased to ann


def test_stale_pairs_go_behind_fresh_ones(hopper_run):
    queue = open_queue(hopper_run(pairs=2, uncertainties=[0.9, 0.1], timesteps=[0, 500_000]), stale_steps=100_000)
    render_all(queue)
    queue.store.set_meta("agent_timestep", "550000")
    assert queue.lease_next("ann").query_id == 2  # fresh, though less uncertain
    assert queue.lease_next("ann", frozenset({2})).query_id == 1  # stale: served when nothing fresher waits


def test_room_keeps_fresh_pairs_just_ahead_of_the_labelers(hopper_run):
    queue = open_queue(hopper_run(pairs=6, timesteps=[0, 0, *[500_000] * 4]), stale_steps=100_000)
    queue.store.set_meta("agent_timestep", "550000")  # pairs 1 and 2 are stale: served after any new pair
    assert queue.room(ahead=8) == 0 and queue.room(ahead=4) == 0  # nothing ready, but 4 to render already
    for query_id in range(1, 6):
        queue.mark_rendered(query_id)
    assert queue.room(ahead=8) == 0  # labelers have 5 ready and pair 6 still renders: a new one would queue
    queue.mark_rendered(6)
    assert queue.room(ahead=8) == 1  # renderer idle: one at a time
    held: frozenset[int] = frozenset()
    for _ in range(3):
        held |= {queue.lease_next("ann", held).query_id}
    assert held <= {3, 4, 5, 6}  # fresh first
    assert queue.room(ahead=8) == 2  # 3 ready (1 fresh, 2 stale) < 8 // 2: the labelers run short, two at a time
    queue.store.set_meta("agent_timestep", "700000")  # now every pair is stale: none counts as waiting
    assert queue.room(ahead=8) == 2 and queue.room(ahead=1) == 1


def test_expired_lease_returns_the_pair(hopper_run):
    queue = open_queue(hopper_run(pairs=1), lease_seconds=0.05)
    render_all(queue)
    assert queue.lease_next("ann").query_id == 1
    assert queue.lease_next("bob") is None
    time.sleep(0.06)
    assert queue.lease_next("bob").query_id == 1
    with pytest.raises(QueueError, match="not leased to ann"):
        queue.answer(1, Preference.LEFT, "ann")


def test_renewed_lease_keeps_the_pair(hopper_run):
    queue = open_queue(hopper_run(pairs=2), lease_seconds=0.2)
    render_all(queue)
    assert queue.lease_next("ann").query_id == 2
    time.sleep(0.25)  # ran out; nobody took it, so ann's page can still renew it
    assert queue.renew("bob", [2]) == 0 and queue.renew("ann", [2, 1]) == 1  # only ann's own lease
    assert queue.lease_next("bob").query_id == 1
    time.sleep(0.1)
    assert queue.renew("ann", [2]) == 1
    time.sleep(0.15)  # 0.25 s after ann's first renewal, 0.15 s after her second: still hers; bob's ran out
    assert queue.lease_next("carl").query_id == 1 and queue.lease_next("carl", frozenset({1})) is None
    queue.answer(2, Preference.LEFT, "ann")
    assert queue.renew("ann", [2]) == 0  # answered: nothing left to hold


def test_reloaded_page_gets_its_own_leases_back(hopper_run):
    queue = open_queue(hopper_run(pairs=3))
    render_all(queue)
    first, second = queue.lease_next("ann"), queue.lease_next("ann", frozenset({3}))
    assert (first.query_id, second.query_id) == (3, 2)
    assert queue.lease_next("ann").query_id == 3  # holding nothing: the pair it leased first, again
    assert queue.lease_next("ann", frozenset({3, 2})).query_id == 1


def test_answer_rules(hopper_run):
    queue = open_queue(hopper_run(pairs=2))
    render_all(queue)
    with pytest.raises(QueueError, match="no pair 99") as e:
        queue.answer(99, Preference.LEFT, "ann")
    assert e.value.kind == "not_found"
    with pytest.raises(QueueError, match="not leased"):
        queue.answer(2, Preference.LEFT, "ann")
    queue.lease_next("ann")
    with pytest.raises(QueueError, match="not leased to bob"):
        queue.answer(2, Preference.LEFT, "bob")
    answer = queue.answer(2, Preference.EQUAL, "ann")
    assert (answer.query_id, answer.preference, answer.labeler) == (2, Preference.EQUAL, "ann")
    with pytest.raises(QueueError, match="already answered"):
        queue.answer(2, Preference.LEFT, "ann")
    with pytest.raises(ValueError, match="labeler name"):
        queue.lease_next("")
    progress = queue.progress()
    assert (progress.labels, progress.waiting, progress.labelers) == (1, 1, {"ann": 1})


def test_undo_within_the_window_only(hopper_run):
    queue = open_queue(hopper_run(pairs=2), undo_seconds=0.2)
    render_all(queue)
    with pytest.raises(QueueError, match="no answer"):
        queue.undo("ann")
    queue.lease_next("ann")
    queue.answer(2, Preference.LEFT, "ann")
    lease = queue.undo("ann")
    assert lease.query_id == 2 and queue.store.count_answers() == 0
    queue.answer(2, Preference.RIGHT, "ann")  # leased back to ann: she answers again
    time.sleep(0.21)
    with pytest.raises(QueueError, match="no answer"):
        queue.undo("ann")
    assert queue.store.answers()[0].preference is Preference.RIGHT


def test_two_connections_never_lease_one_pair_twice(hopper_run):
    """Two labelers on two servers (two connections, as two processes would have) drain one queue."""
    run = hopper_run(pairs=30)
    render_all(open_queue(run))
    answered: dict[str, list[int]] = {"ann": [], "bob": []}

    def label(name):
        queue = open_queue(run)
        while (lease := queue.lease_next(name)) is not None:
            answered[name].append(queue.answer(lease.query_id, Preference.LEFT, name).query_id)

    threads = [threading.Thread(target=label, args=(name,)) for name in answered]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = answered["ann"] + answered["bob"]
    assert sorted(both) == list(range(1, 31))  # every pair answered, none twice
    assert open_queue(run).progress().labelers == {name: len(ids) for name, ids in answered.items() if ids}


def test_human_teacher_hands_over_settled_answers_once(hopper_run):
    run = hopper_run(pairs=2)
    queue = open_queue(run, undo_seconds=0.2)
    render_all(queue)
    woken = []
    teacher = HumanTeacher(
        PreferenceStore.open(run / "preferences.sqlite"), undo_seconds=0.2, on_ask=lambda: woken.append(1)
    )
    teacher.ask([queue.store.query(1)])
    assert woken == [1]
    queue.lease_next("ann")
    queue.answer(2, Preference.LEFT, "ann")
    assert teacher.answers() == [] and teacher.waiting() == 1  # still undoable: not handed over yet
    queue.undo("ann")
    queue.answer(2, Preference.RIGHT, "ann")
    time.sleep(0.21)
    (answer,) = teacher.answers()
    assert (answer.query_id, answer.preference) == (2, Preference.RIGHT)
    assert teacher.answers() == []


def test_the_trainer_honours_the_longer_undo_window_of_the_page(hopper_run):
    from prefrl.teachers.human import UNDO_META

    run = hopper_run(pairs=1)
    queue = open_queue(run, undo_seconds=0.3)
    queue.store.set_meta(UNDO_META, "0.3")  # as LabelServer does: prefrl label --undo-seconds 0.3
    render_all(queue)
    teacher = HumanTeacher(PreferenceStore.open(run / "preferences.sqlite"), undo_seconds=0.0)
    queue.lease_next("ann")
    queue.answer(1, Preference.LEFT, "ann")
    time.sleep(0.1)
    assert teacher.answers() == []  # past the trainer's own window, still inside the page's
    queue.undo("ann")
    queue.answer(1, Preference.RIGHT, "ann")
    time.sleep(0.35)
    (answer,) = teacher.answers()
    assert answer.preference == Preference.RIGHT  # the answer the person kept, not the one undone


def test_version_1_database_is_migrated(hopper_run):
    db = hopper_run(pairs=1) / "preferences.sqlite"
    con = sqlite3.connect(db)
    con.executescript("DROP TABLE leases; ALTER TABLE queries DROP COLUMN rendered_at; PRAGMA user_version = 1;")
    con.close()
    queue = open_queue(db.parent)
    assert queue.store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    render_all(queue)
    assert queue.lease_next("ann").query_id == 1


def test_export_then_import_into_another_run(hopper_run):
    source = open_queue(hopper_run(pairs=2, name="a"))
    render_all(source)
    for pref in (Preference.LEFT, Preference.UNSURE):
        source.answer(source.lease_next("ann").query_id, pref, "ann")
    path = source.store.path.parent / "labels.jsonl"
    assert export_answers(source.store, path) == 2
    line = json.loads(path.read_text().splitlines()[0])
    assert {"query_id", "left_clip", "right_clip", "preference", "labeler", "time", "left", "right"} <= set(line)

    target = PreferenceStore.open(hopper_run(pairs=1, name="b") / "preferences.sqlite")
    assert import_answers(target, path) == (2, 0)
    assert (target.count_queries(), target.count_answers()) == (3, 2)
    assert sorted(a.preference.value for a in target.answers()) == ["left", "unsure"]
    original, copied = source.store.query(2), target.query(target.answers()[0].query_id)
    assert (copied.left.qpos == original.left.qpos).all()  # exact round trip


def test_import_checks_the_whole_file_first(hopper_run):
    source = open_queue(hopper_run(pairs=1, name="a"))
    render_all(source)
    source.answer(source.lease_next("ann").query_id, Preference.LEFT, "ann")
    good = source.store.path.parent / "labels.jsonl"
    export_answers(source.store, good)
    target = PreferenceStore.open(hopper_run(pairs=1, name="b") / "preferences.sqlite")
    bad = good.with_name("bad.jsonl")
    bad.write_text(good.read_text() + '{"env_id": "prefrl/Hopper-v0"}\n')
    with pytest.raises(ValueError, match="line 2"):
        import_answers(target, bad)
    other_task = good.with_name("other.jsonl")
    other_task.write_text(good.read_text().replace("prefrl/Hopper-v0", "prefrl/Walker2d-v0"))
    with pytest.raises(ValueError, match="Walker2d"):
        import_answers(target, other_task)
    assert (target.count_queries(), target.count_answers()) == (1, 0)


def dump(store):
    """Every row of the tables an import writes to, to check that nothing stored changed."""
    db = store.connection
    return [db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in ("clips", "queries", "answers")]


def test_importing_the_same_file_twice_adds_each_pair_once(hopper_run):
    source = open_queue(hopper_run(pairs=3, name="a"))
    render_all(source)
    for pref in (Preference.LEFT, Preference.RIGHT):
        source.answer(source.lease_next("ann").query_id, pref, "ann")
    first = source.store.path.parent / "first.jsonl"
    export_answers(source.store, first)
    source.answer(source.lease_next("ann").query_id, Preference.EQUAL, "ann")
    both = source.store.path.parent / "all.jsonl"
    export_answers(source.store, both)  # the two pairs of `first` and one more

    target = PreferenceStore.open(hopper_run(pairs=1, name="b") / "preferences.sqlite")
    assert import_answers(target, first) == (2, 0)
    before = dump(target)
    assert import_answers(target, first) == (0, 2)
    assert dump(target) == before  # nothing stored changed
    assert import_answers(target, both) == (1, 2)  # only the new pair
    assert (target.count_queries(), target.count_answers()) == (4, 3)
    assert all(now[: len(was)] == was for now, was in zip(dump(target), before))  # earlier rows as they were
    pairs = [tuple(r) for r in target.connection.execute("SELECT left_clip, right_clip FROM queries")]
    keys = [frozenset((clip_digest(target.clip(a)), clip_digest(target.clip(b)))) for a, b in pairs]
    assert len(set(keys)) == len(keys) == 4  # each pair once
    assert sorted(a.preference.value for a in target.answers()) == ["equal", "left", "right"]


def test_import_skips_pairs_the_run_holds_in_any_order_or_dtype(hopper_run):
    run = open_queue(hopper_run(pairs=2))
    render_all(run)
    run.answer(run.lease_next("ann").query_id, Preference.LEFT, "ann")
    path = run.store.path.parent / "labels.jsonl"
    export_answers(run.store, path)
    assert run.store.clip(1).actions.dtype == np.float32  # the file holds float64: equal clips all the same
    before = dump(run.store)
    assert import_answers(run.store, path) == (0, 1)  # back into the run it came from
    line = json.loads(path.read_text())
    line["left"], line["right"] = line["right"], line["left"]
    line["preference"] = "right"
    swapped = path.with_name("swapped.jsonl")
    swapped.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    assert import_answers(run.store, swapped) == (0, 2)  # the same two clips, the other way round
    assert dump(run.store) == before
