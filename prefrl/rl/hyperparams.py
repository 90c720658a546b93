"""PPO hyperparameters per task: the same for the preference run and the true-reward baseline.

The paper trained with TRPO (gamma 0.995, lambda 0.97) and an entropy bonus of 0.01 (0.001 on Swimmer),
needed because the learned reward keeps changing. prefrl uses SB3's PPO with the paper's gamma, lambda and
entropy bonus, and otherwise SB3's defaults, with 4 envs stepping together (faster on a laptop CPU).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PPOHyperparams:
    """Settings of one PPO run (names as in ``stable_baselines3.PPO``)."""

    n_envs: int = 4  # DummyVecEnv: ~1.5x the steps/s of one env on a laptop core
    n_steps: int = 512  # per env: 2048 steps per rollout, as SB3's default
    batch_size: int = 64
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.995  # paper
    gae_lambda: float = 0.97  # paper
    ent_coef: float = 0.01  # paper
    clip_range: float = 0.2
    max_grad_norm: float = 0.5
    net_arch: tuple[int, ...] = (64, 64)
    normalize_obs: bool = True
    normalize_reward: bool = True

    @property
    def rollout_steps(self) -> int:
        """Env steps per PPO iteration."""
        return self.n_steps * self.n_envs


DEFAULT = PPOHyperparams()

PPO_HYPERPARAMS: dict[str, PPOHyperparams] = {
    "prefrl/Hopper-v0": DEFAULT,
    "prefrl/Walker2d-v0": DEFAULT,
    "prefrl/Swimmer-v0": replace(DEFAULT, ent_coef=0.001),  # paper: 0.001 on Swimmer
    "prefrl/HalfCheetah-v0": DEFAULT,
    "prefrl/Ant-v0": DEFAULT,
    "prefrl/Reacher-v0": DEFAULT,
    "prefrl/InvertedPendulum-v0": DEFAULT,
    "prefrl/InvertedDoublePendulum-v0": DEFAULT,
}


def ppo_hyperparams(env_id: str) -> PPOHyperparams:
    """The task's PPO settings (the defaults for a task not listed)."""
    return PPO_HYPERPARAMS.get(env_id, DEFAULT)
