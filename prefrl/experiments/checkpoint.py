"""What a run saves to resume from, and reads back: policy, normalisation statistics, r_hat and counters.

The file names are ``prefrl.run_dir.CheckpointFiles``'s.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from prefrl.experiments import RunError
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.run_dir import CheckpointFiles, RunFiles

if TYPE_CHECKING:
    from prefrl.experiments.learner import PreferenceLearner


class RunLock:
    """An advisory lock on a run directory, held while one ``prefrl train`` works in it.

    A second trainer on the same directory (say, ``--resume`` on a run that is still going) fails at once instead
    of training alongside it. The lock goes with the process, however it ends.
    """

    def __init__(self, files: RunFiles):
        self.path = files.lock
        self._file: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self._file = self.path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise ValueError(
                f"{self.path.parent} is in use by another prefrl train ({holder}); wait for it or stop it first"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._file is not None
        self._file.close()  # closing releases the lock


def save_checkpoint(
    files: RunFiles,
    agent: PPO,
    venv: VecNormalize,
    learner: PreferenceLearner | None,
    wall_time: float,
    keep: bool = False,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Policy, normalisation statistics, r_hat and counters (and ``runtime``, ``run_state.capture``'s); written
    to a temp dir, then swapped in.

    With ``keep``, a copy also goes to ``checkpoints/<timestep>``, for looking at the policy's history later.
    """
    tmp, old, current = files.checkpoint_tmp, files.checkpoint_old, files.checkpoint
    shutil.rmtree(tmp.root, ignore_errors=True)
    tmp.root.mkdir()
    agent.save(tmp.policy)
    obs_rms = cast(RunningMeanStd, venv.obs_rms)  # a dict only for dict observation spaces
    np.savez(
        tmp.normalization,
        obs_mean=obs_rms.mean,
        obs_var=obs_rms.var,
        obs_count=obs_rms.count,
        ret_mean=venv.ret_rms.mean,
        ret_var=venv.ret_rms.var,
        ret_count=venv.ret_rms.count,
    )
    state = {"timesteps": agent.num_timesteps, "wall_time": wall_time}
    if learner is not None:
        torch.save(learner.model.state_dict(), tmp.reward_model)
        state |= {"l2": learner.trainer.l2, "fits": learner.fits}
    if runtime is not None:
        torch.save(runtime, tmp.runtime)
    tmp.state.write_text(json.dumps(state))  # last: a checkpoint with its state file is complete
    if current.root.exists():
        current.root.rename(old.root)
    tmp.root.rename(current.root)
    shutil.rmtree(old.root, ignore_errors=True)
    if keep:
        shutil.copytree(current.root, files.kept_checkpoint(agent.num_timesteps).root, dirs_exist_ok=True)


def read_state(files: RunFiles) -> dict[str, Any] | None:
    """The counters of the run's last complete checkpoint; ``None`` when it has none.

    A run killed between ``save_checkpoint``'s two renames has only ``checkpoint.old``: it is the last complete
    one, and is put back in place.
    """
    checkpoint, old = files.checkpoint, files.checkpoint_old
    if not checkpoint.root.exists() and old.is_complete():
        old.root.rename(checkpoint.root)
    if not checkpoint.is_complete():
        return None
    missing = checkpoint.missing_policy_files()
    if missing:  # written to the end, then a file went: a person's doing, not a kill
        names = ", ".join(path.name for path in missing)
        raise RunError(f"{checkpoint.root} is damaged: {names} missing (it was complete when written)")
    return json.loads(checkpoint.state.read_text())


def read_runtime(files: RunFiles) -> dict[str, Any] | None:
    """The last checkpoint's ``runtime.pt`` (``None`` for a checkpoint written before prefrl saved one).

    It is a pickle (as SB3's ``policy.zip`` is): resume only runs you trust.
    """
    path = files.checkpoint.runtime
    return torch.load(path, weights_only=False) if path.is_file() else None


def restore(
    files: RunFiles,
    venv: VecNormalize,
    learner: PreferenceLearner | None,
    state: dict,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Load normalisation statistics and r_hat; with ``runtime``, rewind the learner to it (a synthetic teacher's
    queries asked after the checkpoint are forgotten, to be asked again); re-ask queries that were never
    answered; reload all labels."""
    checkpoint = files.checkpoint
    stats = np.load(checkpoint.normalization)
    restore_obs_stats(venv, stats)
    venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = (
        stats["ret_mean"],
        stats["ret_var"],
        float(stats["ret_count"]),
    )
    if learner is not None:
        if runtime is not None and runtime["learner"] is not None:
            learner.rewind(runtime["learner"])
        learner.restore(torch.load(checkpoint.reward_model, weights_only=True), l2=state["l2"], fits=state["fits"])


def restore_obs_stats(venv: VecNormalize, stats: Any) -> None:
    """Set ``venv``'s observation normalisation to the statistics ``save_checkpoint`` wrote."""
    obs_rms = cast(RunningMeanStd, venv.obs_rms)  # a dict only for dict observation spaces
    obs_rms.mean, obs_rms.var, obs_rms.count = stats["obs_mean"], stats["obs_var"], float(stats["obs_count"])


def load_agent(files: RunFiles, venv: VecNormalize, force_reset: bool = True) -> PPO:
    """The PPO agent of the run's last checkpoint, to continue training on ``venv`` (``force_reset=False``:
    from its last observation, once ``venv`` is put back as it was then)."""
    return PPO.load(files.checkpoint.policy, env=venv, device="cpu", force_reset=force_reset)


def load_policy(run_dir: Path, env_id: str, timestep: int | None = None) -> tuple[PPO, VecNormalize]:
    """The policy of a run's last checkpoint and its observation normalisation, as ``save_checkpoint`` wrote them.

    ``timestep``: that kept checkpoint instead (``checkpoints/<timestep>``, from ``--keep-checkpoints``). The
    ``VecNormalize`` only normalises observations for the policy (``venv.normalize_obs``, as ``rollout`` uses
    it): its statistics stay fixed. Close it when done.
    """
    files = RunFiles(run_dir)
    checkpoint: CheckpointFiles = files.checkpoint if timestep is None else files.kept_checkpoint(timestep)
    if not checkpoint.policy.is_file():
        raise FileNotFoundError(f"no checkpoint at {checkpoint.root}")
    hp = ppo_hyperparams(env_id)
    venv = VecNormalize(
        DummyVecEnv([lambda: gym.make(env_id)]), training=False, norm_obs=hp.normalize_obs, norm_reward=False
    )
    with np.load(checkpoint.normalization) as stats:
        restore_obs_stats(venv, stats)
    return PPO.load(checkpoint.policy, device="cpu"), venv
