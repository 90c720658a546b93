"""The scripted teachers of the novel behaviours (backflip, one leg), on constructed clips."""

import math

import numpy as np
import pytest
from poses import (
    BACK_UP,
    BOTH_DOWN,
    DT,
    FRONT_UP,
    TURN,
    cheetah_clip,
    flip,
    hopper,
    hopper_clip,
    judge,
    on_floor,
    seq,
    stand,
)

import prefrl.envs  # noqa: F401
from prefrl.preference import Preference, Query
from prefrl.teachers.scripted import BackflipScore, OneLegScore, make_behaviour_teacher


def test_backflip_teacher_prefers_backward_turns_that_end_upright():
    teacher = make_behaviour_teacher("backflip", DT, tie_tolerance=0.01)
    flipped = hopper_clip(seq(flip(), stand(20, pitch=-TURN))[:60])
    two_flips = hopper_clip(
        seq(flip(steps=25), stand(5, pitch=-TURN), flip(start=-TURN, steps=25), stand(5, pitch=-2 * TURN))
    )
    half_flip = hopper_clip(flip(turns=0.5, steps=60))
    standing = hopper_clip(stand(60))
    lying = hopper_clip(on_floor(hopper(np.full(60, -math.pi / 2), 0.0)))
    forward = hopper_clip(seq(flip(turns=-1), stand(20, pitch=TURN))[:60])
    assert judge(teacher, flipped, standing) is Preference.LEFT
    assert judge(teacher, flipped, half_flip) is Preference.LEFT
    assert judge(teacher, two_flips, flipped) is Preference.LEFT
    assert judge(teacher, standing, half_flip) is Preference.RIGHT  # half a turn beats standing still
    assert judge(teacher, forward, standing) is Preference.RIGHT
    assert judge(teacher, lying, standing) is Preference.EQUAL  # neither looks like a flip


def test_backflip_teacher_ignores_turning_on_the_floor():
    score = BackflipScore(DT)
    rolling = hopper_clip(on_floor(hopper(np.linspace(0, -TURN, 60), 0.0)))  # a backward roll, always touching
    rocking = hopper_clip(on_floor(hopper(np.concatenate([np.linspace(0, -1, 15), np.linspace(-1, 0, 15)] * 2), 0.0)))
    falling_forward = hopper_clip(on_floor(hopper(np.linspace(0, math.pi / 2, 60), 0.0)))
    assert score(rolling) == score(rocking) == score(falling_forward) == 0.0
    floating = hopper_clip(hopper(np.linspace(0, -math.pi / 2, 60), 1.5))  # the same turn with nothing touching
    assert score(floating) == pytest.approx(0.25)


def test_backflip_teacher_pays_nothing_for_tipping_back_in_the_air_and_forward_on_the_foot():
    tip_back_in_the_air = hopper(np.linspace(0, -0.6, 15), 1.6)  # 0.1 turns, nothing touching
    rock_forward_on_the_foot = on_floor(hopper(np.linspace(-0.6, 0, 15), 0.0))
    hops = hopper_clip(seq(*[tip_back_in_the_air, rock_forward_on_the_foot] * 4, stand(10)))
    assert BackflipScore(DT)(hops) == pytest.approx(0.0, abs=1e-9)  # no turn, and no landing after one


def test_backflip_teacher_pays_for_landing_a_turn_not_for_standing():
    score = BackflipScore(DT)
    assert score(hopper_clip(stand(60))) == 0.0  # an earlier teacher's bonus made standing still a local optimum
    landed = score(hopper_clip(seq(flip(), on_floor(stand(20, pitch=-TURN)))))
    assert landed == pytest.approx(1.0 + score.touchdown_bonus + score.landing_bonus)  # a turn, upright down, landed
    spun_through_upright = hopper_clip(flip(turns=1.5, steps=60))  # upright mid-air at 10 rad/s: no landing
    assert score(spun_through_upright) == pytest.approx(1.0)  # tumbling on counts no more than one flip's turn
    assert landed > score(spun_through_upright)  # a landed flip beats more turning that never lands
    paused_in_the_air = seq(flip(steps=40)[:30], hopper(np.full(10, -TURN), 1.9))  # upright, still, 0.6 m up
    assert score(hopper_clip(paused_in_the_air)) < 1.0 + score.landing_bonus  # not landed: it never came down
    rolls_through = on_floor(hopper(-TURN - 0.1 * np.arange(1, 9), 0.0))  # on the foot, still turning at 6 rad/s
    assert score(hopper_clip(seq(flip(), rolls_through))) == pytest.approx(1.0 + score.touchdown_bonus, abs=0.01)
    two_flips = seq(flip(), on_floor(stand(10, pitch=-TURN)), flip(start=-TURN), on_floor(stand(10, pitch=-2 * TURN)))
    assert score(hopper_clip(two_flips)) == pytest.approx(2 * landed)  # flipping again pays again
    # the second half of a flip that started before the clip, then a landing
    second_half = hopper_clip(seq(flip(steps=40)[20:], on_floor(stand(20, pitch=-TURN))))
    assert score(second_half) > 1.0


def test_backflip_teacher_grades_how_upright_a_turn_comes_down():
    score = BackflipScore(DT)
    topples = on_floor(hopper(-TURN - np.linspace(0.08, math.pi / 2, 20), 0.0))  # feet first, then over backwards
    toppled = score(hopper_clip(seq(flip(), topples)))
    head_first = score(hopper_clip(seq(flip(turns=0.5), on_floor(stand(20, pitch=-math.pi)))))
    landed = score(hopper_clip(seq(flip(), on_floor(stand(20, pitch=-TURN)))))
    spun = score(hopper_clip(flip(turns=1.5, steps=60)))
    assert toppled == pytest.approx(1.0 + score.touchdown_bonus, abs=0.01)  # down on the foot, but no landing
    assert head_first == pytest.approx(0.5)  # the turn only
    assert landed > toppled > spun > head_first


def test_backflip_teacher_ties_clips_without_anything_like_a_flip():
    teacher = make_behaviour_teacher("backflip", DT)  # default tolerance: 0.05 turns
    hop_with_a_wobble = hopper_clip(hopper(0.1 * np.sin(np.linspace(0, 6, 60)), 1.5))  # in the air: 0.004 turns
    tipping_back_in_the_air = hopper_clip(hopper(np.linspace(0, -1.2, 60), 1.5))  # 0.19 turns
    lying = hopper_clip(on_floor(hopper(np.full(60, -math.pi / 2), 0.0)))
    assert judge(teacher, hop_with_a_wobble, lying) is Preference.EQUAL
    assert judge(teacher, tipping_back_in_the_air, lying) is Preference.LEFT
    strict = make_behaviour_teacher("backflip", DT, tie_tolerance=0.0)
    assert strict.judge(Query(0, hop_with_a_wobble, lying, timestep=0)) is Preference.LEFT  # any difference decides


def test_one_leg_teacher_prefers_progress_on_one_leg():
    teacher = make_behaviour_teacher("one-leg", 0.05)
    one_leg_slow = cheetah_clip([FRONT_UP] * 30, speed=1.0)
    one_leg_fast = cheetah_clip([FRONT_UP] * 30, speed=2.0)
    two_legs_fast = cheetah_clip([BOTH_DOWN] * 30, speed=6.0)
    gallop = cheetah_clip(([FRONT_UP] * 3 + [BACK_UP] * 3) * 5, speed=6.0)
    one_leg_still = cheetah_clip([BACK_UP] * 30, speed=0.0)
    two_legs_still = cheetah_clip([BOTH_DOWN] * 30, speed=0.0)
    assert judge(teacher, one_leg_fast, one_leg_slow) is Preference.LEFT
    assert judge(teacher, two_legs_fast, one_leg_slow) is Preference.RIGHT
    assert judge(teacher, one_leg_slow, gallop) is Preference.LEFT
    assert judge(teacher, two_legs_still, one_leg_still) is Preference.RIGHT
    assert judge(teacher, one_leg_still, one_leg_still) is Preference.EQUAL
    tapping = cheetah_clip(([FRONT_UP] * 4 + [BOTH_DOWN]) * 6, speed=2.0)  # the front foot taps once a stride
    assert judge(teacher, one_leg_slow, tapping) is Preference.LEFT
    assert judge(teacher, two_legs_fast, two_legs_still) is Preference.LEFT  # progress counts when touching too


def test_one_leg_teacher_charges_a_tap_for_the_window_around_it():
    dt = 0.05
    score = OneLegScore(dt, hold_bonus=0.0, touch_penalty=10.0, window_seconds=0.5)  # 5 steps each side
    held = cheetah_clip([FRONT_UP] * 30, speed=1.0)
    assert score(held) == pytest.approx(29 * dt)
    one_tap = cheetah_clip([FRONT_UP] * 15 + [BOTH_DOWN] + [FRONT_UP] * 14, speed=1.0)
    assert score(one_tap) == pytest.approx(29 * dt - 11 * 10.0 * dt)  # every step moved 1 m/s; 11 are charged


def test_teachers_answer_through_ask_and_poll_and_check_the_body():
    teacher = make_behaviour_teacher("backflip", DT)
    flipping, lying = hopper_clip(flip(turns=0.5, steps=30)), hopper_clip(hopper(np.zeros(30), 0.1))
    teacher.ask([Query(7, flipping, lying, timestep=0), Query(8, lying, flipping, timestep=0)])
    answers = teacher.answers()
    assert [(a.query_id, a.preference, a.labeler) for a in answers] == [
        (7, Preference.LEFT, "backflip"),
        (8, Preference.RIGHT, "backflip"),
    ]
    assert teacher.answers() == []
    cheetah = cheetah_clip([BOTH_DOWN] * 30, speed=0.0)
    with pytest.raises(ValueError, match="backflip teacher judges clips with 6"):
        judge(teacher, cheetah, cheetah)
    with pytest.raises(ValueError, match="unknown scripted teacher 'cartwheel'.*one-leg"):
        make_behaviour_teacher("cartwheel", DT)
