"""How a run's settings become its reward learner (prefrl.experiments.learner)."""

import numpy as np
import pytest

from prefrl.config import TrainConfig
from prefrl.experiments.learner import make_learner
from prefrl.learning.selection import DisagreementPairs, RandomPairs
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


def test_clip_reuse_must_be_positive():
    with pytest.raises(ValueError, match="--clip-reuse must be at least 1"):
        TrainConfig(clip_reuse=0).check()
