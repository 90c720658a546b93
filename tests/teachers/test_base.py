from prefrl.preference import Comparison, Preference, Query
from prefrl.teachers.base import SyntheticOracle


def query(clip, left, right, qid=1):
    return Query(qid, clip(left), clip(right), timestep=0)


def test_oracle_prefers_the_higher_true_return(clip):
    oracle = SyntheticOracle()
    assert oracle.judge(query(clip, [1, 2], [0, 0])) is Preference.LEFT
    assert oracle.judge(query(clip, [0, 0], [1, 2])) is Preference.RIGHT
    assert oracle.judge(query(clip, [1, 1], [2, 0])) is Preference.EQUAL


def test_tie_tolerance(clip):
    oracle = SyntheticOracle(tie_tolerance=0.5)
    assert oracle.judge(query(clip, [1.0], [1.4])) is Preference.EQUAL
    assert oracle.judge(query(clip, [1.0], [1.6])) is Preference.RIGHT


def test_answers_through_ask_and_poll(clip):
    oracle = SyntheticOracle()
    assert oracle.answers() == []
    oracle.ask([query(clip, [1], [0], qid=5), query(clip, [0], [1], qid=6)])
    answers = oracle.answers()
    assert [(a.query_id, a.preference, a.labeler) for a in answers] == [
        (5, Preference.LEFT, "oracle"),
        (6, Preference.RIGHT, "oracle"),
    ]
    assert oracle.answers() == []  # each answer is handed over once


def test_preference_targets_and_dropped_pairs(clip):
    q = query(clip, [1], [0], qid=3)
    from prefrl.preference import Answer

    assert Comparison.from_answer(q, Answer(3, Preference.LEFT, "x", 0.0)).target == 1.0
    assert Comparison.from_answer(q, Answer(3, Preference.RIGHT, "x", 0.0)).target == 0.0
    assert Comparison.from_answer(q, Answer(3, Preference.EQUAL, "x", 0.0)).target == 0.5
    assert Comparison.from_answer(q, Answer(3, Preference.UNSURE, "x", 0.0)) is None
