"""Objective measures of the two novel behaviours of Christiano et al. (2017), section 3.2, from simulator states.

They judge evaluation episodes and are independent of the scripted teachers (``prefrl.teachers.scripted``),
which only answer comparisons of short clips:

* ``count_backflips``: completed backflips of the Hopper, each a full backward turn of the torso followed by a
  landing with the torso upright;
* ``forward_speed`` and ``one_leg_fraction``: how fast the Half-Cheetah moves forward, and for what fraction of
  the time it stands on one leg, the other kept off the ground (ground contacts come from the simulator:
  ``prefrl.rl.ground_contact``).

Sign convention (Hopper, checked against the model): ``qpos[2]`` (``rooty``) is the torso's pitch
about the +y axis. Positive pitch tips the head forward (towards +x, the way the Hopper faces and runs);
a *backward* rotation makes the pitch *decrease*, so one backflip takes the pitch from ``0`` to ``-2*pi``. The
angle is not wrapped by MuJoCo, so whole turns are visible in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from prefrl.behaviours.hopper_kinematics import HOPPER_NQ, lowest_point

TURN = 2 * math.pi


@dataclass
class BackflipCounter:
    """Counts completed backflips one state at a time (an env can call it every step).

    The torso is *landed upright* once it has been within ``upright_tolerance`` of vertical, with its centre at
    least ``min_height`` above the floor, turning slower than ``max_spin`` and the body on the floor (its lowest
    point, by ``prefrl.behaviours.hopper_kinematics``, at most ``ground_clearance`` up), for ``hold_seconds`` in a row:
    passing through upright in the air doesn't count, spinning or not. At every
    landed-upright step the backward rotation since the previous one is rounded to whole turns (both ends lie
    within ``upright_tolerance`` of upright, so the rounding is exact) and those turns are counted, each only if
    the body went upside down *in the air* during it: within 45 degrees of inverted with the torso centre at least
    ``inverted_min_height`` up (upside down on the floor the torso centre is about 0.2 m up). A fall, a half
    turn, a turn that ends lying down, or a backward roll over the floor therefore never counts; a double
    backflip counts twice; forward flips count nothing.

    Args:
        dt: Seconds per state.
        upright_tolerance: Radians from vertical still called upright.
        min_height: Lowest torso-centre height (m) of a standing Hopper (the v5 model's healthy height).
        max_spin: Fastest pitch rate (rad/s) of a landed torso; a flip turns at 5 rad/s or more.
        hold_seconds: How long it must stay upright to have landed.
        inverted_min_height: Lowest torso-centre height (m) of the upside-down moment of a flip.
        ground_clearance: Highest the body's lowest point (m) may be for the Hopper to stand on the floor (a
            Hopper standing still: 0.0 to 0.04 m).
    """

    dt: float
    upright_tolerance: float = math.radians(30)
    min_height: float = 0.7
    max_spin: float = 2.0
    hold_seconds: float = 0.1
    inverted_min_height: float = 0.5
    ground_clearance: float = 0.05
    total: int = field(default=0, init=False)
    _reference: float = field(default=0.0, init=False, repr=False)
    _previous: float = field(default=0.0, init=False, repr=False)
    _held: int = field(default=0, init=False, repr=False)
    _airborne_inversions: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dt <= 0:
            raise ValueError(f"dt must be positive, got {self.dt}")

    @property
    def hold_steps(self) -> int:
        return max(1, round(self.hold_seconds / self.dt))

    def reset(self, pitch: float) -> None:
        """Start a new episode at torso pitch ``pitch``."""
        self.total, self._reference, self._previous, self._held = 0, float(pitch), float(pitch), 0
        self._airborne_inversions = set()

    def update(self, pitch: float, height: float, lowest: float) -> int:
        """Take the next state (torso pitch, torso height, the body's lowest point); returns the backflips
        completed at it (usually 0)."""
        spin = abs(pitch - self._previous) / self.dt
        self._previous = float(pitch)
        turned = (self._reference - pitch) / TURN  # backward turns since the last landing
        if height >= self.inverted_min_height and abs(turned - math.floor(turned) - 0.5) <= 0.125:
            self._airborne_inversions.add(math.floor(turned))  # upside down in the air during turn k
        upright = math.cos(pitch) >= math.cos(self.upright_tolerance) and height >= self.min_height
        upright = upright and spin <= self.max_spin and lowest <= self.ground_clearance
        self._held = self._held + 1 if upright else 0
        if self._held < self.hold_steps:
            return 0
        turns = round(turned)
        flips = sum(1 for k in range(turns) if k in self._airborne_inversions)
        self._reference = float(pitch)
        self._airborne_inversions = set()
        self.total += flips
        return flips


def count_backflips(qpos: np.ndarray, dt: float, **counter_options: float) -> int:
    """Completed backflips in a Hopper state sequence ``qpos [T, 6]`` (see ``BackflipCounter``).

    Args:
        qpos: Simulator positions, one row per state, starting where the count starts.
        dt: Seconds between rows.
        counter_options: ``BackflipCounter`` settings to change.
    """
    qpos = np.asarray(qpos, dtype=np.float64)
    if qpos.ndim != 2 or qpos.shape[1] != HOPPER_NQ:
        raise ValueError(f"count_backflips needs Hopper states [T, {HOPPER_NQ}], got shape {qpos.shape}")
    counter = BackflipCounter(dt, **counter_options)
    counter.reset(qpos[0, 2])
    for (height, pitch), lowest in zip(qpos[:, 1:3], lowest_point(qpos)):
        counter.update(pitch, height, lowest)
    return counter.total


def backflips_rolled_through(qpos: np.ndarray, dt: float) -> int:
    """Backflips that landed upright on the foot but rolled on into the next turn without holding still, which
    ``count_backflips`` does not count: the count without its spin limit, less the held ones, and at least 0.

    Without the spin limit a counter also lands on a moment of a tilted stand (up to its upright tolerance)
    where the strict one doesn't, so its turns run from another reference and it can miss a flip the strict
    counter holds (one Hopper episode: 1 held, 0 without the limit); the difference is then a lower bound.
    """
    return max(0, count_backflips(qpos, dt, max_spin=math.inf) - count_backflips(qpos, dt))


def forward_speed(qpos: np.ndarray, dt: float) -> float:
    """Mean forward speed (m/s) over a state sequence ``qpos [T, nq]`` whose ``qpos[:, 0]`` is the x position."""
    qpos = np.asarray(qpos, dtype=np.float64)
    if len(qpos) < 2:
        raise ValueError("forward_speed needs at least two states")
    return float((qpos[-1, 0] - qpos[0, 0]) / ((len(qpos) - 1) * dt))


def one_leg_fraction(back: np.ndarray, front: np.ndarray, body: np.ndarray, window: int = 1) -> tuple[float, str]:
    """Fraction of the time the Half-Cheetah stands on one leg, and which leg is the raised one.

    A step counts for a leg when that leg and the body (torso, head) stay off the ground for the ``window`` steps
    centred on it; the other leg may be on the ground or, in a hop, in the air too. Between two touches any foot
    is in the air, so with ``window = 1`` a normal gallop would count most of the time; with a window of about
    half a second (``one_leg_time``, which ``scripts/backflip.py`` uses) it doesn't, as each foot touches once a
    stride. The raised leg is whichever of the two is raised longer, the same one for the whole sequence, so
    alternating legs doesn't count as one-legged either.

    Args:
        back, front, body: ``[T]`` booleans, True where the back leg, front leg or body touches the ground.
        window: Steps around each step in which the raised leg must not touch (1: that step only).

    Returns:
        ``(fraction, leg)`` with ``leg`` ``"back"`` or ``"front"`` (the raised one).
    """
    back, front, body = (np.asarray(a, dtype=bool) for a in (back, front, body))
    if not len(back) == len(front) == len(body) > 0:
        raise ValueError(
            f"contact sequences must be non-empty and equally long: {len(back)}, {len(front)}, {len(body)}"
        )
    if window < 1:
        raise ValueError(f"window must be at least 1 step, got {window}")
    raised = {"back": ~_touched_nearby(back | body, window), "front": ~_touched_nearby(front | body, window)}
    leg = max(raised, key=lambda name: raised[name].mean())
    return float(raised[leg].mean()), leg


ONE_LEG_WINDOW_SECONDS = 0.5
"""How long the raised leg must stay up around a moment for ``one_leg_time`` to count it."""


def one_leg_time(touching: dict[str, np.ndarray], dt: float) -> tuple[float, str]:
    """``one_leg_fraction`` with a window of ``ONE_LEG_WINDOW_SECONDS``, for ground contacts ``touching`` (booleans
    ``[T]`` for ``"back"``, ``"front"`` and ``"body"``, as ``prefrl.rl.ground_contact`` gives them) ``dt`` apart."""
    window = max(1, round(ONE_LEG_WINDOW_SECONDS / dt))
    return one_leg_fraction(touching["back"], touching["front"], touching["body"], window)


def _touched_nearby(touching: np.ndarray, window: int) -> np.ndarray:
    """True at steps within ``window // 2`` steps (``window`` steps in all) of a touch."""
    before = (window - 1) // 2
    padded = np.pad(touching, (before, window - 1 - before))
    return np.asarray(np.lib.stride_tricks.sliding_window_view(padded, window).any(axis=1))
