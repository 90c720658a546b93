import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import prefrl.envs
from prefrl.learning.reward_model import RewardEnsemble
from prefrl.learning.reward_training import RewardTrainer, TrainerConfig, is_validation
from prefrl.preference import Comparison
from prefrl.segment import Segment, random_clips


def test_l2_moves_the_right_way():
    trainer = RewardTrainer(RewardEnsemble(2, 1), TrainerConfig(l2_init=1e-3, l2_step=2.0))
    assert trainer.adapted_l2(1e-3, train_loss=0.2, val_loss=0.5) == pytest.approx(2e-3)  # overfitting: more L2
    assert trainer.adapted_l2(1e-3, train_loss=0.5, val_loss=0.5) == pytest.approx(5e-4)  # val ~ train: less
    assert trainer.adapted_l2(1e-3, train_loss=0.4, val_loss=0.5) == pytest.approx(1e-3)  # ratio 1.25: keep


def test_validation_split_is_about_one_over_e_and_stable():
    held_out = [is_validation(i, 1 / math.e) for i in range(1, 10001)]
    assert abs(np.mean(held_out) - 1 / math.e) < 0.02
    assert held_out == [is_validation(i, 1 / math.e) for i in range(1, 10001)]


def test_fit_needs_data():
    with pytest.raises(ValueError, match="no training comparisons"):
        RewardTrainer(RewardEnsemble(2, 1)).fit(10)


def hopper_episodes(n: int, seed: int = 0) -> list[Segment]:
    env = gym.make("prefrl/Hopper-v0", max_episode_steps=300)
    env.action_space.seed(seed)
    episodes = []
    for e in range(n):
        obs, info = env.reset(seed=seed + e)
        steps = []
        done = False
        while not done:
            action = env.action_space.sample()
            next_obs, reward, terminated, truncated, info = env.step(action)
            steps.append((obs, action, reward, info["qpos"], info["qvel"]))
            obs, done = next_obs, terminated or truncated
        o, a, r, p, v = (np.array(c) for c in zip(*steps))
        episodes.append(Segment(o, a, r, p, v))
    env.close()
    return episodes


def test_oracle_labels_lift_held_out_accuracy_well_above_chance():
    """The learning test: r_hat fitted to oracle labels on Hopper clips predicts held-out labels."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    clips = random_clips(hopper_episodes(8), 800, prefrl.envs.task_spec("prefrl/Hopper-v0").clip_steps, rng)
    comparisons = [
        Comparison(i, clips[2 * i], clips[2 * i + 1], float(clips[2 * i].true_return > clips[2 * i + 1].true_return))
        for i in range(400)
    ]
    trainer = RewardTrainer(RewardEnsemble(11, 3), seed=0)
    trainer.add(comparisons)
    before = trainer.evaluate()[1]
    stats = trainer.fit(400)
    assert stats.n_val > 100
    assert stats.val_accuracy > 0.8, (before, stats)
    assert before < 0.75  # an untrained ensemble is not already that good


def test_ties_train_towards_equal_rewards(clip):
    # the same two clips labelled "equal" many times: predicted P(left) should approach 0.5
    a, b = clip(np.zeros(5)), clip(np.zeros(5))
    trainer = RewardTrainer(RewardEnsemble(3, 2), TrainerConfig(val_fraction=0.0), seed=0)
    trainer.add([Comparison(i, a, b, 0.5) for i in range(32)])
    trainer.fit(200)
    assert np.allclose(trainer.model.predict_preferences([a], [b]), 0.5, atol=0.05)


def test_regression_objective_fits_clip_returns_not_labels(clip):
    """The 'regression' ablation learns from true clip returns: even labels that say the opposite don't matter."""
    rng = np.random.default_rng(0)
    # reward = first observation coordinate; clips of 4 steps
    clips = [clip(o[:, 0], obs=o) for o in rng.normal(size=(200, 4, 3))]
    wrong = [Comparison(i, clips[2 * i], clips[2 * i + 1], 0.0) for i in range(100)]  # always "right"
    torch.manual_seed(0)
    trainer = RewardTrainer(RewardEnsemble(3, 2, members=1), TrainerConfig(objective="regression"), seed=0)
    trainer.add(wrong)
    stats = trainer.fit(300)
    assert stats.train_loss < 0.2  # standardised squared error
    x = torch.as_tensor(np.concatenate([rng.normal(size=(50, 3)), np.zeros((50, 2))], 1), dtype=torch.float32)
    r = trainer.model.reward(x).detach().numpy()
    assert np.corrcoef(r, x[:, 0].numpy())[0, 1] > 0.9


def test_objective_is_checked():
    with pytest.raises(ValueError, match="objective"):
        TrainerConfig(objective="ranking")  # type: ignore[arg-type]
