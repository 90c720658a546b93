import math

import pytest
import torch

from prefrl.learning.bradley_terry import preference_loss, preference_probability


def t(x):
    return torch.tensor([float(x)])


def test_probability_is_a_softmax_over_summed_rewards():
    # sigmoid(1 - 0) = 0.7310585786
    assert preference_probability(t(1), t(0), 0.0).item() == pytest.approx(0.7310585786, abs=1e-7)
    assert preference_probability(t(2), t(2), 0.0).item() == pytest.approx(0.5)


def test_random_answer_term():
    # 0.9 * 0.7310585786 + 0.05 = 0.7079527208
    assert preference_probability(t(1), t(0)).item() == pytest.approx(0.7079527208, abs=1e-7)
    # however large the gap, a 10%-random teacher is never more than 95% predictable
    assert preference_probability(t(1000), t(0)).item() == pytest.approx(0.95, abs=1e-6)
    assert preference_probability(t(-1000), t(0)).item() == pytest.approx(0.05, abs=1e-6)


def test_loss_hand_computed():
    # target left: -ln(0.7079527208) = 0.3453779661
    assert preference_loss(t(1), t(0), t(1.0)).item() == pytest.approx(0.3453779661, abs=1e-6)
    # target right, gap 2 in favour of left: -ln(1 - 0.8427173702) = 1.8497109021
    assert preference_loss(t(3), t(1), t(0.0)).item() == pytest.approx(1.8497109021, abs=1e-6)
    # a tie is a 0.5 / 0.5 target: 0.5 * (0.3453779661 + 1.2308395746) = 0.7881087704
    assert preference_loss(t(1), t(0), t(0.5)).item() == pytest.approx(0.7881087704, abs=1e-6)
    # without the random term: -ln(sigmoid(1)) = 0.3132616875
    assert preference_loss(t(1), t(0), t(1.0), 0.0).item() == pytest.approx(0.3132616875, abs=1e-6)


def test_loss_is_finite_for_huge_gaps_and_has_gradients():
    left = torch.tensor([1e4, -1e4], requires_grad=True)
    loss = preference_loss(left, torch.zeros(2), torch.tensor([0.0, 1.0]), 0.0)
    assert torch.isfinite(loss).all()
    assert loss[0].item() == pytest.approx(1e4, rel=1e-6)
    loss.sum().backward()
    assert torch.isfinite(left.grad).all()


def test_loss_is_symmetric_in_the_sides():
    a, b = torch.randn(5), torch.randn(5)
    target = torch.rand(5)
    assert torch.allclose(preference_loss(a, b, target), preference_loss(b, a, 1 - target))


def test_bad_random_answer_prob():
    with pytest.raises(ValueError, match="random_answer_prob"):
        preference_probability(t(0), t(0), 1.0)


def test_probability_of_either_side_sums_to_one():
    a, b = torch.randn(10), torch.randn(10)
    total = preference_probability(a, b) + preference_probability(b, a)
    assert torch.allclose(total, torch.ones(10))
    assert not math.isnan(total.sum().item())
