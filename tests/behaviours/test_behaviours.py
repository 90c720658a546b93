"""The novel behaviours: flip counter, one-leg metric, scripted teachers, and the two tasks."""

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import prefrl.envs  # noqa: F401
from prefrl.behaviours.cheetah_kinematics import geom_lowest_points, part_heights
from prefrl.behaviours.hopper_kinematics import HOPPER_NQ, lowest_point
from prefrl.behaviours.hopper_kinematics import geom_lowest_points as hopper_lowest_points
from prefrl.behaviours.hopper_kinematics import lowest_point as hopper_lowest_point
from prefrl.behaviours.metrics import count_backflips, forward_speed, one_leg_fraction
from prefrl.preference import Preference, Query
from prefrl.rl.ground_contact import cheetah_contacts
from prefrl.segment import Segment
from prefrl.teachers.scripted import BackflipScore, OneLegScore, make_behaviour_teacher

DT = 0.016  # prefrl/HopperBackflip-v0
TURN = 2 * math.pi


# --- Hopper state sequences, built by hand ---------------------------------------------------------------------


def hopper(pitch, height):
    """Hopper states ``[T, 6]`` with the given torso pitch and height (x and joints 0)."""
    pitch, height = np.broadcast_arrays(np.asarray(pitch, float), np.asarray(height, float))
    qpos = np.zeros((len(pitch), 6))
    qpos[:, 1], qpos[:, 2] = height, pitch
    return qpos


def stand(steps=20, pitch=0.0):
    return hopper(np.full(steps, pitch), 1.25)


def flip(turns=1.0, steps=40, start=0.0, land_height=1.25):
    """A jump turning ``turns`` backwards (pitch decreasing) at ~10 rad/s, torso up to 2 m; ends at land_height."""
    s = np.linspace(0, 1, steps)
    height = 1.25 + 3 * s * (1 - s) + (land_height - 1.25) * s
    return hopper(start - turns * TURN * s, height)


def fall(to_pitch=-math.pi / 2, steps=30):
    s = np.linspace(0, 1, steps)
    return hopper(to_pitch * s, 1.25 - 1.1 * s)


def seq(*parts):
    return np.concatenate(parts)


def test_a_scripted_backflip_counts_exactly_once():
    assert count_backflips(seq(stand(), flip(), stand(pitch=-TURN)), DT) == 1


def test_two_flips_count_twice_one_after_the_other_or_in_one_jump():
    assert count_backflips(seq(stand(), flip(), stand(pitch=-TURN), flip(start=-TURN), stand(pitch=-2 * TURN)), DT) == 2
    assert count_backflips(seq(stand(), flip(turns=2, steps=70), stand(pitch=-2 * TURN)), DT) == 2


def test_a_fall_a_half_turn_and_a_forward_flip_do_not_count():
    assert count_backflips(seq(stand(), fall(), hopper(np.full(20, -math.pi / 2), 0.15)), DT) == 0
    half = seq(stand(), flip(turns=0.5, land_height=0.3), hopper(np.full(20, -math.pi), 0.3))  # lands on its head
    assert count_backflips(half, DT) == 0
    there_and_back = seq(stand(), flip(turns=0.5), flip(turns=-0.5, start=-math.pi), stand())
    assert count_backflips(there_and_back, DT) == 0
    assert count_backflips(seq(stand(), flip(turns=-1), stand(pitch=TURN)), DT) == 0


def test_a_turn_that_is_upright_again_only_in_the_air_is_no_backflip():
    hanging_upright = hopper(np.full(20, -TURN), 1.6)  # upright and still, but the foot 0.39 m off the floor
    assert count_backflips(seq(stand(), flip(land_height=1.6), hanging_upright), DT) == 0
    assert count_backflips(seq(stand(), flip(land_height=1.6), hanging_upright, stand(pitch=-TURN)), DT) == 1


def test_a_backward_roll_over_the_floor_is_no_backflip():
    height = np.r_[np.linspace(1.25, 0.2, 20), np.full(40, 0.2), np.linspace(0.2, 1.25, 20)]  # down, over, up
    roll = hopper(np.linspace(0, -TURN, 80), height)
    assert count_backflips(seq(stand(), roll, stand(pitch=-TURN)), DT) == 0
    low_flip = flip(steps=40)
    low_flip[:, 1] = np.minimum(low_flip[:, 1], 0.45)  # the same turn, but upside down at 0.45 m: on the floor
    assert count_backflips(seq(stand(), low_flip, stand(pitch=-TURN)), DT) == 0


def test_a_full_turn_that_does_not_land_upright_does_not_count():
    lying = seq(stand(), flip(land_height=0.2), hopper(np.full(20, -TURN), 0.2))  # comes down flat
    assert count_backflips(lying, DT) == 0
    spinning_on = seq(stand(), flip(turns=1.5, steps=60), fall(steps=10) + [0, 0, -3 * math.pi, 0, 0, 0])
    assert count_backflips(spinning_on, DT) == 0  # passed upright in the air, still spinning, then crashed


def test_count_backflips_rejects_other_bodies():
    with pytest.raises(ValueError, match="Hopper states"):
        count_backflips(np.zeros((10, 9)), DT)


def test_a_simulated_backflip_is_counted_by_the_env():
    """Launched upwards with a backward spin, the passive Hopper turns once and lands upright: reward 1."""
    env = gym.make("prefrl/HopperBackflip-v0")
    env.reset(seed=0)
    sim = env.unwrapped
    qvel = np.zeros(sim.model.nv)
    qvel[1], qvel[2] = 5.0, -6.0  # up 5 m/s, pitch rate -6 rad/s (backwards)
    sim.set_state(sim.init_qpos + [0, 0.05, 0, 0, 0, 0], qvel)
    sim.flips.reset(0.0)
    qpos, total = [], 0.0
    for _ in range(80):
        _, reward, _, _, info = env.step(np.zeros(3))
        qpos.append(info["qpos"])
        total += reward
    env.close()
    assert total == 1.0 and info["backflips"] == 1
    assert count_backflips(np.array(qpos), DT) == 1
    assert -TURN - 0.5 < qpos[-1][2] < -TURN + 0.5


def test_backflip_task_observes_the_pitch_as_cos_and_sin():
    env = gym.make("prefrl/HopperBackflip-v0")
    obs, info = env.reset(seed=0)
    assert obs.shape == (12,) and env.observation_space.shape == (12,)
    assert env.unwrapped.dt == pytest.approx(DT)
    pitch = info["qpos"][2]
    np.testing.assert_allclose(obs[1:3], [math.cos(pitch), math.sin(pitch)])
    env.close()


# --- Half-Cheetah contacts and the one-leg metric ------------------------------------------------------------------


def test_one_leg_fraction_on_constructed_contacts():
    n = 40
    down, up = np.ones(n, bool), np.zeros(n, bool)
    assert one_leg_fraction(down, up, up) == (1.0, "front")  # stands on the back leg, front one up
    assert one_leg_fraction(up, down, up, window=10) == (1.0, "back")
    assert one_leg_fraction(down, down, up)[0] == 0.0
    assert one_leg_fraction(up, up, down)[0] == 0.0  # lying on its back, legs in the air
    gallop_back, gallop_front = np.arange(n) % 6 == 0, np.arange(n) % 6 == 3  # each foot touches once a stride
    assert one_leg_fraction(gallop_back, gallop_front, up)[0] > 0.8  # a single instant: mostly in the air
    assert one_leg_fraction(gallop_back, gallop_front, up, window=10)[0] == 0.0  # but not one-legged


def test_forward_speed():
    qpos = np.zeros((11, 9))
    qpos[:, 0] = np.linspace(0, 2, 11)
    assert forward_speed(qpos, 0.05) == pytest.approx(4.0)


def test_numpy_kinematics_match_mujoco():
    env = gym.make("prefrl/HalfCheetahOneLeg-v0")
    model = env.unwrapped.model
    env.close()
    data = mujoco.MjData(model)
    qpos = np.random.default_rng(0).uniform(-1, 1, size=(20, 9)) * [3, 0.3, 3, 1, 1, 1, 1, 1, 1]
    lowest = geom_lowest_points(qpos)
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for name, heights in lowest.items():
            g = model.geom(name).id
            radius, half = model.geom_size[g][:2]
            axis_z = data.geom_xmat[g].reshape(3, 3)[2, 2]
            expected = data.geom_xpos[g][2] - half * abs(axis_z) - radius
            assert heights[t] == pytest.approx(expected, abs=1e-9)


def test_hopper_kinematics_match_mujoco():
    env = gym.make("prefrl/HopperBackflip-v0")
    model = env.unwrapped.model
    env.close()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    n = 50
    qpos = np.column_stack(
        [
            rng.uniform(-2, 2, n),  # rootx
            rng.uniform(0.0, 2.5, n),  # rootz: the torso's height
            rng.uniform(-math.pi, math.pi, n),  # torso pitch over a full turn
            rng.uniform(-math.radians(150), 0, n),  # thigh
            rng.uniform(-math.radians(150), 0, n),  # leg
            rng.uniform(-math.radians(45), math.radians(45), n),  # foot
        ]
    )
    lowest = hopper_lowest_points(qpos)
    assert set(lowest) == {"torso", "thigh", "leg", "foot"}
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        assert data.xpos[model.body("torso").id][2] == pytest.approx(q[1], abs=1e-9)
        expected = []
        for name, heights in lowest.items():
            g = model.geom(f"{name}_geom").id
            radius, half = model.geom_size[g][:2]
            axis = data.geom_xmat[g].reshape(3, 3)[:, 2]  # the capsule's local z, in the world
            ends = data.geom_xpos[g] + np.outer([half, -half], axis)
            expected.append(ends[:, 2].min() - radius)
            assert heights[t] == pytest.approx(expected[-1], abs=1e-6)
        assert hopper_lowest_point(q)[0] == pytest.approx(min(expected), abs=1e-6)
    assert hopper_lowest_point(qpos).shape == (n,)


def test_hopper_kinematics_reject_other_shapes():
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_points(np.zeros((5, 9)))
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_point(np.zeros(HOPPER_NQ + 1))
    with pytest.raises(ValueError, match="Hopper"):
        hopper_lowest_points(np.zeros((2, 3, HOPPER_NQ)))


# Cheetah poses: back foot on the ground and front leg lifted; both feet down; front foot down, back leg lifted.
FRONT_UP = np.array([0, -0.0764, 0, 0, 0, 0, -0.9, -1.0, 0])
BOTH_DOWN = np.array([0, -0.1062, 0, 0, 0, 0, 0, 0, 0])
BACK_UP = np.array([0, -0.1062, 0, 0.9, 0.7, 0, 0, 0, 0])


def cheetah_clip(poses, speed, dt=0.05):
    qpos = np.array(poses, dtype=float)
    qpos[:, 0] = speed * dt * np.arange(len(qpos))
    n = len(qpos)
    return Segment(np.zeros((n, 17)), np.zeros((n, 6)), np.zeros(n), qpos, np.zeros((n, 9)))


def test_constructed_poses_touch_where_meant():
    heights = part_heights(np.array([FRONT_UP, BOTH_DOWN, BACK_UP]))
    assert heights["back"][0] == pytest.approx(0, abs=1e-3) and heights["front"][0] > 0.3
    assert heights["front"][1] < 0.05 and heights["back"][2] > 0.2
    contacts = cheetah_contacts(np.array([FRONT_UP, BOTH_DOWN, BACK_UP]) - [0, 0.005, 0, 0, 0, 0, 0, 0, 0])
    assert contacts["back"].tolist() == [True, True, False]
    assert contacts["front"].tolist() == [False, True, True]
    assert not contacts["body"].any()


# --- The scripted teachers -----------------------------------------------------------------------------------------


def hopper_clip(qpos):
    n = len(qpos)
    return Segment(np.zeros((n, 12)), np.zeros((n, 3)), np.zeros(n), qpos, np.zeros((n, 6)))


def judge(teacher, left, right):
    return teacher.judge(Query(0, left, right, timestep=0))


def on_floor(qpos):
    """The same poses lowered or raised so that the body's lowest point just touches the floor."""
    qpos = qpos.copy()
    qpos[:, 1] -= lowest_point(qpos)
    return qpos


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


def test_a_flip_rolling_through_upright_on_the_foot_counts_only_without_the_spin_limit():
    rolls_through = on_floor(hopper(-TURN - 0.08 * np.arange(1, 11), 0.0))  # on the foot, turning on at 5 rad/s
    states = seq(stand(), flip(), rolls_through)
    assert count_backflips(states, DT) == 0  # the metric's landing holds still
    assert count_backflips(states, DT, max_spin=math.inf) == 1  # scripts/backflip.py reports these apart
