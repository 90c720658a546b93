import numpy as np
import pytest
import torch

from prefrl.learning.reward_model import DisagreementBonus, EnsembleRewardFn, RewardEnsemble


def member_forward(model: RewardEnsemble, m: int, x: torch.Tensor) -> torch.Tensor:
    """Member m evaluated on its own, layer by layer, as a plain MLP would."""
    h = (x - model.input_mean) / model.input_std
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        h = h @ w[m] + b[m, 0]
        if i < len(model.weights) - 1:
            h = torch.nn.functional.leaky_relu(h, 0.01)
    return h.squeeze(-1)


def test_batched_ensemble_equals_members_one_by_one():
    torch.manual_seed(0)
    model = RewardEnsemble(obs_dim=5, act_dim=2, members=3)
    x = torch.randn(7, 7)
    out = model(x)
    assert out.shape == (3, 7)
    for m in range(3):
        assert torch.allclose(out[m], member_forward(model, m, x), atol=1e-6)


def test_paper_architecture():
    model = RewardEnsemble(obs_dim=11, act_dim=3)
    assert model.members == 3
    assert [tuple(w.shape) for w in model.weights] == [(3, 14, 64), (3, 64, 64), (3, 64, 1)]


def test_each_member_standardised_before_averaging():
    torch.manual_seed(0)
    model = RewardEnsemble(obs_dim=4, act_dim=1, members=3)
    x = torch.randn(5000, 5) * 3 + 1
    model.set_input_stats(x)
    model.set_output_stats(x)
    raw = model(x)
    standardised = (raw - model.output_mean[:, None]) / model.output_std[:, None]
    assert torch.allclose(standardised.mean(1), torch.zeros(3), atol=1e-4)
    assert torch.allclose(standardised.std(1), torch.ones(3), atol=1e-4)
    assert torch.allclose(model.reward(x), standardised.mean(0), atol=1e-6)


def test_reward_fn_numpy_boundary():
    model = RewardEnsemble(obs_dim=3, act_dim=2)
    fn = EnsembleRewardFn(model)
    r = fn(np.zeros((4, 3)), np.ones((4, 2)))
    assert isinstance(r, np.ndarray) and r.shape == (4,)
    assert np.allclose(r, r[0])


def test_needs_a_member():
    with pytest.raises(ValueError, match="at least one member"):
        RewardEnsemble(3, 2, members=0)


def test_numpy_reward_fn_matches_the_module_and_follows_updates():
    torch.manual_seed(0)
    model = RewardEnsemble(obs_dim=4, act_dim=2)
    x = torch.randn(500, 6)
    model.set_input_stats(x)
    model.set_output_stats(x)
    fn = EnsembleRewardFn(model)
    obs, act = np.random.default_rng(0).normal(size=(2, 8, 4)), np.random.default_rng(1).normal(size=(8, 2))
    expected = model.reward(torch.as_tensor(np.concatenate([obs[0], act], -1), dtype=torch.float32))
    np.testing.assert_allclose(fn(obs[0], act), expected.detach().numpy(), atol=1e-5)
    with torch.no_grad():
        model.biases[-1].add_(1.0)
    model.updates += 1
    shifted = model.reward(torch.as_tensor(np.concatenate([obs[0], act], -1), dtype=torch.float32))
    np.testing.assert_allclose(fn(obs[0], act), shifted.detach().numpy(), atol=1e-5)


def test_the_exploration_bonus_is_the_members_spread_decaying_with_time():
    torch.manual_seed(0)
    model = RewardEnsemble(obs_dim=4, act_dim=2, members=3)
    x = torch.randn(500, 6)
    model.set_input_stats(x)
    model.set_output_stats(x)
    fn = EnsembleRewardFn(model)
    bonus = DisagreementBonus(fn, beta=0.5, decay=1e-3)
    obs, act = np.random.default_rng(0).normal(size=(8, 4)), np.random.default_rng(1).normal(size=(8, 2))
    members = np.stack([member_forward(model, m, torch.as_tensor(np.c_[obs, act], dtype=torch.float32)).detach()
                        for m in range(3)])  # fmt: skip
    members = (members - model.output_mean.numpy()[:, None]) / model.output_std.numpy()[:, None]
    spread = members.std(0)
    assert spread.min() > 0  # untrained members disagree
    np.testing.assert_allclose(bonus(obs, act), fn(obs, act) + 0.5 * spread, atol=1e-5)
    bonus.timestep = 1000
    assert bonus.weight == pytest.approx(0.5 * 0.999**1000)
    np.testing.assert_allclose(bonus(obs, act), fn(obs, act) + bonus.weight * spread, atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 members"):
        DisagreementBonus(EnsembleRewardFn(RewardEnsemble(4, 2, members=1)), beta=0.5, decay=0.0)


def test_obs_only_reward_ignores_the_action_in_torch_and_numpy():
    torch.manual_seed(0)
    model = RewardEnsemble(obs_dim=4, act_dim=2, use_actions=False)
    assert tuple(model.weights[0].shape) == (3, 4, 64)
    x = torch.randn(500, 6) * 2 + 1
    model.set_input_stats(x)
    model.set_output_stats(x)
    other_actions = torch.cat([x[:, :4], torch.randn(500, 2) * 5], dim=1)
    assert torch.equal(model.reward(x), model.reward(other_actions))
    fn = EnsembleRewardFn(model)
    obs, actions = x[:, :4].numpy(), x[:, 4:].numpy()
    assert np.allclose(fn(obs, actions), model.reward(x).detach().numpy(), atol=1e-5)
    assert np.array_equal(fn(obs, actions), fn(obs, -actions))
