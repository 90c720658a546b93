import math

import numpy as np
import pytest

from prefrl.preference import Preference, Query
from prefrl.teachers import registry
from prefrl.teachers.base import SyntheticOracle
from prefrl.teachers.bpref import BPrefTeacher, TeacherModel, parse_teacher


def make_teacher(spec, seed=0):
    return registry.make_teacher(spec, env_id="prefrl/Hopper-v0", dt=0.008, seed=seed)


def query(clip, left, right, qid=1):
    return Query(qid, clip(left), clip(right), timestep=0)


def answers(teacher, queries):
    teacher.ask(queries)
    return [a.preference for a in teacher.answers()]


def test_specs_parse_with_b_pref_defaults():
    assert parse_teacher("oracle") == TeacherModel()
    assert parse_teacher("stochastic") == TeacherModel(beta=1.0)
    assert parse_teacher("stochastic:beta=5") == TeacherModel(beta=5.0)
    assert parse_teacher("myopic:gamma=0.5") == TeacherModel(gamma=0.5)
    assert parse_teacher("mistake:eps=0.2") == TeacherModel(mistake=0.2)
    assert parse_teacher(" skip:eps=0.3, scale=50 ") == TeacherModel(skip=0.3, scale=50.0)
    assert parse_teacher("equal") == TeacherModel(equal=0.1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("noisy", "unknown teacher"),
        ("mistake:beta=1", "mistake takes eps"),
        ("mistake:eps", "bad parameter"),
        ("mistake:eps=lots", "must be a number"),
        ("mistake:eps=1.5", r"in \[0, 1\]"),
        ("stochastic:beta=0", "positive"),
        ("myopic:gamma=1.2", r"\(0, 1\]"),
        ("equal:eps=0.1,eps=0.2", "twice"),
        ("oracle:eps=0.1", "no parameters"),
    ],
)
def test_bad_specs_say_what_to_write(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_teacher(spec)


def test_default_is_the_papers_oracle(clip):
    rng = np.random.default_rng(0)
    queries = [query(clip, rng.normal(size=3).round(1), rng.normal(size=3).round(1), i) for i in range(200)]
    oracle = SyntheticOracle()
    assert answers(make_teacher("oracle"), queries) == [oracle.judge(q) for q in queries]
    assert make_teacher("oracle").labeler == "oracle"


def test_mistake_teacher_flips_about_eps_of_answers(clip):
    queries = [query(clip, [1.0, 1.0], [0.0, 0.5], i) for i in range(4000)]
    got = answers(make_teacher("mistake:eps=0.1", seed=1), queries)
    flipped = np.mean([p is Preference.RIGHT for p in got])
    assert abs(flipped - 0.1) < 0.015  # 3 sd of a binomial(4000, 0.1) fraction is 0.014
    assert set(got) == {Preference.LEFT, Preference.RIGHT}


def test_stochastic_teacher_is_boltzmann(clip):
    teacher = make_teacher("stochastic:beta=2", seed=0)
    q = query(clip, [0.5, 0.25], [0.25, 0.0])  # return difference 0.5
    assert teacher.p_left(q) == pytest.approx(1 / (1 + math.exp(-2 * 0.5)))
    got = answers(teacher, [q] * 4000)
    assert abs(np.mean([p is Preference.LEFT for p in got]) - 1 / (1 + math.exp(-1))) < 0.025
    # large beta: nearly the oracle; far apart clips: nearly certain
    assert make_teacher("stochastic:beta=100").p_left(q) > 0.999


def test_myopic_teacher_weighs_later_steps_more(clip):
    teacher = make_teacher("myopic:gamma=0.5")
    early, late = clip([1.0, 0.0, 0.0, 0.0]), clip([0.0, 0.0, 0.0, 0.9])
    assert teacher.perceived_return(early) == pytest.approx(0.125)  # 0.5 ** 3
    assert teacher.perceived_return(late) == pytest.approx(0.9)
    assert answers(teacher, [Query(1, early, late, 0)]) == [Preference.RIGHT]
    assert answers(make_teacher("oracle"), [Query(1, early, late, 0)]) == [Preference.LEFT]


def test_skip_teacher_drops_pairs_where_both_clips_are_bad(clip):
    teacher = make_teacher("skip:eps=0.5,scale=10")  # threshold 5
    got = answers(teacher, [query(clip, [2, 2], [1, 1]), query(clip, [3, 3], [1, 1]), query(clip, [1, 1], [6, 0])])
    assert got == [Preference.UNSURE, Preference.LEFT, Preference.RIGHT]


def test_skip_threshold_follows_the_running_mean_clip_return(clip):
    teacher = make_teacher("skip:eps=1")  # skip when both returns are below the mean clip return seen so far
    assert answers(teacher, [query(clip, [10], [8])]) == [Preference.LEFT]  # scale 9: 10 > 9
    assert answers(teacher, [query(clip, [1], [2])]) == [Preference.UNSURE]  # scale 5.25
    assert teacher.scale() == pytest.approx(5.25)


def test_equal_teacher_ties_close_returns(clip):
    teacher = make_teacher("equal:eps=0.1,scale=-10")  # margin 1 (|scale|)
    got = answers(teacher, [query(clip, [1.0], [1.5]), query(clip, [1.0], [2.5]), query(clip, [3.0], [2.2])])
    assert got == [Preference.EQUAL, Preference.RIGHT, Preference.EQUAL]


def test_equal_answers_are_never_flipped(clip):
    teacher = BPrefTeacher(TeacherModel(mistake=1.0, equal=0.1, scale=10.0))
    assert answers(teacher, [query(clip, [1.0], [1.5]), query(clip, [5.0], [0.0])]) == [
        Preference.EQUAL,
        Preference.RIGHT,  # always a mistake
    ]


def test_seeded_and_answers_handed_over_once(clip):
    queries = [query(clip, [0.2], [0.0], i) for i in range(50)]
    a, b = make_teacher("stochastic:beta=1", seed=3), make_teacher("stochastic:beta=1", seed=3)
    assert answers(a, queries) == answers(b, queries)
    a.ask(queries[:2])
    got = a.answers()
    assert [x.query_id for x in got] == [0, 1] and {x.labeler for x in got} == {"stochastic:beta=1"}
    assert a.answers() == []
