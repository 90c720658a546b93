"""The reward-learning half of a run: r_hat, its trainer, the store, the teacher, the pair selector, the schedule.

``PreferenceLearner.ask`` turns the policy's recent episodes into queries; ``collect_and_fit`` turns the
teacher's answers into comparisons and refits r_hat. A query asked in this process is kept in memory until it is
answered, so its answer becomes a comparison without a round trip through the store; the store is read back
only on ``--resume`` (and for answers to queries this process did not ask).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

import prefrl.envs
from prefrl.config import TrainConfig
from prefrl.experiments import RunError
from prefrl.learning.label_schedule import LabelSchedule
from prefrl.learning.reward_model import RewardEnsemble
from prefrl.learning.reward_training import FitStats, RewardTrainer, TrainerConfig
from prefrl.learning.selection import DisagreementPairs, PairSelector, RandomPairs, SpreadPairs
from prefrl.preference import Answer, Comparison, Preference, Query
from prefrl.run_dir import RunFiles
from prefrl.segment import Segment, random_clips
from prefrl.store import PreferenceStore
from prefrl.teachers import registry
from prefrl.teachers.base import ImmediateTeacher, Teacher


@dataclass
class PreferenceLearner:
    """r_hat, its trainer, the store, the teacher and the pair selector of one run."""

    store: PreferenceStore
    model: RewardEnsemble
    trainer: RewardTrainer
    teacher: Teacher
    selector: PairSelector
    schedule: LabelSchedule
    clip_steps: int
    rng: np.random.Generator
    last_fit: FitStats | None = None
    fits: int = 0
    unfitted: int = 0  # labels added since the last fit
    asked: dict[int, Query] = field(default_factory=dict)  # queries handed to the teacher, not answered yet

    def due(self, timestep: int) -> int:
        """Pairs the schedule wants asked by ``timestep`` that have not been asked yet."""
        return self.schedule.labels_due(timestep) - self.store.count_queries()

    def ask(self, episodes: list[Segment], due: int, timestep: int) -> int:
        """Choose up to ``due`` new pairs from ``episodes``, store them and hand them to the teacher."""
        if due <= 0 or not episodes:
            return 0
        clips = random_clips(episodes, max(2 * due, 20), self.clip_steps, self.rng)
        chosen = self.selector.select(clips, due, self.rng)
        queries = self.store.add_queries([Query(-1, clips[c.left], clips[c.right], timestep, c.score) for c in chosen])
        self._hand_over(queries)
        return len(queries)

    def _hand_over(self, queries: Sequence[Query]) -> None:
        self.asked.update((q.id, q) for q in queries)
        self.teacher.ask(queries)

    def collect_and_fit(self, initial_steps: int, steps_per_label: int) -> int:
        """Store the teacher's new answers; refit r_hat once enough are new. Returns the number of answers.

        A refit costs about as much as a few PPO minibatches per label, so r_hat is refitted when the new
        labels reach 2% of those it has (at least one), with ``steps_per_label`` gradient steps per new label:
        the reward model's cost then grows with the labels, not with the timesteps.
        """
        answers = self.teacher.answers()
        if not getattr(self.teacher, "answers_stored", False):  # the labeling page commits its own
            self.store.add_answers(answers)
        if answers:
            self.unfitted += self.trainer.add(self.comparisons(answers))
        if not self.trainer.has_training_data or self.unfitted < max(1, math.ceil(0.02 * len(self.trainer))):
            return len(answers)
        steps = initial_steps if self.fits == 0 else steps_per_label * self.unfitted
        self.last_fit = self.trainer.fit(steps)
        if not all(torch.isfinite(p).all() for p in self.model.state_dict().values()):
            raise RunError(
                f"the reward model diverged (non-finite weights) in its fit on {len(self.trainer)} labels; "
                "the last checkpoint is kept as it was"
            )
        self.fits += 1
        self.unfitted = 0
        return len(answers)

    def comparisons(self, answers: Sequence[Answer]) -> list[Comparison]:
        """The comparisons ``answers`` make with the clips of their queries ("can't tell" ones are left out)."""
        comparisons = []
        for answer in answers:
            query = self.asked.pop(answer.query_id, None) or self.store.query(answer.query_id)
            comparison = Comparison.from_answer(query, answer)
            if comparison is not None:
                comparisons.append(comparison)
        return comparisons

    def restore(self, reward_model: Mapping[str, Any], l2: float, fits: int) -> None:
        """Continue from a checkpoint: r_hat and the trainer's counters, every stored label, and the queries
        that were never answered (handed to the teacher again)."""
        self.model.load_state_dict(reward_model)
        self.trainer.l2 = l2
        self.fits = fits
        self.reload_labels()

    def runtime_state(self) -> dict[str, Any]:
        """What a checkpoint needs besides r_hat's weights to continue exactly: the trainer's data, optimizer and
        generator, the clip sampler's generator, the fit counters, a synthetic teacher's state, and how far the
        store had got (``store.last_ids``)."""
        return {
            "rng": copy.deepcopy(self.rng.bit_generator.state),
            "unfitted": self.unfitted,
            "last_fit": self.last_fit,
            "trainer": self.trainer.state(),
            "teacher": self.teacher.state() if isinstance(self.teacher, ImmediateTeacher) else None,
            "last_ids": self.store.last_ids(),
        }

    def rewind(self, state: Mapping[str, Any]) -> None:
        """Back to a checkpoint's ``runtime_state`` (after r_hat's weights are loaded, before ``restore``). With a
        synthetic teacher the queries asked since are forgotten: they will be asked again, with the same answers."""
        if state["teacher"] is not None and isinstance(self.teacher, ImmediateTeacher):
            self.store.forget_after(*state["last_ids"])
            self.teacher.set_state(state["teacher"])
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self.unfitted, self.last_fit = state["unfitted"], state["last_fit"]
        self.trainer.set_state(state["trainer"])

    def reload_labels(self) -> int:
        """Add every label in the store to r_hat's data and hand the unanswered queries to the teacher again;
        returns the number of labels added."""
        added = self.trainer.add(self.store.comparisons())
        self._hand_over([self.store.query(i) for i in self.store.unanswered()])
        return added

    def metrics(self) -> dict[str, float]:
        """What ``metrics.csv`` logs of the learner (and ``skipped``: answers "can't tell", for the progress bar)."""
        fit = self.last_fit
        return {
            "labels": self.store.count_answers(),
            "skipped": self.store.count_answers(Preference.UNSURE),
            "queries": self.store.count_queries(),
            "val_accuracy": fit.val_accuracy if fit else math.nan,
            "val_loss": fit.val_loss if fit else math.nan,
            "train_loss": fit.train_loss if fit else math.nan,
            "l2": self.trainer.l2,
        }


def make_learner(
    config: TrainConfig,
    files: RunFiles,
    rng: np.random.Generator,
    teacher: Teacher | None = None,
    on_ask: Callable[[], None] | None = None,
) -> PreferenceLearner:
    """r_hat, its trainer, the store, the teacher and the selector, as ``config`` says.

    Args:
        teacher: A teacher of the caller's own instead of the one ``config.teacher`` names.
        on_ask: For the human teacher: called when new pairs were stored (wakes the labeling page's renderer).
    """
    spec = prefrl.envs.task_spec(config.env)
    env = gym.make(config.env)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]  # type: ignore[index]
    env.close()
    store = PreferenceStore.open(files.db) if files.db.exists() else PreferenceStore.create(files.db, config.env)
    if store.env_id != config.env:
        raise ValueError(f"{files.db} holds preferences for {store.env_id}, not {config.env}")
    model = RewardEnsemble(obs_dim, act_dim, members=config.ensemble, use_actions=config.reward_inputs == "obs+action")
    trainer = RewardTrainer(
        model, trainer_config(config.ensemble, config.regularization, config.reward_objective), seed=config.seed
    )
    if teacher is None:
        teacher = registry.make_teacher(
            config.teacher,
            env_id=config.env,
            dt=spec.dt,
            seed=config.seed,
            tie_tolerance=config.tie_tolerance,
            store=store,
            on_ask=on_ask,
        )
    max_uses = config.clip_reuse or (1 if config.teacher == "human" else None)
    selector: PairSelector = RandomPairs(max_uses)
    if config.selection == "disagreement" and config.ensemble > 1:  # one member cannot disagree with itself
        selector = DisagreementPairs(model.predict_preferences, max_uses=max_uses)
    elif config.selection == "spread" and config.ensemble > 1:  # its picks differ by construction
        selector = SpreadPairs(model.predict_preferences, history=trainer.labelled_clip_features)
    schedule = label_schedule(
        config.labels,
        config.steps,
        config.online_labels,
        config.initial_label_fraction,
        config.label_decay_steps,
        config.pretrain_steps,
    )
    clip_steps = config.clip_steps or spec.clip_steps
    return PreferenceLearner(store, model, trainer, teacher, selector, schedule, clip_steps, rng)


def trainer_config(
    ensemble: int,
    regularization: bool = True,
    objective: Literal["comparisons", "regression"] = "comparisons",
) -> TrainerConfig:
    """The reward trainer's settings for a run's switches (the ablations "no ensemble", "no regularization"
    and "regression").

    A single predictor trains on all comparisons rather than on a bootstrap resample: the resample is there to
    make the members differ, and alone it would only throw away a third of the labels.
    """
    if ensemble < 1:
        raise ValueError(f"the ensemble needs at least one member, got {ensemble}")
    if not regularization:
        return TrainerConfig(l2_init=0.0, adapt_l2=False, bootstrap=ensemble > 1, objective=objective)
    return TrainerConfig(bootstrap=ensemble > 1, objective=objective)


def label_schedule(
    labels: int,
    steps: int,
    online_labels: bool = True,
    initial_fraction: float = LabelSchedule.initial_fraction,
    decay_steps: float = LabelSchedule.decay_steps,
    start_step: int = 0,
) -> LabelSchedule:
    """The paper's schedule (a fraction up front, then decaying as d / (T + d)), or, without online labels (the
    "no online queries" ablation), all of them up front; from ``start_step`` on (after any pre-training)."""
    return LabelSchedule(labels, steps, initial_fraction if online_labels else 1.0, decay_steps, start_step)
