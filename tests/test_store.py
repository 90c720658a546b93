import os
import sqlite3

import numpy as np
import pytest

from prefrl.preference import Answer, Preference, Query
from prefrl.store import PreferenceStore, StoreError


def test_round_trip(tmp_path, clip):
    with PreferenceStore.create(tmp_path / "p.sqlite", "prefrl/Hopper-v0") as store:
        left, right = clip([1.0, 2.0], timestep=10), clip([0.5, 0.5], timestep=20)
        (q,) = store.add_queries([Query(-1, left, right, timestep=30, uncertainty=0.25)])
        assert q.id > 0 and store.count_queries() == 1 and store.unanswered() == [q.id]
        assert store.add_answers([Answer(q.id, Preference.LEFT, "ann", 100.0)]) == 1
    with PreferenceStore.open(tmp_path / "p.sqlite") as store:
        assert store.env_id == "prefrl/Hopper-v0"
        back = store.query(q.id)
        np.testing.assert_array_equal(back.left.obs, left.obs)
        np.testing.assert_array_equal(back.right.true_rewards, right.true_rewards)
        assert (back.left.timestep, back.timestep, back.uncertainty) == (10, 30, 0.25)
        (c,) = store.comparisons()
        assert c.target == 1.0 and store.unanswered() == []
        assert store.answers()[0].labeler == "ann"


def test_first_answer_wins(tmp_path, clip):
    with PreferenceStore.create(tmp_path / "p.sqlite", "e") as store:
        (q,) = store.add_queries([Query(-1, clip([1]), clip([0]), 0)])
        assert store.add_answers([Answer(q.id, Preference.LEFT, "a", 1.0)]) == 1
        assert store.add_answers([Answer(q.id, Preference.RIGHT, "b", 2.0)]) == 0
        assert store.answers()[0].preference is Preference.LEFT


def test_cant_tell_is_stored_but_not_trained_on(tmp_path, clip):
    with PreferenceStore.create(tmp_path / "p.sqlite", "e") as store:
        (q,) = store.add_queries([Query(-1, clip([1]), clip([0]), 0)])
        store.add_answers([Answer(q.id, Preference.UNSURE, "a", 1.0)])
        assert store.count_answers() == 1 and store.comparisons() == []


def test_answer_to_unknown_query_changes_nothing(tmp_path):
    with PreferenceStore.create(tmp_path / "p.sqlite", "e") as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.add_answers([Answer(99, Preference.LEFT, "a", 1.0)])
        assert store.count_answers() == 0


def test_foreign_and_corrupt_databases(tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a prefrl preference database"):
        PreferenceStore.open(foreign)
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable SQLite database"):
        PreferenceStore.open(corrupt)
    assert corrupt.read_bytes() == b"this is not a database" * 100  # left as it was
    with pytest.raises(StoreError, match="no preference database"):
        PreferenceStore.open(tmp_path / "missing.sqlite")


def test_create_never_overwrites(tmp_path):
    path = tmp_path / "p.sqlite"
    PreferenceStore.create(path, "e").close()
    with pytest.raises(StoreError, match="already exists"):
        PreferenceStore.create(path, "e")


@pytest.mark.parametrize("content", [b"", b"garbage" * 50, "foreign"], ids=["empty", "garbage", "foreign"])
def test_a_database_that_is_not_prefrls_is_refused_untouched(tmp_path, content):
    path = tmp_path / "preferences.sqlite"
    if content == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE other (x)")
        db.close()
    else:
        path.write_bytes(content)
    before, stat = path.read_bytes(), os.stat(path)
    with pytest.raises(StoreError):
        PreferenceStore.open(path)
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preferences.sqlite"]  # no -wal or -shm left behind
