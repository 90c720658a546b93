"""PPO hyperparameters per task, read from ``ppo.toml`` beside this file: the same for the preference run and
the true-reward baseline; ``prefrl train --ppo.NAME VALUE`` overrides one for a run."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_FILE = Path(__file__).with_name("ppo.toml")


@dataclass(frozen=True)
class PPOHyperparams:
    """Settings of one PPO run (names as in ``stable_baselines3.PPO``; the defaults are ``ppo.toml``'s)."""

    n_envs: int
    n_steps: int
    batch_size: int
    n_epochs: int
    learning_rate: float
    gamma: float
    gae_lambda: float
    ent_coef: float
    clip_range: float
    max_grad_norm: float
    net_arch: tuple[int, ...]
    log_std_init: float
    normalize_obs: bool
    normalize_reward: bool
    target_kl: float | None = None  # SB3's early stop of an update's epochs (None: all n_epochs; see ppo.toml)

    @property
    def rollout_steps(self) -> int:
        """Env steps per PPO iteration."""
        return self.n_steps * self.n_envs

    def replace(self, changes: Mapping[str, Any]) -> PPOHyperparams:
        """These settings with ``changes`` (``ValueError`` for a name PPO has no setting of, or a bad value)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown PPO setting {', '.join(sorted(unknown))}; known: {', '.join(known)}")
        values: dict[str, Any] = {k: tuple(v) if k == "net_arch" else v for k, v in changes.items()}
        new = dataclasses.replace(self, **values)
        new.check()
        return new

    def check(self) -> None:
        """``ValueError`` for settings PPO cannot run with."""
        counts = {
            "n_envs": self.n_envs,
            "n_steps": self.n_steps,
            "batch_size": self.batch_size,
            "n_epochs": self.n_epochs,
        }
        for name, value in counts.items():
            if not value >= 1:
                raise ValueError(f"PPO setting {name} must be at least 1, got {value}")
        if self.batch_size > self.rollout_steps:
            raise ValueError(f"PPO batch_size {self.batch_size} exceeds the rollout ({self.rollout_steps} steps)")
        for name in ("learning_rate", "clip_range", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PPO setting {name} must be positive, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"PPO setting {name} must be in (0, 1], got {getattr(self, name)}")
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"PPO setting target_kl must be positive, got {self.target_kl}")
        if not self.ent_coef >= 0:
            raise ValueError(f"PPO setting ent_coef must be >= 0, got {self.ent_coef}")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@cache
def _settings() -> dict[str, dict[str, Any]]:
    with SETTINGS_FILE.open("rb") as f:
        return tomllib.load(f)


def ppo_hyperparams(env_id: str, overrides: Mapping[str, Any] | None = None) -> PPOHyperparams:
    """The task's PPO settings (``[default]`` for a task without a table of its own), with ``overrides``."""
    settings = _settings()
    default = settings["default"]
    hp = PPOHyperparams(**{**default, "net_arch": tuple(default["net_arch"])})
    return hp.replace({**settings.get(env_id, {}), **(overrides or {})})


def default_hyperparams(**changes: Any) -> PPOHyperparams:
    """``ppo.toml``'s ``[default]`` settings, with ``changes``."""
    return ppo_hyperparams("", changes)
