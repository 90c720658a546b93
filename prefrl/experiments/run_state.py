"""What a checkpoint keeps besides the weights, so that ``--resume`` continues a run exactly where it stopped.

``capture`` takes, at a checkpoint: the env stack (``prefrl.rl.env_state``), PPO's last observation, the
learner's runtime state (``PreferenceLearner.runtime_state``), the episodes the next queries will be cut from,
and the global random generators (Python's, numpy's, torch's: PPO's action noise and minibatch order).
``continue_from`` puts them back. A run with a synthetic teacher killed anywhere and resumed from its last
checkpoint then ends as the uninterrupted run does (``tests/experiments/test_run_safety.py``).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from prefrl.experiments.learner import PreferenceLearner
from prefrl.rl.env_state import set_stack_state, stack_state
from prefrl.rl.recorder import SegmentRecorder
from prefrl.segment import Segment

_AGENT = ("_last_obs", "_last_episode_starts", "_last_original_obs")


def capture(
    agent: PPO,
    venv: VecNormalize,
    recorder: SegmentRecorder,
    learner: PreferenceLearner | None,
    recent: Iterable[Segment],
    last_returns: Iterable[float],
) -> dict[str, Any]:
    """Everything ``continue_from`` needs, as it is now."""
    return {
        "stack": stack_state(venv, recorder),
        "agent": {name: copy.deepcopy(getattr(agent, name)) for name in _AGENT},
        "learner": None if learner is None else learner.runtime_state(),
        "recent": list(recent),
        "last_returns": list(last_returns),
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    }


def continue_from(
    runtime: dict[str, Any], agent: PPO, venv: VecNormalize, recorder: SegmentRecorder
) -> tuple[list[Segment], list[float]]:
    """Put the env stack, PPO's last observation and the random generators back as ``capture`` took them (the
    learner is rewound by ``checkpoint.restore``); returns the recent episodes and returns. Call it last before
    training goes on: anything that draws random numbers after it would change the run."""
    set_stack_state(venv, recorder, runtime["stack"])
    for name, value in runtime["agent"].items():
        setattr(agent, name, copy.deepcopy(value))
    random.setstate(runtime["rng"]["python"])
    np.random.set_state(runtime["rng"]["numpy"])
    torch.set_rng_state(runtime["rng"]["torch"])
    return runtime["recent"], runtime["last_returns"]
