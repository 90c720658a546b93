"""Scripted teachers for behaviours with no reward function (Christiano et al., 2017, section 3.2).

They stand in for a person's judgement of a clip, from its simulator states only, so the novel behaviours can
be learned and checked without a human in the loop. Like ``SyntheticOracle`` they answer at once through the
``Teacher`` interface; they never see the task's reward.

* ``"backflip"`` (Hopper): prefers more backward rotation of the torso made in the air, and upright landings
  after such turns (``BackflipScore``).
* ``"one-leg"`` (Half-Cheetah): prefers forward progress made while one leg stays off the ground, and punishes
  each moment that leg (or the body) touches it (``OneLegScore``).

    teacher = make_behaviour_teacher("backflip", dt=0.016)
    teacher.ask(queries); answers = teacher.answers()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from prefrl.behaviours.cheetah_kinematics import CHEETAH_NQ, part_heights
from prefrl.behaviours.hopper_kinematics import HOPPER_NQ, lowest_point
from prefrl.behaviours.metrics import TURN, BackflipCounter
from prefrl.preference import Preference, Query
from prefrl.segment import Segment
from prefrl.teachers.base import ImmediateTeacher, prefer_higher


class ClipScore(Protocol):
    """How much a clip looks like the wanted behaviour; higher is better."""

    def __call__(self, clip: Segment) -> float: ...


def _check_states(clip: Segment, nq: int, who: str) -> None:
    if clip.qpos.ndim != 2 or clip.qpos.shape[1] != nq:
        raise ValueError(f"the {who} teacher judges clips with {nq} positions per state, got {clip.qpos.shape}")


@dataclass(frozen=True)
class BackflipScore:
    """How much a Hopper clip looks like backflips: turns in the air, upright touchdowns, and landings.

    Per *flip* (the stretch between two landings, or the clip's ends):

    * **turns**: backward rotation of the torso made while the whole body is off the floor (its lowest point,
      by ``hopper_kinematics``, above ``clearance`` at both ends of a step; backward is decreasing pitch,
      ``qpos[:, 2]``; forward subtracts), at most ``turns_per_flip``;
    * **touchdown**: ``touchdown_bonus`` times the cosine of the torso's pitch as the body first comes down on
      the floor after at least ``landing_after`` turns (the most upright such touchdown; nothing if the torso
      points down);
    * **landing**: ``landing_bonus`` once the torso has been upright, at standing height, turning slower than
      ``max_spin`` with the body on the floor for ``hold_seconds`` (as ``BackflipCounter`` requires), after at
      least ``landing_after`` turns, in the air and net, since the previous landing.

    The turns scored in a clip never exceed its net backward rotation. Standing still, lying down, rolling on
    the floor and falling score nothing. So, as a person would see it: a flip landed on the foot (4) beats one
    that comes down on the foot and topples (2), which beats tumbling on through the air (1), which beats a
    turn that ends on the head (its turn only).

    Each part closes a way in which a policy learned what an earlier version paid for (docs/BENCHMARKS.md,
    section 5): turns counted while the torso was merely high (it rocked back while up, forward while down);
    forward turns charged on the floor too (r_hat learned "never fall": it stood); a bonus for ending upright
    (it stood still); no net cap (it tipped back in the air and forward on its foot, hop after hop); a charge
    for each crash (it stood still); landings worth 1 turn (it spun, bouncing off head and back); turns not
    capped per flip (it spun ever faster); landings not required to be on the floor (it paused upright at the
    top of its jumps); no touchdown credit (it came down on its head and never found a landing); landings not
    required to hold still (it landed on its foot every turn but rolled straight through upright into the
    next turn, which the flip counter does not count).

    Args:
        dt: Seconds per step (for ``max_spin``).
        clearance: Height (m) of the body's lowest point above which the Hopper is in the air.
        upright_tolerance: Radians from vertical still called upright.
        stand_height: Torso-centre height (m) of an upright Hopper on its foot.
        max_spin: Fastest pitch rate (rad/s) of a landed torso.
        hold_seconds: How long it must stay upright on the floor, turning slower than ``max_spin``, to have landed
            (as ``BackflipCounter`` requires).
        floor_clearance: Highest the body's lowest point (m) may be for the Hopper to have landed (on the floor).
        landing_after: Turns (in the air, and net) since the last landing that make an upright moment a landing.
        landing_bonus: Score (in turns) of each landing.
        turns_per_flip: Most turns credited between two landings (or the clip's ends).
        touchdown_bonus: Score (in turns) of coming down after a turn with the torso upright, scaled by the cosine
            of its pitch; the most upright such touchdown between two landings counts.
    """

    dt: float
    clearance: float = 0.02
    upright_tolerance: float = BackflipCounter.upright_tolerance  # a landing as the flip counter sees one
    stand_height: float = BackflipCounter.min_height
    max_spin: float = BackflipCounter.max_spin
    hold_seconds: float = BackflipCounter.hold_seconds
    floor_clearance: float = BackflipCounter.ground_clearance
    landing_after: float = 0.4
    landing_bonus: float = 2.0
    turns_per_flip: float = 1.0
    touchdown_bonus: float = 1.0

    def __call__(self, clip: Segment) -> float:
        _check_states(clip, HOPPER_NQ, "backflip")
        height, pitch = clip.qpos[:, 1], clip.qpos[:, 2]
        lowest = lowest_point(clip.qpos)
        in_air = np.minimum(lowest[:-1], lowest[1:]) > self.clearance
        backward = -np.diff(pitch)
        turned = np.where(in_air, backward, 0.0) / TURN
        spin = np.abs(backward) / self.dt
        uprightness = np.cos(pitch[1:])
        landed = (uprightness >= math.cos(self.upright_tolerance)) & (height[1:] >= self.stand_height)
        landed &= (spin <= self.max_spin) & (lowest[1:] <= self.floor_clearance)
        hold = max(1, round(self.hold_seconds / self.dt))
        held = np.convolve(landed, np.ones(hold), mode="full")[: len(landed)]  # still steps among the last `hold`
        landed = held >= hold
        touchdown = (lowest[:-1] > self.clearance) & (lowest[1:] <= self.clearance)
        credited, landings, touchdowns = 0.0, 0, 0.0
        in_air_since, net_since, best_touchdown = 0.0, 0.0, 0.0  # since the last landing
        for k, (turn, net) in enumerate(zip(turned, backward / TURN)):
            in_air_since, net_since = in_air_since + turn, net_since + net
            if min(in_air_since, net_since) < self.landing_after:
                continue
            if touchdown[k]:
                best_touchdown = max(best_touchdown, float(uprightness[k]))
            if landed[k]:
                credited += min(in_air_since, self.turns_per_flip)
                touchdowns += best_touchdown
                landings, in_air_since, net_since, best_touchdown = landings + 1, 0.0, 0.0, 0.0
        credited += min(in_air_since, self.turns_per_flip)
        turns = min(credited, max(0.0, float(pitch[0] - pitch[-1]) / TURN))
        touchdowns += best_touchdown
        return float(turns) + self.touchdown_bonus * touchdowns + self.landing_bonus * landings


@dataclass(frozen=True)
class OneLegScore:
    """Forward progress of the Half-Cheetah, less a charge for each moment not on one leg; the better leg counts.

    Every step earns the distance moved forward. A step is *on one leg* when the raised leg and the body are at
    least ``clearance`` off the ground (from the clip's states by ``cheetah_kinematics``) at every step
    within ``window_seconds`` around it: it earns ``hold_bonus * dt`` more; every other step costs
    ``touch_penalty * dt``. So each brief tap of the raised foot costs a whole window of steps, as a person sees
    a tap, not its duration, and a gallop, whose feet touch once a stride, loses to moving forward on one leg.
    The penalty is larger than the Half-Cheetah's usual running speeds but not so large that progress stops
    mattering, and progress counts on every step, so clips that are all touching still differ by how far they
    went.

    Earlier versions, each learned from (docs/BENCHMARKS.md, section 5): a 30 m/s charge for single steps with a
    foot down (one touch outweighed 1.5 m of running: its policy kept a leg up while drifting backwards); 10 m/s
    for single steps (a gait whose raised foot tapped the ground every stride); the window, with progress counted
    only on one-legged steps (nearly every early clip was all charge, nothing told faster from slower, and its
    policy ran backwards).

    Args:
        dt: Seconds per step.
        clearance: Height (m) above which a part is off the ground.
        hold_bonus: Score per second (m/s) for keeping the leg up.
        touch_penalty: Score lost per second (m/s) while the raised leg or the body is down, or near a touch.
        window_seconds: Time around a step in which the raised leg must not touch (0: that step only).
    """

    dt: float
    clearance: float = 0.05
    hold_bonus: float = 0.1
    touch_penalty: float = 10.0
    window_seconds: float = 0.5

    def __call__(self, clip: Segment) -> float:
        _check_states(clip, CHEETAH_NQ, "one-leg")
        heights = {part: h[1:] for part, h in part_heights(clip.qpos).items()}
        forward = np.diff(clip.qpos[:, 0])
        body_clear = heights["body"] > self.clearance
        reach = round(self.window_seconds / self.dt / 2)  # steps on each side
        scores = []
        for leg in ("back", "front"):
            touching = ~((heights[leg] > self.clearance) & body_clear)
            near_touch = np.convolve(touching.astype(float), np.ones(2 * reach + 1), mode="same") > 0
            gain = forward + np.where(near_touch, -self.touch_penalty * self.dt, self.hold_bonus * self.dt)
            scores.append(float(gain.sum()))
        return max(scores)


class ScriptedTeacher(ImmediateTeacher):
    """Prefers the clip with the higher ``score``; answers at once (the ``Teacher`` protocol).

    Args:
        score: What it looks for in a clip.
        tie_tolerance: Answer ``EQUAL`` when the two scores differ by at most this much.
        labeler: Name recorded with each answer.
    """

    def __init__(self, score: ClipScore, tie_tolerance: float = 0.0, labeler: str = "scripted"):
        if tie_tolerance < 0:
            raise ValueError(f"tie_tolerance must be >= 0, got {tie_tolerance}")
        super().__init__(labeler)
        self.score = score
        self.tie_tolerance = tie_tolerance

    def judge(self, query: Query) -> Preference:
        """The teacher's preference for one query."""
        return prefer_higher(self.score(query.left), self.score(query.right), self.tie_tolerance)


BEHAVIOUR_TEACHERS = ("backflip", "one-leg")
"""Names of the scripted teachers, as ``--teacher`` takes them."""

DEFAULT_TIE_TOLERANCE = {"backflip": 0.05, "one-leg": 0.0}
"""Score differences each teacher calls ``EQUAL`` unless told otherwise. The backflip teacher's 0.05 turns
(18 degrees) ties clips in which nothing like a flip happens, as a person would."""


def make_behaviour_teacher(name: str, dt: float, tie_tolerance: float | None = None) -> ScriptedTeacher:
    """The scripted teacher called ``name`` for a task stepping ``dt`` seconds.

    Args:
        name: One of ``BEHAVIOUR_TEACHERS``.
        dt: The task's seconds per step (``TaskSpec.dt``).
        tie_tolerance: Scores this close are ``EQUAL`` (turns for ``backflip``, metres for ``one-leg``);
            ``None``: the teacher's ``DEFAULT_TIE_TOLERANCE``.
    """
    if name == "backflip":
        score: ClipScore = BackflipScore(dt)
    elif name == "one-leg":
        score = OneLegScore(dt)
    else:
        raise ValueError(f"unknown scripted teacher {name!r}; choose one of {', '.join(BEHAVIOUR_TEACHERS)}")
    tolerance = DEFAULT_TIE_TOLERANCE[name] if tie_tolerance is None else tie_tolerance
    return ScriptedTeacher(score, tolerance, labeler=name)
