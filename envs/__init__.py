"""prefrl's MuJoCo tasks, changed as in Christiano et al. (2017), section 3.1.1.

Importing this module registers ``prefrl/<Task>-v0`` for the eight MuJoCo tasks of the paper, ``-v1`` of
Hopper, Walker2d, Ant and HalfCheetah (a fallen step pays minus its distance from standing: see ``V1_TASKS``)
and of the two pendulums (started afresh after 1 s fallen), and ``-v0`` of the paper's two novel behaviours
(section 3.2: ``HopperBackflip``, ``HalfCheetahOneLeg``; see ``envs/behaviours.py``), built on gymnasium's v5
models, with the paper's two changes:

* every episode has the same length (no early termination; falling loses the healthy bonus instead), because
  a variable episode length leaks information about the reward;
* the control (torque) penalty is not part of the true reward, because a human watching a clip can't see it.

Each task also declares its clip length (``TaskSpec.clip_steps``) and the one-line instruction a human labeler
reads. The envs add the simulator state (``qpos``, ``qvel``) to every step's ``info``, so that a clip can be
rendered later from its stored states.

``register_task`` adds a MuJoCo env of your own, wrapped the same way (``FixedHorizon``), for ``prefrl.train``.

    >>> import gymnasium as gym, prefrl.envs
    >>> env = gym.make("prefrl/Hopper-v0")
    >>> info = env.reset(seed=0)[1]
    >>> sorted(info)[:2], task_spec("prefrl/Hopper-v0").clip_steps
    (['qpos', 'qvel'], 60)
    >>> env.close()
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

from prefrl.behaviours.gait import HEALTHY_RANGES, gait
from prefrl.behaviours.metrics import forward_speed

CLIP_SECONDS = 1.5
"""The paper's clip length in seconds of the task."""
MIN_CLIP_STEPS, MAX_CLIP_STEPS = 15, 60
"""The paper's range of clip lengths in timesteps."""


@dataclass(frozen=True)
class TaskSpec:
    """What prefrl needs to know about one task besides the env itself.

    Attributes:
        env_id: The registered id, ``prefrl/<Task>-v0``.
        model: Key of the MuJoCo model in ``prefrl.envs.tasks.MODELS`` (``"custom"`` for ``register_task``'s).
        dt: Seconds of simulated time per env step (the v5 model's ``frame_skip * timestep``).
        horizon: The fixed episode length in steps.
        instruction: The one-line instruction shown to a human labeler.
        clip_steps_override: Set where the paper's 1.5 s does not fit the task (see ``clip_steps``).
        fall_penalty: A fallen step pays minus its distance from the healthy range (the v1 tasks).
        stand_up_after: After this many fallen steps in a row the body is stood up again, and the episode goes
            on (``None``: never): the Ant where it lies (``prefrl/Ant-v2``), a pendulum on a fresh start
            (``prefrl/InvertedPendulum-v1``; which coordinates are kept: ``prefrl.envs.tasks.PLACE``).
        soft_edge: The fall penalty fades in over this distance outside the healthy range instead of at its edge
            (``None``: at the edge; ``prefrl/Hopper-v2``, ``prefrl/Walker2d-v2``).
    """

    env_id: str
    model: str
    dt: float
    horizon: int
    instruction: str
    clip_steps_override: int | None = None
    fall_penalty: bool = False
    stand_up_after: int | None = None
    soft_edge: float | None = None

    @property
    def clip_steps(self) -> int:
        """Clip length in steps: 1.5 s of the task, kept within the paper's 15..60 steps and the horizon."""
        if self.clip_steps_override is not None:
            return self.clip_steps_override
        steps = round(CLIP_SECONDS / self.dt)
        return max(MIN_CLIP_STEPS, min(MAX_CLIP_STEPS, steps, self.horizon))


TASKS: dict[str, TaskSpec] = {
    spec.env_id: spec
    for spec in [
        # dt = 0.008 s: 1.5 s would be 187 steps; the paper's 60-step cap gives 0.48 s clips.
        TaskSpec(
            "prefrl/Hopper-v0", "hopper", 0.008, 1000, "Move to the right; if equal, prefer the one that stays higher."
        ),
        TaskSpec(
            "prefrl/Walker2d-v0",
            "walker2d",
            0.008,
            1000,
            "Move to the right; if equal, prefer the one that stays upright.",
        ),
        TaskSpec("prefrl/Swimmer-v0", "swimmer", 0.04, 1000, "Move to the right."),
        TaskSpec("prefrl/HalfCheetah-v0", "half_cheetah", 0.05, 1000, "Run to the right."),
        TaskSpec("prefrl/Ant-v0", "ant", 0.05, 1000, "Move to the right; if equal, prefer the one that stays upright."),
        # Reacher's episodes last 50 steps (1 s); a 1.5 s clip cannot fit, so clips are 25 steps (0.5 s).
        TaskSpec("prefrl/Reacher-v0", "reacher", 0.02, 50, "Move the fingertip onto the red target.", 25),
        TaskSpec("prefrl/InvertedPendulum-v0", "inverted_pendulum", 0.04, 1000, "Keep the pole upright."),
        TaskSpec(
            "prefrl/InvertedDoublePendulum-v0",
            "inverted_double_pendulum",
            0.05,
            1000,
            "Keep the double pole upright and still, near the middle.",
        ),
        # Novel behaviours with no reward function (paper section 3.2), taught by a person or a scripted
        # teacher (prefrl.teachers.scripted). The Hopper steps at dt = 0.016 s (see envs/behaviours.py); its
        # clips are 90 steps, 1.44 s, past the paper's 60-step cap, so that a flip and its landing fit in one
        # (a flip takes about 0.5 s in the air; 60-step clips cut most landings off from their turn). The
        # Cheetah is the unchanged half_cheetah.
        TaskSpec(
            "prefrl/HopperBackflip-v0",
            "hopper_backflip",
            0.016,
            1000,
            "Prefer the clip that looks more like a backflip: turning over backwards and landing upright.",
            90,
        ),
        TaskSpec(
            "prefrl/HalfCheetahOneLeg-v0",
            "half_cheetah",
            0.05,
            1000,
            "Prefer the clip that moves further to the right while keeping one leg off the ground.",
        ),
    ]
}
# v1: the tasks that v0 lets a fallen body win (lying down and pushing forward at 3 m/s earns 2.9 per step on
# Hopper-v0, standing still 1.0). A fallen step pays minus how far the body is outside its healthy range (height
# and pitch; for the Ant, also upside down), so a fallen body earns less than a standing one however fast it
# slides, and getting up is progress; the horizon stays fixed. The Half-Cheetah cannot fall, but it can flip onto
# its back and run on it (PPO does, on v0): its v1 counts a torso pitched past vertical as fallen. Swimmer and
# Reacher cannot fall; the pendulums already pay nothing once fallen, but lie fallen (their v1, below).
V1_TASKS = {
    "prefrl/Hopper-v1": "Hop to the right without falling over; a clip that falls is worse.",
    "prefrl/Walker2d-v1": "Walk to the right without falling over; a clip that falls is worse.",
    "prefrl/Ant-v1": "Move to the right without flipping over; a clip that flips is worse.",
    "prefrl/HalfCheetah-v1": "Run to the right on its feet; a clip that flips onto its back is worse.",
}
TASKS |= {
    env_id: replace(TASKS[env_id.replace("-v1", "-v0")], env_id=env_id, instruction=instruction, fall_penalty=True)
    for env_id, instruction in V1_TASKS.items()
}
TASKS["prefrl/Ant-v1"] = replace(TASKS["prefrl/Ant-v1"], model="ant_upright")  # on its back is fallen too
TASKS["prefrl/HalfCheetah-v1"] = replace(TASKS["prefrl/HalfCheetah-v1"], model="half_cheetah_upright")
# Ant-v2: Ant-v1, but an Ant fallen for 1 s (20 steps) is stood up where it lies (a fresh start pose, its x and y
# kept) and the episode goes on, as the paper reset an Atari game on a life loss without ending the episode. A
# random Ant lands on its back within 20 to 50 steps and cannot turn over, so on Ant-v1 most of every episode
# teaches nothing (docs/BENCHMARKS.md, 13a); a fall still costs its fallen steps, at minus their distance.
TASKS["prefrl/Ant-v2"] = replace(
    TASKS["prefrl/Ant-v1"],
    env_id="prefrl/Ant-v2",
    instruction="Move to the right without flipping over; a clip that flips is worse, even if it is set upright.",
    stand_up_after=20,
)
# InvertedPendulum-v1: v0, but once the pole has been fallen for 1 s (25 steps) the pendulum starts afresh (pole
# upright, cart in the middle) and the episode goes on. On v0 a random pole falls within about 20 steps and lies
# on its hinge's stop for the rest of the 1000, so nearly every clip pair is a tie at 0 and teaches nothing: the
# v0 preference runs ended at 2 to 17 upright steps of 1000 (docs/BENCHMARKS.md, 46). The cart is not left where
# it stood, as the Ant is: its place is no progress, and preference policies parked it at the rail's end. The
# reward is v0's, 1 per upright step; a fall costs the steps it lies fallen.
TASKS["prefrl/InvertedPendulum-v1"] = replace(
    TASKS["prefrl/InvertedPendulum-v0"],
    env_id="prefrl/InvertedPendulum-v1",
    instruction="Keep the pole upright; a clip where it falls is worse, even if it is set upright again.",
    stand_up_after=25,
)
# InvertedDoublePendulum-v1: the same for the double pendulum, after 1 s (20 steps) fallen. A random one falls
# within 5 to 8 steps and is fallen on 97% of the others; its reward stays v0's (fallen steps pay minus the
# tip's distance and speed).
TASKS["prefrl/InvertedDoublePendulum-v1"] = replace(
    TASKS["prefrl/InvertedDoublePendulum-v0"],
    env_id="prefrl/InvertedDoublePendulum-v1",
    instruction="Keep the double pole upright and still, near the middle; a clip where it falls is worse, even if "
    "it is set upright again.",
    stand_up_after=20,
)
# Hopper-v2, Walker2d-v2: v1 without the cliff at the edge of the healthy range. On v1 a step just outside it
# pays about 0 where one just inside pays 1 + v_x; r_hat, a smooth function fitted to comparisons of whole clips,
# cannot draw that edge, and the preference policies lean past it. Here the reward fades linearly from the
# healthy one to the penalty over the first 0.1 outside the range (radians of pitch, metres of height), so a
# body lying on the floor (its torso 0.3 m high: 0.4 m below the Hopper's range) still pays minus its distance,
# less than standing still.
for _task in ("Hopper", "Walker2d"):
    TASKS[f"prefrl/{_task}-v2"] = replace(TASKS[f"prefrl/{_task}-v1"], env_id=f"prefrl/{_task}-v2", soft_edge=0.1)
NOVEL_BEHAVIOURS = ("prefrl/HopperBackflip-v0", "prefrl/HalfCheetahOneLeg-v0")
"""Tasks of the paper's section 3.2; the others in ``TASKS`` are the eight MuJoCo tasks of section 3.1.1."""


def task_spec(env_id: str) -> TaskSpec:
    """The spec of a registered prefrl task; ``ValueError`` naming the known ids otherwise."""
    try:
        return TASKS[env_id]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise ValueError(f"unknown env id {env_id!r}; prefrl knows: {known}") from None


def register_tasks() -> None:
    """Register every task in ``TASKS`` with gymnasium (idempotent; the MuJoCo import stays lazy)."""
    for spec in TASKS.values():
        if spec.env_id not in gym.registry:
            gym.register(
                id=spec.env_id,
                entry_point="prefrl.envs.tasks:make_task",
                kwargs={
                    "model": spec.model,
                    "fall_penalty": spec.fall_penalty,
                    "stand_up_after": spec.stand_up_after,
                    "soft_edge": spec.soft_edge,
                },
                max_episode_steps=spec.horizon,
            )


RUNNERS = ("half_cheetah", "swimmer")
"""Models that cannot fall, whose gait is measured by their forward speed alone."""


def gait_measures(env_id: str, qpos: np.ndarray, qvel: np.ndarray) -> dict[str, float]:
    """The objective gait measures of one episode of ``env_id`` (``prefrl.behaviours.gait``): healthy fraction,
    forward speed and hops for the bodies that can fall, forward speed for the runners, nothing for the others."""
    spec = task_spec(env_id)
    if spec.model in HEALTHY_RANGES:
        return gait(spec.model, qpos, qvel, spec.dt)
    if spec.model in RUNNERS:
        return {"forward_speed": forward_speed(qpos, spec.dt)}
    return {}


def register_task(
    env_id: str,
    make: Callable[..., gym.Env],
    *,
    instruction: str,
    horizon: int = 1000,
    clip_steps: int | None = None,
    **kwargs: Any,
) -> TaskSpec:
    """Register a MuJoCo env of your own as a prefrl task (in this process), and return its spec.

    ``gym.make(env_id)`` then builds ``make(**kwargs)`` wrapped in ``FixedHorizon`` (the simulator state in
    every step's ``info``, no early termination) and ends each episode after ``horizon`` steps, as for prefrl's
    own tasks. Build the env so that it keeps simulating after a fall (gymnasium's locomotion envs:
    ``terminate_when_unhealthy=False``) and without a control cost if a person is to judge it.

    Args:
        env_id: A new id, e.g. ``"mylab/Crawler-v0"``.
        make: Builds the MuJoCo env (a ``gymnasium.envs.mujoco.MujocoEnv``, or a wrapper around one).
        instruction: The one line a labeler reads, e.g. ``"Move to the right."``.
        horizon: The fixed episode length in steps.
        clip_steps: Steps per clip (default: 1.5 s of the task within the paper's 15..60 steps).
        kwargs: Passed to ``make``.
    """
    if env_id in TASKS or env_id in gym.registry:
        raise ValueError(f"{env_id!r} is registered already; choose another id")
    from prefrl.envs.tasks import FixedHorizon

    probe = make(**kwargs)
    dt = float(probe.unwrapped.dt)  # type: ignore[attr-defined]
    probe.close()
    spec = TaskSpec(env_id, "custom", dt, horizon, instruction, clip_steps)
    TASKS[env_id] = spec
    gym.register(id=env_id, entry_point=lambda **kw: FixedHorizon(make(**kw)), kwargs=kwargs, max_episode_steps=horizon)
    return spec


register_tasks()
# Each version is a task of its own, not a fix of the one before (v0 stays the paper's setting, v2 is a variant
# of v1): gymnasium's "out of date, consider upgrading to v2" is no news here.
warnings.filterwarnings("ignore", message=r".*prefrl/\w+-v\d+ is out of date", category=DeprecationWarning)
