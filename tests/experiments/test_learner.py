"""How a run's settings become its reward learner (prefrl.experiments.learner)."""

import numpy as np
import pytest

from prefrl.config import TrainConfig
from prefrl.experiments.learner import make_learner
from prefrl.experiments.train import PairPacer, query_pool_size
from prefrl.labeling.queue import LabelQueue
from prefrl.learning.selection import DisagreementPairs, RandomPairs, SpreadPairs
from prefrl.run_dir import RunFiles
from prefrl.teachers.base import SyntheticOracle


@pytest.mark.parametrize(
    ("options", "selector", "max_uses"),
    [
        ({}, DisagreementPairs, None),  # the paper's selection: any clip in any number of pairs
        ({"teacher": "human"}, DisagreementPairs, 1),  # a person never judges one clip over and over
        ({"teacher": "human", "clip_reuse": 3}, DisagreementPairs, 3),
        ({"clip_reuse": 2, "selection": "random"}, RandomPairs, 2),
        ({"ensemble": 1}, RandomPairs, None),
    ],
)
def test_clip_reuse_default_depends_on_the_teacher(tmp_path, options, selector, max_uses):
    config = TrainConfig(env="prefrl/Hopper-v1", steps=10_000, **options)
    learner = make_learner(config, RunFiles(tmp_path), np.random.default_rng(0), teacher=SyntheticOracle())
    assert type(learner.selector) is selector
    assert learner.selector.max_uses == max_uses


def test_spread_selection_reads_the_labels_so_far(tmp_path, hopper_episode):
    config = TrainConfig(env="prefrl/Hopper-v1", steps=10_000, selection="spread")
    learner = make_learner(config, RunFiles(tmp_path), np.random.default_rng(0), teacher=SyntheticOracle())
    assert type(learner.selector) is SpreadPairs
    assert learner.selector.history().shape == (0, 2, 11)
    learner.ask([hopper_episode], 4, timestep=0)
    learner.collect_and_fit(10, 1)
    history = learner.selector.history()
    assert history.shape == (4, 2, 11)
    state = learner.trainer.state()
    learner.trainer.set_state(state)  # a resume rebuilds the history from the comparisons
    assert sorted(map(tuple, learner.selector.history().reshape(8, -1))) == sorted(map(tuple, history.reshape(8, -1)))


def test_clip_reuse_must_be_positive():
    with pytest.raises(ValueError, match="--clip-reuse must be at least 1"):
        TrainConfig(clip_reuse=0).check()


@pytest.mark.parametrize(
    ("query_episodes", "rollout_steps", "horizon", "size"),
    [(0, 2048, 1000, 4), (0, 2048, 50, 81), (0, 512, 1000, 4), (200, 2048, 1000, 200)],
)
def test_query_pool_is_two_rollouts_unless_given(query_episodes, rollout_steps, horizon, size):
    assert query_pool_size(query_episodes, rollout_steps, horizon) == size


def test_query_episodes_must_not_be_negative():
    with pytest.raises(ValueError, match="--query-episodes must be >= 0"):
        TrainConfig(query_episodes=-1).check()


def test_pair_pacer_chooses_only_what_the_labeling_page_serves_next(tmp_path, hopper_episode):
    config = TrainConfig(env="prefrl/Hopper-v0", steps=10_000, labels=100, teacher="human")
    learner = make_learner(config, RunFiles(tmp_path), np.random.default_rng(0))
    queue = LabelQueue(learner.store)
    pacer = PairPacer(learner, queue, recent=[hopper_episode] * 20, every=3600.0)
    assert learner.schedule.labels_due(5_000) > 50
    assert pacer.ask(5_000) == 2  # dozens due, but nothing is ready: two at a time, for the renderer
    assert pacer.ask(5_000) == 0  # both still wait for their videos
    queue.mark_rendered(1)
    assert pacer.ask(5_000) == 1
    pacer._on_step()  # during a rollout, within `every` of the last look: nothing
    assert learner.store.count_queries() == 3
    pacer.every = 0.0
    queue.mark_rendered(2)
    pacer._on_step()
    assert learner.store.count_queries() == 4
