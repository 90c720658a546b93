"""prefrl: deep reinforcement learning from human preferences (Christiano et al., 2017) on MuJoCo.

    >>> import prefrl
    >>> config = prefrl.TrainConfig(env="prefrl/Hopper-v0", labels=700, steps=1_000_000, seed=0)
    >>> run_dir = prefrl.train(config)  # doctest: +SKIP

Importing prefrl registers its tasks with gymnasium (``prefrl/Hopper-v0``, ...). ``prefrl.train`` takes a
teacher of your own (anything with the ``Teacher`` protocol's ``ask`` and ``answers``), and
``prefrl.register_task`` a MuJoCo env of your own.

The package, by layer (arrows point down only; ``tests/test_layers.py`` checks it):

* pure, numpy/torch/sqlite only: ``segment``, ``preference``, ``store``, ``run_dir``, ``learning/`` (the reward
  model and its training), ``teachers/``, ``behaviours/`` (objective measures of what a body does);
* simulator and RL adapters: ``rl/`` (VecEnv wrappers, the agent, rendering), ``envs/`` (the tasks);
* labeling: ``labeling/`` (the queue, the web page, its renderer and commands);
* apps: ``experiments/`` (a training run, sweeps, reports, videos), ``cli``, ``config`` (every command's options).
"""

from __future__ import annotations

import os as _os

# Headless rendering by default: MuJoCo picks its OpenGL backend when it is first imported, so this must run
# before anything imports mujoco. A user's own MUJOCO_GL (e.g. "osmesa" or "glfw") is respected.
_os.environ.setdefault("MUJOCO_GL", "egl")

from pathlib import Path

from prefrl.config import TrainConfig
from prefrl.envs import TaskSpec, register_task, task_spec
from prefrl.preference import Answer, Preference, Query
from prefrl.segment import Segment
from prefrl.teachers.base import ImmediateTeacher, SyntheticOracle, Teacher

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "ImmediateTeacher",
    "Preference",
    "Query",
    "Segment",
    "SyntheticOracle",
    "TaskSpec",
    "Teacher",
    "TrainConfig",
    "register_task",
    "task_spec",
    "train",
]


def train(config: TrainConfig, teacher: Teacher | None = None) -> Path:
    """Train one run as ``config`` says (the Python form of ``prefrl train``); returns its run directory.

    Args:
        config: What to learn and how; every ``prefrl train`` option is a field.
        teacher: Your own teacher instead of the one ``config.teacher`` names: anything with ``ask(queries)``
            and ``answers()`` (``prefrl.Teacher``; ``prefrl.ImmediateTeacher`` is a base that answers at once).
    """
    from prefrl.experiments.train import run  # torch and stable-baselines3 only when a run starts

    return run(config, teacher)
