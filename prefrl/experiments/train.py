"""The outer loop of a preference run, top to bottom (Christiano et al., 2017, section 2.2).

    prefrl train --env prefrl/Hopper-v0 --labels 700 --steps 1000000 --seed 0

1. Ask for 25% of the label budget about clips of the randomly initialised policy; fit r_hat to the answers.
   (With ``--pretrain-steps N``, not in the paper: first N timesteps of PPO on a state-entropy reward, then ask.)
2. Repeat until ``steps``: one PPO iteration on the current r_hat; cut clips from the episodes it just
   completed; ask about the pairs the ensemble disagrees on most, as many as the schedule says are due (for
   people, no more than the labeling page will serve next); add whatever answers have arrived (never waiting
   for them) and refit r_hat.
3. Save the policy, r_hat, the metrics, a learning-curve plot and a video of the final policy.

The paper runs these as three asynchronous processes; prefrl interleaves them in one process, which on a
laptop CPU is both simpler and faster, and keeps the loop readable. Teachers stay asynchronous: the loop only
polls them. The parts live beside this file: ``run_setup`` (options and the run directory, checked before
anything is written), ``learner`` (r_hat and the teacher), ``checkpoint``, ``logs``; the agent and its env stack
in ``prefrl.rl``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import deque
from collections.abc import Collection
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat, configure
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import prefrl.envs
from prefrl.config import FINAL_VIDEO_SEED, TrainConfig
from prefrl.experiments import RunError, os_error_text
from prefrl.experiments.checkpoint import RunLock, load_agent, read_runtime, read_state, restore, save_checkpoint
from prefrl.experiments.learner import PreferenceLearner, make_learner
from prefrl.experiments.logs import EPISODES_FIELDS, METRICS_FIELDS, CsvLog, truncate_csv
from prefrl.experiments.plotting import plot_learning_curve
from prefrl.experiments.references import reference
from prefrl.experiments.run_setup import (
    extend_run,
    given_options,
    label_page_changes,
    prepare_run_dir,
    update_config,
)
from prefrl.experiments.run_state import capture, continue_from
from prefrl.labeling.queue import LabelQueue
from prefrl.learning.reward_model import DisagreementBonus, EnsembleRewardFn
from prefrl.rl.agent import collect_episodes, make_agent, rollout
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.render import render_video
from prefrl.rl.state_entropy import PretrainingReward, StateEntropyReward
from prefrl.rl.vec_env import make_vec_env
from prefrl.run_dir import RunFiles
from prefrl.segment import Segment
from prefrl.store import PreferenceStore
from prefrl.teachers.base import Teacher


def run(config: TrainConfig, teacher: Teacher | None = None, given: Collection[str] | None = None) -> Path:
    """Train one run as ``config`` says; returns its run directory.

    Args:
        config: What to learn, and how.
        teacher: A teacher of your own (anything with ``ask`` and ``answers``, see ``Teacher``) instead of the one
            ``config.teacher`` names.
        given: With ``config.resume``, the options set for this call (``--steps`` extends the run); by default
            those that differ from ``TrainConfig``'s defaults. The CLI passes the flags on its command line.
    """
    given = given_options(config) if given is None else given
    files = prepare_run_dir(config, given)
    with RunLock(files):  # one trainer per run directory
        if config.resume is not None:
            if "steps" in given:
                extend_run(files, config.steps)
            update_config(files, label_page_changes(config, given))
        try:
            train_in(files, teacher)
        except KeyboardInterrupt:
            print(
                f"interrupted; continue from the last checkpoint: prefrl train --resume {files.root}", file=sys.stderr
            )
            raise
        except OSError as e:  # a full disk, a directory made read-only: the checkpoint saved before is intact
            raise RunError(
                f"{os_error_text(e)}; once that is fixed, continue from the last checkpoint: "
                f"prefrl train --resume {files.root}"
            ) from e
    return files.root


def train_in(files: RunFiles, teacher: Teacher | None) -> None:
    """The run in ``files``, from its resolved config (a new run, or one to resume), top to bottom."""
    config = TrainConfig.from_json(files.config.read_text())
    print(f"run directory: {files.root}", flush=True)
    state = read_state(files)
    resuming = state is not None
    runtime = read_runtime(files) if resuming else None  # None: a checkpoint from before exact resume
    spec = prefrl.envs.task_spec(config.env)
    hp = ppo_hyperparams(config.env, config.ppo.changes())
    set_random_seed(config.seed)
    # Small networks: threads cost more than they bring, and runs go in parallel. numpy's BLAS (r_hat on whole
    # episodes) too: with a thread per core it ran 5x slower next to another run.
    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")
    rng = np.random.default_rng(config.seed)

    learner: PreferenceLearner | None = None
    reward_fn = None
    labeling = None
    if not config.true_reward:
        if teacher is None and config.teacher == "human":
            labeling = start_labeling(config, files)
        learner = make_learner(config, files, rng, teacher, on_ask=labeling.wake if labeling else None)
        reward_fn = EnsembleRewardFn(learner.model)
    bonus = (
        DisagreementBonus(reward_fn, config.exploration_bonus, config.exploration_decay)
        if (reward_fn is not None and config.exploration_bonus > 0)
        else None
    )
    policy_reward = bonus or reward_fn
    pretraining = None
    if policy_reward is not None and config.pretrain_steps > 0:
        pretraining = PretrainingReward(StateEntropyReward(), policy_reward, config.pretrain_steps)
    venv, recorder = make_vec_env(config.env, hp, config.seed, pretraining or policy_reward)
    agent = load_agent(files, venv, force_reset=runtime is None) if resuming else make_agent(hp, venv, config.seed)
    agent.set_logger(configure(str(files.tensorboard), ["tensorboard"]))
    log_config_text(agent, files.config.read_text())
    if state is not None:
        restore(files, venv, learner, state, runtime)
        for log in (files.metrics, files.episodes):  # rows written after the checkpoint will be written again
            truncate_csv(log, max_timestep=state["timesteps"])

    started = time.time() - (state or {}).get("wall_time", 0.0)
    recent: deque[Segment] = deque(maxlen=query_pool_size(config.query_episodes, hp.rollout_steps, spec.horizon))
    last_returns: deque[float] = deque(maxlen=10)  # for the progress bar: iterations may finish no episode
    pacer = None  # with people labeling: chooses their pairs as they near them
    if labeling is not None and learner is not None:
        pacer = PairPacer(learner, LabelQueue(learner.store), recent)
    if runtime is not None:  # last before training goes on: the random generators are put back too
        saved_recent, saved_returns = continue_from(runtime, agent, venv, recorder)
        recent.extend(saved_recent)
        last_returns.extend(saved_returns)
    if pretraining is not None:
        pretraining.timestep = agent.num_timesteps
    metrics = CsvLog(files.metrics, METRICS_FIELDS, append=resuming)
    episodes_log = CsvLog(files.episodes, EPISODES_FIELDS, append=resuming)

    # 1. Labels about the randomly initialised policy, before RL starts (after pre-training, in the loop below).
    if learner is not None and not resuming:
        asked = start_over(learner, config, files, human=teacher is not None or config.teacher == "human")
        if pretraining is None:
            recent.extend(collect_episodes(agent, venv, recorder, hp.rollout_steps, spec.horizon))
            learner.ask(list(recent), learner.schedule.initial_labels - asked, timestep=0)
            learner.collect_and_fit(config.reward_fit_steps_initial, config.reward_fit_steps_per_label)

    # 2. RL on the current r_hat, asking and learning as it goes.
    next_checkpoint = (agent.num_timesteps // config.checkpoint_every + 1) * config.checkpoint_every
    bar = tqdm(
        total=config.steps,
        initial=agent.num_timesteps,
        unit="step",
        disable=not config.progress,
        desc=f"{spec.env_id} {config.condition}",
        dynamic_ncols=True,
    )
    while agent.num_timesteps < config.steps:
        if bonus is not None:
            bonus.timestep = agent.num_timesteps
        if pretraining is not None and pretraining.pretraining_now:
            pretraining.timestep = agent.num_timesteps
            if not pretraining.pretraining_now:  # r_hat pays from here on: forget the returns' scale so far
                venv.ret_rms, venv.returns = RunningMeanStd(shape=()), np.zeros(venv.num_envs)
        agent.learn(hp.rollout_steps, reset_num_timesteps=False, callback=pacer)
        check_finite(agent, config.env)
        finished = recorder.pop_episodes()
        recent.extend(finished)
        true_returns = [ep.true_return for ep in finished]
        last_returns.extend(true_returns)
        learned_returns = [float(reward_fn(ep.obs, ep.actions).sum()) for ep in finished] if reward_fn else []
        for ret, lret in zip(true_returns, learned_returns or [math.nan] * len(finished)):
            episodes_log.write([agent.num_timesteps, ret, lret])
        row = {
            "timesteps": agent.num_timesteps,
            "wall_time": time.time() - started,
            "true_return": mean(true_returns),
            "learned_return": mean(learned_returns),
            "episodes": len(finished),
        }
        if learner is not None:
            if labeling is not None:  # shown on the labeling page
                learner.store.set_meta("agent_timestep", str(agent.num_timesteps))
            if pacer is not None:  # people: pairs are chosen as they near them (during rollouts, too)
                pacer.ask(agent.num_timesteps)
            else:
                learner.ask(list(recent), learner.due(agent.num_timesteps), agent.num_timesteps)
            learner.collect_and_fit(config.reward_fit_steps_initial, config.reward_fit_steps_per_label)
            row |= learner.metrics()
            for key in ("labels", "skipped", "val_accuracy", "l2"):
                if math.isfinite(row[key]):
                    agent.logger.record(f"preferences/{key}", row[key])
            if bonus is not None:  # the weight the last rollout's exploration bonus had
                agent.logger.record("preferences/exploration_weight", bonus.weight)
        for key in ("true_return", "learned_return"):  # iterations that finish no episode log nothing
            if math.isfinite(row[key]):
                agent.logger.record(f"rollout/{key}", row[key])
        agent.logger.dump(agent.num_timesteps)  # at this iteration's step (PPO's own dump comes before its update)
        metrics.write([row.get(k, math.nan) for k in METRICS_FIELDS])
        bar.update(agent.num_timesteps - bar.n)
        bar.set_postfix(progress_postfix(row, mean(list(last_returns))), refresh=False)
        if agent.num_timesteps >= next_checkpoint or agent.num_timesteps >= config.steps:
            runtime = capture(agent, venv, recorder, learner, recent, last_returns)
            save_checkpoint(files, agent, venv, learner, time.time() - started, config.keep_checkpoints, runtime)
            next_checkpoint += config.checkpoint_every
    bar.close()
    train_seconds = time.time() - started
    metrics.close()
    episodes_log.close()

    # 3. What a person wants to look at.
    title = f"{spec.env_id} ({config.condition})"
    plot_learning_curve(files.metrics, files.episodes, files.plot, title, reference(config.env))
    summary = {
        "env": config.env,
        "condition": config.condition,
        "seed": config.seed,
        "timesteps": agent.num_timesteps,
        "train_seconds": train_seconds,
        "labels": learner.store.count_answers() if learner else 0,
    }
    summary["final_episode"] = final_episode(config, agent, venv, files)
    files.summary.write_text(json.dumps(summary, indent=2))
    if learner is not None and summary["labels"] < config.labels:  # a human teacher: people answer at their pace
        waiting = learner.store.count_queries() - summary["labels"]
        print(
            f"the run got {summary['labels']} of its {config.labels} labels; {waiting} pairs still wait: "
            f"prefrl label {files.root} serves them, prefrl export / import carry the answers to another run",
            flush=True,
        )
    made = [("learning curve", files.plot), ("video", files.video), ("summary", files.summary)]
    print("; ".join(f"{what}: {path}" for what, path in made if path.exists()), flush=True)
    venv.close()
    if labeling is not None:
        labeling.stop()
    if learner is not None:
        learner.store.close()


def query_pool_size(query_episodes: int, rollout_steps: int, horizon: int) -> int:
    """How many of the latest finished episodes new queries cut their clips from: ``query_episodes``, or by
    default two rollouts' worth (at least 4)."""
    return query_episodes or max(4, 2 * rollout_steps // horizon)


def start_over(learner: PreferenceLearner, config: TrainConfig, files: RunFiles, human: bool) -> int:
    """A run resumed before its first checkpoint begins again; returns the queries it keeps from its first try.

    With a synthetic teacher it starts over exactly: its labels are forgotten (the teacher gives the same ones
    again) and its logs emptied, so it ends as the uninterrupted run would. A person's answers are kept: r_hat
    learns from them, unanswered pairs are shown again, and only the rest of the first labels is asked.
    """
    if not learner.store.count_queries():
        return 0
    if not human:
        forgotten = learner.store.forget_labels()
        for log in (files.metrics, files.episodes):
            truncate_csv(log, max_timestep=-1)
        print(f"no checkpoint yet: the run starts over ({forgotten} answers of {config.teacher} asked again)")
        return 0
    learner.unfitted = learner.reload_labels()  # r_hat's first fit learns from them
    kept, answered = learner.store.count_queries(), learner.store.count_answers()
    print(f"no checkpoint yet: the run starts over, keeping its {kept} pairs and {answered} answers")
    return kept


def check_finite(agent: PPO, env_id: str) -> None:
    """``RunError`` if the rollout just collected holds a NaN or infinite observation or reward (PPO would
    turn it into NaN weights); the last checkpoint, saved before, stays as it was."""
    buffer = agent.rollout_buffer
    for what, values in (("observation", buffer.observations), ("reward (r_hat or the true one)", buffer.rewards)):
        if not np.isfinite(values).all():
            raise RunError(
                f"a non-finite {what} in the rollout ending at timestep {agent.num_timesteps} of {env_id}; "
                "the last checkpoint is kept as it was"
            )


def final_episode(config: TrainConfig, agent: PPO, venv: VecNormalize, files: RunFiles) -> dict[str, float]:
    """One deterministic episode of the final policy (from the start state ``FINAL_VIDEO_SEED``): its true return
    and gait measures; with ``config.video``, also its video."""
    qpos, qvel, true_return = rollout(config.env, agent, venv, FINAL_VIDEO_SEED)
    if config.video:
        render_video(config.env, [(qpos, qvel)], files.video)
    return {"seed": FINAL_VIDEO_SEED, "true_return": true_return, **prefrl.envs.gait_measures(config.env, qpos, qvel)}


class PairPacer(BaseCallback):
    """Chooses pairs for people as they near them, and also during PPO's rollouts (SB3 callback).

    The schedule says how many pairs are due; ``LabelQueue.room`` caps them to what the labeling page will serve
    next, so that each new pair is rendered the moment it is chosen. Looking every ``every`` seconds during a
    rollout, not only between PPO iterations (a second or more apart), a pair is chosen as soon as there is room
    for it, one at a time, instead of several at the next iteration, queued at the renderer behind each other.
    """

    def __init__(self, learner: PreferenceLearner, queue: LabelQueue, recent: Collection[Segment], every: float = 0.25):
        super().__init__()
        self.learner, self.queue, self.recent, self.every = learner, queue, recent, every
        self._last = -math.inf

    def ask(self, timestep: int) -> int:
        """Choose the pairs due now that the page has room for; returns how many."""
        self._last = time.monotonic()
        due = self.learner.due(timestep)
        if due <= 0:  # the schedule wants nothing yet: no need to ask the page
            return 0
        return self.learner.ask(list(self.recent), min(due, self.queue.room()), timestep)

    def _on_step(self) -> bool:
        if time.monotonic() - self._last >= self.every:
            self.ask(self.num_timesteps)
        return True


def start_labeling(config: TrainConfig, files: RunFiles):
    """Serve the labeling page from background threads of this process, and print its URL.

    The human teacher only reads the answers the page commits to the store, so training never waits for them.
    """
    from prefrl.labeling.web.server import LabelServer  # only a run with a human teacher loads the web app

    if not files.db.exists():
        PreferenceStore.create(files.db, config.env).close()
    server = LabelServer(files.root, config.labels, config.label_host, config.label_port, trainer=True).start()
    print(f"label the clips at {server.url}", flush=True)
    return server


def progress_postfix(row: dict[str, float], recent_return: float) -> dict[str, str]:
    """What the progress bar shows: the true return of the last 10 episodes, and the labels: those the reward
    model learns from, those answered "can't tell" (dropped) and those still waiting for an answer."""
    postfix = {"return": f"{recent_return:.0f}"}
    if "labels" in row:
        postfix["labels"] = f"{row['labels'] - row['skipped']:.0f}"
        if row["skipped"]:
            postfix["skipped"] = f"{row['skipped']:.0f}"
        postfix["val_acc"] = f"{row['val_accuracy']:.2f}"
        if row["queries"] > row["labels"]:  # a human teacher: pairs wait for answers while training goes on
            postfix["waiting"] = f"{row['queries'] - row['labels']:.0f}"
    return postfix


def log_config_text(agent: PPO, config_json: str) -> None:
    """The resolved config as a text summary in TensorBoard (its TEXT tab)."""
    for output in agent.logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            output.writer.add_text("config", "```\n" + config_json + "\n```", 0)
            output.writer.flush()


def mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan
