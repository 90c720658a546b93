"""The exact state of ``make_vec_env``'s env stack, so that a resumed run continues where it stopped.

A run saved at a checkpoint and continued from it must end as if it had never stopped: same episodes, same
clips, same labels. PPO's own checkpoint (``policy.zip``) does not hold the envs, so this module takes what
the stack needs besides it: every env's MuJoCo integration state (``mj_getState``, warm start included, so that
the next step is bit for bit the same), its random generator (the next reset's noise) and its wrappers'
counters (``TimeLimit``, ``Monitor``, ``FixedHorizon``), the recorder's episodes under way, the learned-reward
wrapper's last observation and ``VecNormalize``'s running discounted returns.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.wrappers import TimeLimit
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from prefrl.envs.tasks import FixedHorizon
from prefrl.rl.learned_reward import LearnedRewardVecEnv
from prefrl.rl.recorder import SegmentRecorder

_PHYSICS = mujoco.mjtState.mjSTATE_INTEGRATION  # everything the next mj_step reads
_MONITOR = ("rewards", "needs_reset", "episode_returns", "episode_lengths", "episode_times", "total_steps")


def _layers(env: gym.Env) -> Iterator[gym.Env]:
    while True:
        yield env
        if not isinstance(env, gym.Wrapper):
            return
        env = env.env


def env_state(env: gym.Env) -> dict[str, Any]:
    """One env's simulator state, random generator and wrapper counters."""
    state: dict[str, Any] = {}
    for layer in _layers(env):
        if isinstance(layer, Monitor):
            state["monitor"] = {name: copy.deepcopy(getattr(layer, name)) for name in _MONITOR}
        elif isinstance(layer, TimeLimit):
            state["elapsed_steps"] = layer._elapsed_steps
        elif isinstance(layer, FixedHorizon):
            state["fallen_for"] = layer._fallen_for
    sim: Any = env.unwrapped
    physics = np.empty(mujoco.mj_stateSize(sim.model, _PHYSICS))
    mujoco.mj_getState(sim.model, sim.data, physics, _PHYSICS)
    state["physics"] = physics
    state["np_random"] = copy.deepcopy(sim.np_random.bit_generator.state)
    return state


def set_env_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Put ``env`` back in the state ``env_state`` took (of an env built the same way)."""
    for layer in _layers(env):
        if isinstance(layer, Monitor):
            for name, value in state["monitor"].items():
                setattr(layer, name, copy.deepcopy(value))
        elif isinstance(layer, TimeLimit):
            layer._elapsed_steps = state["elapsed_steps"]
        elif isinstance(layer, FixedHorizon):
            layer._fallen_for = state["fallen_for"]
    sim: Any = env.unwrapped
    mujoco.mj_setState(sim.model, sim.data, state["physics"], _PHYSICS)
    sim.np_random.bit_generator.state = copy.deepcopy(state["np_random"])


def stack_state(venv: VecNormalize, recorder: SegmentRecorder) -> dict[str, Any]:
    """The state of the whole stack ``make_vec_env`` built (``VecNormalize``'s statistics are saved apart)."""
    envs = recorder.venv
    assert isinstance(envs, DummyVecEnv), "make_vec_env's stack has the envs right below the recorder"
    learned = venv.venv if isinstance(venv.venv, LearnedRewardVecEnv) else None
    return {
        "envs": [env_state(env) for env in envs.envs],
        "recorder": recorder.state(),
        "learned_obs": None if learned is None else learned.last_obs,
        "normalize": {name: copy.deepcopy(getattr(venv, name)) for name in ("returns", "old_obs", "old_reward")},
    }


def set_stack_state(venv: VecNormalize, recorder: SegmentRecorder, state: dict[str, Any]) -> None:
    """Put the stack back in the state ``stack_state`` took."""
    envs = recorder.venv
    assert isinstance(envs, DummyVecEnv), "make_vec_env's stack has the envs right below the recorder"
    for env, env_saved in zip(envs.envs, state["envs"], strict=True):
        set_env_state(env, env_saved)
    recorder.set_state(state["recorder"])
    if isinstance(venv.venv, LearnedRewardVecEnv):
        venv.venv.last_obs = state["learned_obs"]
    for name, value in state["normalize"].items():
        setattr(venv, name, copy.deepcopy(value))
