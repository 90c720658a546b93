"""The flip counter and the one-leg and speed measures, on constructed state sequences."""

import math
from pathlib import Path

import numpy as np
import pytest
from poses import DT, TURN, fall, flip, hopper, on_floor, seq, stand

import prefrl.envs  # noqa: F401
from prefrl.behaviours.metrics import backflips_rolled_through, count_backflips, forward_speed, one_leg_fraction


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


def test_a_flip_rolling_through_upright_on_the_foot_counts_only_without_the_spin_limit():
    rolls_through = on_floor(hopper(-TURN - 0.08 * np.arange(1, 11), 0.0))  # on the foot, turning on at 5 rad/s
    states = seq(stand(), flip(), rolls_through)
    assert count_backflips(states, DT) == 0  # the metric's landing holds still
    assert count_backflips(states, DT, max_spin=math.inf) == 1  # scripts/backflip.py reports these apart
    assert backflips_rolled_through(states, DT) == 1


def test_rolled_through_flips_are_never_negative():
    """The first 280 states of an evaluation episode (HopperBackflip-v0, a checkpoint at 3.4M steps): after a
    stand tilted by 0.44 rad, two turns and a held landing. Without the spin limit the counter lands on the
    tilted stand and misses the flip the strict one counts."""
    states = np.load(Path(__file__).parent / "data" / "held_flip_after_a_tilted_stand.npy")
    assert count_backflips(states, DT) == 1
    assert count_backflips(states, DT, max_spin=math.inf) == 0
    assert backflips_rolled_through(states, DT) == 0
