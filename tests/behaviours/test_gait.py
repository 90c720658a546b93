"""The gait measures (healthy fraction, forward speed, hops) on constructed state sequences."""

import numpy as np
import pytest
from poses import hopper, on_floor, seq, stand

from prefrl.behaviours.gait import count_hops, gait, healthy_fraction

DT = 0.008  # prefrl/Hopper-v1


def jump(steps=30, height=0.3):
    """Standing on the floor, the whole body rises ``height`` m and comes down again."""
    s = np.linspace(0, 1, steps)
    states = on_floor(stand(steps))
    states[:, 1] += 4 * height * s * (1 - s)
    return states


def test_a_scripted_hop_counts_once_and_two_count_twice():
    grounded = on_floor(stand(10))
    assert count_hops(seq(grounded, jump(), grounded), DT) == 1
    assert count_hops(seq(grounded, jump(), grounded, jump(), grounded), DT) == 2


def test_standing_a_skim_and_starting_in_the_air_are_no_hops():
    grounded = on_floor(stand(10))
    assert count_hops(seq(grounded, grounded), DT) == 0
    assert count_hops(seq(grounded, jump(steps=4, height=0.02), grounded), DT) == 0  # off the floor 0.02 s
    assert count_hops(seq(jump()[10:], grounded), DT) == 0  # already in the air when the episode starts


def test_lying_down_is_not_healthy_and_standing_is():
    lying = hopper(np.full(20, 1.57), 0.3)
    assert healthy_fraction("hopper", lying, np.zeros((20, 6))) == 0.0
    assert healthy_fraction("hopper", stand(20), np.zeros((20, 6))) == 1.0
    leaning = hopper(np.full(20, 0.3), 1.25)  # 17 degrees: v5's Hopper is unhealthy past 0.2 rad
    assert healthy_fraction("hopper", seq(stand(20), leaning), np.zeros((40, 6))) == 0.5


def test_gait_of_a_hopping_run():
    grounded = on_floor(stand(10))
    states = seq(grounded, jump(), grounded, jump(), grounded)
    states[:, 0] = np.arange(len(states)) * DT * 1.5  # 1.5 m/s to the right
    measures = gait("hopper", states, np.zeros_like(states), DT)
    assert measures["forward_speed"] == pytest.approx(1.5)
    assert measures["hops"] == 2 and measures["healthy_fraction"] == 1.0
    assert measures["hops_per_second"] == pytest.approx(2 / ((len(states) - 1) * DT))
    with pytest.raises(ValueError, match="no healthy range"):
        gait("reacher", states, states, DT)


def test_distance_from_the_healthy_range():
    from prefrl.behaviours.gait import HEALTHY_RANGES

    hopper_range = HEALTHY_RANGES["hopper"]
    states = np.array([[0, 1.25, 0.0, 0, 0, 0], [0, 0.5, 0.0, 0, 0, 0], [0, 0.3, 1.57, 0, 0, 0]])
    assert hopper_range.distance(states) == pytest.approx([0.0, 0.2, 0.4 + 1.37])
    ant = HEALTHY_RANGES["ant_upright"]
    upright, on_its_back = np.zeros((2, 15)), np.zeros((2, 15))
    upright[:, 2], upright[:, 3] = 0.55, 1.0  # quaternion (1, 0, 0, 0)
    on_its_back[:, 2], on_its_back[:, 4] = 0.4, 1.0  # quaternion (0, 1, 0, 0): turned over about x
    assert ant.distance(upright) == pytest.approx([0, 0]) and ant.distance(on_its_back) == pytest.approx([1, 1])
