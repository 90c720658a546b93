"""The reward-model ensemble r_hat(o, a) of Christiano et al. (2017), as one batched torch module."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from prefrl.learning.bradley_terry import preference_probability
from prefrl.segment import Segment


class RewardFn(Protocol):
    """Anything that maps a batch of observations and actions to rewards (numpy in, numpy out)."""

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``obs [B, obs_dim]``, ``actions [B, act_dim]`` -> rewards ``[B]``."""
        ...


def obs_act(segments: Sequence[Segment]) -> torch.Tensor:
    """Stack clips of equal length into model inputs ``[K, L, obs_dim + act_dim]``."""
    return torch.as_tensor(
        np.stack([np.concatenate([s.obs, s.actions], axis=-1) for s in segments]), dtype=torch.float32
    )


class RewardEnsemble(nn.Module):
    """``members`` independent MLPs r(o, a) (two hidden layers of 64, leaky ReLU 0.01), batched as one module.

    The weights of all members live in stacked tensors, so one ``bmm`` evaluates the whole ensemble. Inputs are
    standardised with statistics set by ``set_input_stats``; each member's output is standardised (mean 0,
    std 1) with statistics set by ``set_output_stats``, as in the paper, before the members are averaged.

    Args:
        obs_dim: Observation size.
        act_dim: Action size.
        members: Ensemble size (3 in the paper).
        hidden: Hidden layer width (64 in the paper).
        negative_slope: Leaky ReLU slope (0.01 in the paper).
        use_actions: Whether r_hat sees the action (the paper's r(o, a)); ``False``: r(o), a function of the
            observation alone (inputs keep their ``[obs, action]`` layout; the action part is ignored).
    """

    input_mean: torch.Tensor
    input_std: torch.Tensor
    output_mean: torch.Tensor
    output_std: torch.Tensor

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        members: int = 3,
        hidden: int = 64,
        negative_slope: float = 0.01,
        use_actions: bool = True,
    ):
        super().__init__()
        if members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        self.obs_dim, self.act_dim, self.members = obs_dim, act_dim, members
        self.negative_slope, self.use_actions = negative_slope, use_actions
        self.in_features = obs_dim + act_dim if use_actions else obs_dim  # what the first layer reads
        sizes = [self.in_features, hidden, hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default initialisation, per member
            self.weights.append(nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, fan_out).uniform_(-bound, bound)))
        self.register_buffer("input_mean", torch.zeros(obs_dim + act_dim))
        self.register_buffer("input_std", torch.ones(obs_dim + act_dim))
        self.register_buffer("output_mean", torch.zeros(members))
        self.register_buffer("output_std", torch.ones(members))
        self.updates = 0  # freshness: bumped by set_output_stats (which ends every fit) and load_state_dict

    def forward(self, obs_act: torch.Tensor) -> torch.Tensor:
        """Raw (unstandardised) reward of every member.

        Args:
            obs_act: ``[B, in]`` (the same inputs for every member) or ``[members, B, in]``.

        Returns:
            ``[members, B]``.
        """
        x = ((obs_act - self.input_mean) / self.input_std)[..., : self.in_features]
        if x.dim() == 2:
            x = x.expand(self.members, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = nn.functional.leaky_relu(x, self.negative_slope)
        return x.squeeze(-1)

    def reward(self, obs_act: torch.Tensor) -> torch.Tensor:
        """r_hat: the average of the members' standardised rewards, ``[B]``."""
        raw = self.forward(obs_act)
        return ((raw - self.output_mean[:, None]) / self.output_std[:, None]).mean(0)

    def segment_returns(self, x: torch.Tensor) -> torch.Tensor:
        """Summed raw reward per member: ``x [K, L, in]`` or ``[members, K, L, in]`` -> ``[members, K]``."""
        *lead, length, width = x.shape
        flat = x.reshape(*lead[:-1], -1, width)
        return self(flat).reshape(self.members, lead[-1], length).sum(-1)

    def predict_preferences(self, lefts: Sequence[Segment], rights: Sequence[Segment]) -> np.ndarray:
        """Each member's P(left > right) (no random-answer term): ``[members, K]``. A ``PairPredictor``."""
        with torch.inference_mode():
            returns = self.segment_returns(obs_act(lefts)), self.segment_returns(obs_act(rights))
            return preference_probability(*returns, random_answer_prob=0.0).numpy()

    def l2_penalty(self) -> torch.Tensor:
        """Sum of squared weights (not biases), per member: ``[members]``."""
        return sum(w.pow(2).sum(dim=(1, 2)) for w in self.weights)  # type: ignore[return-value]

    @torch.no_grad()
    def set_input_stats(self, obs_act: torch.Tensor) -> None:
        """Standardise inputs with the mean and std of ``obs_act [N, in]``."""
        self.input_mean.copy_(obs_act.mean(0))
        self.input_std.copy_(obs_act.std(0).clamp_min(1e-6))

    @torch.no_grad()
    def set_output_stats(self, obs_act: torch.Tensor) -> None:
        """Standardise each member's output to mean 0, std 1 over ``obs_act [N, in]``."""
        raw = self.forward(obs_act)
        self.output_mean.copy_(raw.mean(1))
        self.output_std.copy_(raw.std(1).clamp_min(1e-6))
        self.updates += 1  # a fit ends here: r_hat has changed

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """``nn.Module.load_state_dict``, and r_hat has changed."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.updates += 1
        return result


class EnsembleRewardFn:
    """The ``RewardFn`` view of a ``RewardEnsemble``, evaluated in numpy.

    The VecEnv calls it once per step with a handful of rows, where torch's per-op overhead would cost more
    than the arithmetic (about 100 us against 20 us per call here). It evaluates a numpy copy of the weights,
    taken again whenever the model's ``updates`` counter moves.
    """

    def __init__(self, model: RewardEnsemble):
        self.model = model
        self._version = -1
        self._layers: list[tuple[np.ndarray, np.ndarray]] = []

    def _sync(self) -> None:
        m = self.model
        with torch.no_grad():
            self._layers = [(w.numpy().copy(), b.numpy().copy()) for w, b in zip(m.weights, m.biases)]
            width = m.in_features  # the statistics of the inputs the first layer reads
            self._in = (m.input_mean.numpy()[:width].copy(), m.input_std.numpy()[:width].copy())
            self._out = (m.output_mean.numpy().copy()[:, None], m.output_std.numpy().copy()[:, None])
        self._version = m.updates

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return self.members(obs, actions).mean(0)

    def members(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Every member's standardised reward, ``[members, B]`` (r_hat is their mean)."""
        if self._version != self.model.updates:
            self._sync()
        inputs = np.concatenate([obs, actions], axis=-1) if self.model.use_actions else obs
        x = (inputs.astype(np.float32) - self._in[0]) / self._in[1]
        h = x[None]  # [1, B, in], broadcast over members
        last = len(self._layers) - 1
        for i, (w, b) in enumerate(self._layers):
            h = h @ w + b
            if i < last:
                h = np.where(h > 0, h, self.model.negative_slope * h)
        raw = h[..., 0]  # [members, B]
        return (raw - self._out[0]) / self._out[1]


class DisagreementBonus:
    """r_hat plus an exploration bonus: ``beta_t`` times the ensemble's disagreement (the standard deviation of
    its members' standardised rewards) at each step, with ``beta_t = beta * (1 - decay) ** t`` at timestep ``t``
    (RUNE, Liang et al. 2022). Where the members disagree, r_hat knows least; the bonus draws the policy there, so
    that clips of it get shown. Not in the paper (``beta = 0`` is the paper's r_hat).

    ``timestep`` is set by the training loop before each rollout (so the bonus is the same within one).
    """

    def __init__(self, reward: EnsembleRewardFn, beta: float, decay: float):
        if reward.model.members < 2:
            raise ValueError("an exploration bonus needs an ensemble of at least 2 members")
        self.reward, self.beta, self.decay = reward, beta, decay
        self.timestep = 0

    @property
    def weight(self) -> float:
        """``beta_t`` at the current ``timestep``."""
        return self.beta * (1.0 - self.decay) ** self.timestep

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        members = self.reward.members(obs, actions)
        return members.mean(0) + self.weight * members.std(0)
