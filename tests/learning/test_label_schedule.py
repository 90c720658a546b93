import pytest

from prefrl.learning.label_schedule import LabelSchedule


def test_quarter_of_the_budget_up_front():
    s = LabelSchedule(700, 1_000_000)
    assert s.initial_labels == 175
    assert s.labels_due(0) == 175


def test_spends_exactly_the_budget_over_the_run():
    s = LabelSchedule(700, 1_000_000)
    asked, t = 0, 0
    while t < s.total_steps:
        t += 2048  # one PPO rollout
        due = s.labels_due(t) - asked
        assert due >= 0
        asked += due
    assert asked == 700
    assert s.labels_due(10**9) == 700


def test_rate_decays_like_the_paper():
    s = LabelSchedule(1400, 10_000_000)
    # labels in the first and the last million steps: rate 2e6 / (T + 2e6) falls from 1 to 1/6
    first = s.labels_due(1_000_000) - s.labels_due(0)
    last = s.labels_due(10_000_000) - s.labels_due(9_000_000)
    assert first > 3 * last
    assert all(s.labels_due(t) <= s.labels_due(t + 1000) for t in range(0, 10_000_000, 250_000))


def test_a_long_decay_spreads_the_labels_evenly():
    s = LabelSchedule(900, 1_000_000, initial_fraction=0.1, decay_steps=1e9)
    assert s.initial_labels == 90
    first = s.labels_due(100_000) - s.labels_due(0)
    last = s.labels_due(1_000_000) - s.labels_due(900_000)
    assert abs(first - last) <= 1 and first == pytest.approx(81, abs=1)  # 810 labels over ten equal spans


@pytest.mark.parametrize("budget,steps", [(0, 100), (10, 0), (-5, 100)])
def test_rejects_non_positive(budget, steps):
    with pytest.raises(ValueError, match="must be positive"):
        LabelSchedule(budget, steps)


def test_after_pretraining_the_schedule_runs_as_from_zero():
    paper = LabelSchedule(700, 900_000)
    late = LabelSchedule(700, 1_000_000, start_step=100_000)
    assert late.labels_due(0) == late.labels_due(99_999) == 0
    assert [late.labels_due(100_000 + t) for t in (0, 300_000, 899_999)] == [
        paper.labels_due(t) for t in (0, 300_000, 899_999)
    ]
    assert late.labels_due(1_000_000) == 700
    with pytest.raises(ValueError, match="start_step"):
        LabelSchedule(700, 1_000, start_step=1_000)
