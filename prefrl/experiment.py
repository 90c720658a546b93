"""The outer loop of a preference run, top to bottom (Christiano et al., 2017, section 2.2).

    prefrl train --env prefrl/Hopper-v0 --labels 700 --steps 1000000 --seed 0

1. Ask for 25% of the label budget about clips of the randomly initialised policy; fit r_hat to the answers.
2. Repeat until ``steps``: one PPO iteration on the current r_hat; cut clips from the episodes it just
   completed; ask about the pairs the ensemble disagrees on most, as many as the schedule says are due;
   add whatever answers have arrived (never waiting for them) and refit r_hat.
3. Save the policy, r_hat, the metrics, a learning-curve plot and a video of the final policy.

The paper runs these as three asynchronous processes; prefrl interleaves them in one process, which on a
laptop CPU is both simpler and faster, and keeps the loop readable. Teachers stay asynchronous: the loop only
polls them.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
from tqdm import tqdm

import prefrl.envs
from prefrl import ablations, noisy_teachers
from prefrl.behaviour_teachers import BEHAVIOUR_TEACHERS, make_behaviour_teacher
from prefrl.config import CHECKPOINT_DIR, CONFIG_FILE, DB_FILE, FINAL_VIDEO_SEED, TrainConfig
from prefrl.hyperparams import PPOHyperparams, ppo_hyperparams
from prefrl.plotting import plot_learning_curve
from prefrl.preference import Query
from prefrl.reward_model import EnsembleRewardFn, RewardEnsemble
from prefrl.reward_training import FitStats, RewardTrainer, predict_preferences
from prefrl.rl.recorder import SegmentRecorder
from prefrl.rl.render import ClipRenderer, write_episodes
from prefrl.rl.vec_env import make_vec_env
from prefrl.schedule import LabelSchedule
from prefrl.segment import Segment, random_clips
from prefrl.selection import DisagreementPairs, PairSelector, RandomPairs
from prefrl.store import PreferenceStore
from prefrl.teachers import HumanTeacher, SyntheticOracle, Teacher

METRICS_FIELDS = [
    "timesteps",
    "wall_time",
    "true_return",
    "learned_return",
    "episodes",
    "labels",
    "queries",
    "val_accuracy",
    "val_loss",
    "train_loss",
    "l2",
]


@dataclass
class RunFiles:
    """Where a run keeps its things."""

    root: Path

    config = property(lambda self: self.root / CONFIG_FILE)
    db = property(lambda self: self.root / DB_FILE)
    checkpoint = property(lambda self: self.root / CHECKPOINT_DIR)
    kept_checkpoints = property(lambda self: self.root / (CHECKPOINT_DIR + "s"))
    metrics = property(lambda self: self.root / "metrics.csv")
    episodes = property(lambda self: self.root / "episodes.csv")
    tensorboard = property(lambda self: self.root / "tb")
    plot = property(lambda self: self.root / "learning_curve.png")
    video = property(lambda self: self.root / "final_policy.mp4")
    summary = property(lambda self: self.root / "summary.json")


@dataclass
class PreferenceLearner:
    """The reward-learning half of a run: r_hat, its trainer, the store, the teacher and the pair selector."""

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

    def ask(self, episodes: list[Segment], due: int, timestep: int) -> int:
        """Choose up to ``due`` new pairs from ``episodes``, store them and hand them to the teacher."""
        if due <= 0 or not episodes:
            return 0
        clips = random_clips(episodes, max(2 * due, 20), self.clip_steps, self.rng)
        chosen = self.selector.select(clips, due, self.rng)
        queries = [Query(-1, clips[c.left], clips[c.right], timestep, c.score) for c in chosen]
        self.teacher.ask(self.store.add_queries(queries))
        return len(queries)

    def collect_and_fit(self, initial_steps: int, steps_per_label: int) -> int:
        """Store the teacher's new answers; refit r_hat once enough are new. Returns the number of answers.

        A refit costs about as much as a few PPO minibatches per label, so r_hat is refitted when the new
        labels reach 2% of those it has (at least one), with ``steps_per_label`` gradient steps per new label:
        the reward model's cost then grows with the labels, not with the timesteps.
        """
        answers = self.teacher.answers()
        self.store.add_answers(answers)
        if answers:
            self.unfitted += self.trainer.add(self.store.comparisons(answers))
        if not self.trainer.has_training_data or self.unfitted < max(1, math.ceil(0.02 * len(self.trainer))):
            return len(answers)
        steps = initial_steps if self.fits == 0 else steps_per_label * self.unfitted
        self.last_fit = self.trainer.fit(steps)
        self.fits += 1
        self.unfitted = 0
        return len(answers)


def run(config: TrainConfig) -> Path:
    """Train one run as ``config`` says; returns its run directory."""
    files = prepare_run_dir(config)
    config = TrainConfig.from_json(files.config.read_text())  # the resolved config, as resumed
    resuming = (files.checkpoint / "state.json").exists()
    spec = prefrl.envs.task_spec(config.env)
    hp = ppo_hyperparams(config.env)
    set_random_seed(config.seed)
    torch.set_num_threads(1)  # small networks: threads cost more than they bring, and runs go in parallel
    rng = np.random.default_rng(config.seed)

    learner: PreferenceLearner | None = None
    reward_fn = None
    if not config.true_reward:
        learner = make_learner(config, files, config.clip_steps or spec.clip_steps, rng)
        reward_fn = EnsembleRewardFn(learner.model)
    labeling = start_labeling(config, files, learner) if learner is not None and config.teacher == "human" else None
    venv, recorder = make_vec_env(config.env, hp, config.seed, reward_fn)
    agent = make_agent(config, hp, venv, files, resuming)
    agent.set_logger(configure(str(files.tensorboard), ["tensorboard"]))
    state = json.loads((files.checkpoint / "state.json").read_text()) if resuming else {}
    if resuming:
        restore(files, venv, learner, state)
        for log in (files.metrics, files.episodes):  # rows written after the checkpoint will be written again
            truncate_csv(log, max_timestep=state["timesteps"])

    started = time.time() - state.get("wall_time", 0.0)
    recent: deque[Segment] = deque(maxlen=max(4, 2 * hp.rollout_steps // spec.horizon))
    last_returns: deque[float] = deque(maxlen=10)  # for the progress bar: iterations may finish no episode
    metrics = CsvLog(files.metrics, METRICS_FIELDS, append=resuming)
    episodes_log = CsvLog(files.episodes, ["timestep", "true_return", "learned_return"], append=resuming)

    # 1. Labels about the randomly initialised policy, before RL starts.
    if learner is not None and not resuming:
        recent.extend(collect_episodes(agent, venv, recorder, hp.rollout_steps, spec.horizon))
        learner.ask(list(recent), learner.schedule.initial_labels, timestep=0)
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
        agent.learn(hp.rollout_steps, reset_num_timesteps=False)
        finished = recorder.pop_episodes()
        recent.extend(finished)
        true_returns = [ep.true_return for ep in finished]
        last_returns.extend(true_returns)
        learned_returns = [learned_return(reward_fn, ep) for ep in finished] if reward_fn else []
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
            due = learner.schedule.labels_due(agent.num_timesteps) - learner.store.count_queries()
            learner.ask(list(recent), due, agent.num_timesteps)
            learner.collect_and_fit(config.reward_fit_steps_initial, config.reward_fit_steps_per_label)
            row |= learner_metrics(learner)
            for key in ("labels", "val_accuracy", "l2"):
                agent.logger.record(f"preferences/{key}", row[key])
        agent.logger.record("rollout/true_return", row["true_return"])
        metrics.write([row.get(k, math.nan) for k in METRICS_FIELDS])
        bar.update(agent.num_timesteps - bar.n)
        bar.set_postfix(progress_postfix(row, mean(list(last_returns))), refresh=False)
        if agent.num_timesteps >= next_checkpoint or agent.num_timesteps >= config.steps:
            save_checkpoint(files, agent, venv, learner, time.time() - started, config.keep_checkpoints)
            next_checkpoint += config.checkpoint_every
    bar.close()
    train_seconds = time.time() - started

    # 3. What a person wants to look at.
    plot_learning_curve(files.metrics, files.episodes, files.plot, title=f"{spec.env_id} ({config.condition})")
    summary = {
        "env": config.env,
        "condition": config.condition,
        "seed": config.seed,
        "timesteps": agent.num_timesteps,
        "train_seconds": train_seconds,
        "labels": learner.store.count_answers() if learner else 0,
    }
    if config.video:
        summary["video_episode_true_return"] = record_video(config.env, agent, venv, files.video)
    files.summary.write_text(json.dumps(summary, indent=2))
    venv.close()
    if labeling is not None:
        labeling.stop()
    if learner is not None:
        learner.store.close()
    return files.root


def prepare_run_dir(config: TrainConfig) -> RunFiles:
    """Create the run directory (or check the one to resume); never overwrites anything."""
    config.check()
    if config.resume is not None:
        files = RunFiles(Path(config.resume))
        if not files.config.is_file():
            raise ValueError(f"{files.root} is not a prefrl run directory (no {CONFIG_FILE}); check --resume")
        saved = TrainConfig.from_json(files.config.read_text())
        if not saved.true_reward:
            PreferenceStore.open(files.db).close()  # fail early on a corrupt or foreign database
        return files
    prefrl.envs.task_spec(config.env)  # fail early on an unknown env id
    root = Path(config.out) if config.out is not None else config.default_run_dir()
    if root.exists():
        raise ValueError(f"run directory {root} already exists; pass --resume {root} to continue it, or another --out")
    root.mkdir(parents=True)
    files = RunFiles(root)
    files.config.write_text(replace(config, out=root).to_json())
    return files


def make_learner(config: TrainConfig, files: RunFiles, clip_steps: int, rng: np.random.Generator) -> PreferenceLearner:
    """r_hat, its trainer, the store, the teacher and the selector, as ``config`` says."""
    env = gym.make(config.env)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]  # type: ignore[index]
    env.close()
    store = PreferenceStore.open(files.db) if files.db.exists() else PreferenceStore.create(files.db, config.env)
    if store.env_id != config.env:
        raise ValueError(f"{files.db} holds preferences for {store.env_id}, not {config.env}")
    model = RewardEnsemble(obs_dim, act_dim, members=config.ensemble)
    trainer_config = ablations.trainer_config(config.ensemble, config.regularization, config.reward_objective)
    trainer = RewardTrainer(model, trainer_config, seed=config.seed)
    teacher = make_teacher(config, store)
    predict = lambda lefts, rights: predict_preferences(model, lefts, rights)  # noqa: E731
    selector: PairSelector = DisagreementPairs(predict) if config.selection == "disagreement" else RandomPairs()
    if config.selection == "disagreement" and config.ensemble == 1:
        selector = RandomPairs()  # one member cannot disagree with itself
    schedule = ablations.label_schedule(
        config.labels, config.steps, config.online_labels, config.initial_label_fraction, config.label_decay_steps
    )
    return PreferenceLearner(store, model, trainer, teacher, selector, schedule, clip_steps, rng)


def make_teacher(config: TrainConfig, store: PreferenceStore) -> Teacher:
    """The teacher ``config.teacher`` names (already checked by ``TrainConfig.check``)."""
    if config.teacher == "oracle":
        return SyntheticOracle(config.tie_tolerance or 0.0)
    if config.teacher == "human":
        return HumanTeacher(store)
    if config.teacher in BEHAVIOUR_TEACHERS:
        return make_behaviour_teacher(config.teacher, prefrl.envs.task_spec(config.env).dt, config.tie_tolerance)
    return noisy_teachers.make_teacher(config.teacher, seed=config.seed)


def start_labeling(config: TrainConfig, files: RunFiles, learner: PreferenceLearner):
    """Serve the labeling page from background threads of this process, and print its URL.

    The human teacher only reads the answers the page commits to the store, so training never waits for them.
    """
    from prefrl.web.server import LabelServer  # only a run with a human teacher loads the web app

    server = LabelServer(files.root, config.labels, config.label_host, config.label_port).start()
    assert isinstance(learner.teacher, HumanTeacher)
    learner.teacher.undo_seconds = server.queue.undo_seconds
    learner.teacher.on_ask = server.wake
    print(f"label the clips at {server.url}", flush=True)
    return server


def make_agent(config: TrainConfig, hp: PPOHyperparams, venv: VecNormalize, files: RunFiles, resuming: bool) -> PPO:
    """PPO with the task's hyperparameters; loaded from the checkpoint when resuming."""
    if resuming:
        return PPO.load(files.checkpoint / "policy.zip", env=venv, device="cpu")
    return PPO(
        "MlpPolicy",
        venv,
        n_steps=hp.n_steps,
        batch_size=hp.batch_size,
        n_epochs=hp.n_epochs,
        learning_rate=hp.learning_rate,
        gamma=hp.gamma,
        gae_lambda=hp.gae_lambda,
        ent_coef=hp.ent_coef,
        clip_range=hp.clip_range,
        max_grad_norm=hp.max_grad_norm,
        policy_kwargs={"net_arch": list(hp.net_arch)},
        seed=config.seed,
        device="cpu",
        verbose=0,
    )


def collect_episodes(
    agent: PPO, venv: VecNormalize, recorder: SegmentRecorder, steps: int, horizon: int
) -> list[Segment]:
    """Run the (untrained) policy for at least ``steps`` env steps and one full episode per env."""
    obs: Any = venv.reset()
    for _ in range(max(steps // venv.num_envs, horizon)):
        actions, _ = agent.predict(obs, deterministic=False)
        obs, *_ = venv.step(actions)
    agent._last_obs = None  # PPO resets the envs when it starts learning  # noqa: SLF001
    return recorder.pop_episodes()


def learned_return(reward_fn: EnsembleRewardFn | None, episode: Segment) -> float:
    """Sum of the current r_hat over an episode."""
    assert reward_fn is not None
    return float(reward_fn(episode.obs, episode.actions).sum())


def learner_metrics(learner: PreferenceLearner) -> dict[str, float]:
    fit = learner.last_fit
    return {
        "labels": learner.store.count_answers(),
        "queries": learner.store.count_queries(),
        "val_accuracy": fit.val_accuracy if fit else math.nan,
        "val_loss": fit.val_loss if fit else math.nan,
        "train_loss": fit.train_loss if fit else math.nan,
        "l2": learner.trainer.l2,
    }


def progress_postfix(row: dict[str, float], recent_return: float) -> dict[str, str]:
    """What the progress bar shows: the true return of the last 10 episodes, and the labels."""
    postfix = {"return": f"{recent_return:.0f}"}
    if "labels" in row:
        postfix |= {"labels": f"{row['labels']:.0f}", "val_acc": f"{row['val_accuracy']:.2f}"}
        if row["queries"] > row["labels"]:  # a human teacher: pairs wait for answers while training goes on
            postfix["waiting"] = f"{row['queries'] - row['labels']:.0f}"
    return postfix


def save_checkpoint(
    files: RunFiles,
    agent: PPO,
    venv: VecNormalize,
    learner: PreferenceLearner | None,
    wall_time: float,
    keep: bool = False,
) -> None:
    """Policy, normalisation statistics, r_hat and counters; written to a temp dir, then swapped in.

    With ``keep``, a copy also goes to ``checkpoints/<timestep>``, for looking at the policy's history later.
    """
    tmp = files.root / (CHECKPOINT_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    agent.save(tmp / "policy.zip")
    obs_rms = cast(RunningMeanStd, venv.obs_rms)  # a dict only for dict observation spaces
    np.savez(
        tmp / "vecnormalize.npz",
        obs_mean=obs_rms.mean,
        obs_var=obs_rms.var,
        obs_count=obs_rms.count,
        ret_mean=venv.ret_rms.mean,
        ret_var=venv.ret_rms.var,
        ret_count=venv.ret_rms.count,
    )
    state = {"timesteps": agent.num_timesteps, "wall_time": wall_time}
    if learner is not None:
        torch.save(learner.model.state_dict(), tmp / "reward_model.pt")
        state |= {"l2": learner.trainer.l2, "fits": learner.fits}
    (tmp / "state.json").write_text(json.dumps(state))
    old = files.root / (CHECKPOINT_DIR + ".old")
    if files.checkpoint.exists():
        files.checkpoint.rename(old)
    tmp.rename(files.checkpoint)
    shutil.rmtree(old, ignore_errors=True)
    if keep:
        shutil.copytree(files.checkpoint, files.kept_checkpoints / str(agent.num_timesteps), dirs_exist_ok=True)


def restore(files: RunFiles, venv: VecNormalize, learner: PreferenceLearner | None, state: dict) -> None:
    """Load normalisation statistics and r_hat; re-ask queries that were never answered; reload all labels."""
    stats = np.load(files.checkpoint / "vecnormalize.npz")
    restore_obs_stats(venv, stats)
    venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = (
        stats["ret_mean"],
        stats["ret_var"],
        float(stats["ret_count"]),
    )
    if learner is None:
        return
    learner.model.load_state_dict(torch.load(files.checkpoint / "reward_model.pt", weights_only=True))
    learner.model.updates += 1
    learner.trainer.l2 = state["l2"]
    learner.fits = state["fits"]
    learner.trainer.add(learner.store.comparisons())
    learner.teacher.ask([learner.store.query(i) for i in learner.store.unanswered()])


def restore_obs_stats(venv: VecNormalize, stats: Any) -> None:
    """Set ``venv``'s observation normalisation to the statistics ``save_checkpoint`` wrote (``vecnormalize.npz``)."""
    obs_rms = cast(RunningMeanStd, venv.obs_rms)  # a dict only for dict observation spaces
    obs_rms.mean, obs_rms.var, obs_rms.count = stats["obs_mean"], stats["obs_var"], float(stats["obs_count"])


def load_policy(run_dir: Path, env_id: str, timestep: int | None = None) -> tuple[PPO, VecNormalize]:
    """The policy of a run's last checkpoint and its observation normalisation, as ``save_checkpoint`` wrote them.

    ``timestep``: that kept checkpoint instead (``checkpoints/<timestep>``, from ``--keep-checkpoints``). The
    ``VecNormalize`` only normalises observations for the policy (``venv.normalize_obs``, as ``rollout`` uses
    it): its statistics stay fixed. Close it when done.
    """
    checkpoint = run_dir / CHECKPOINT_DIR if timestep is None else RunFiles(run_dir).kept_checkpoints / str(timestep)
    if not (checkpoint / "policy.zip").is_file():
        raise FileNotFoundError(f"no checkpoint at {checkpoint}")
    hp = ppo_hyperparams(env_id)
    venv = VecNormalize(
        DummyVecEnv([lambda: gym.make(env_id)]), training=False, norm_obs=hp.normalize_obs, norm_reward=False
    )
    with np.load(checkpoint / "vecnormalize.npz") as stats:
        restore_obs_stats(venv, stats)
    return PPO.load(checkpoint / "policy.zip", device="cpu"), venv


def rollout(env_id: str, agent: PPO, venv: VecNormalize, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """One deterministic episode of the policy: ``qpos``, ``qvel`` (from the reset state on), true return."""
    env = gym.make(env_id)
    obs, info = env.reset(seed=seed)
    qpos, qvel, total, done = [info["qpos"]], [info["qvel"]], 0.0, False
    while not done:
        action, _ = agent.predict(venv.normalize_obs(obs[None]), deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action[0])
        qpos.append(info["qpos"])
        qvel.append(info["qvel"])
        total += float(reward)
        done = terminated or truncated
    env.close()
    return np.array(qpos), np.array(qvel), total


def record_video(env_id: str, agent: PPO, venv: VecNormalize, path: Path, max_fps: float = 50.0) -> float:
    """Render one deterministic episode of the policy to ``path``; returns its true return."""
    qpos, qvel, total = rollout(env_id, agent, venv, seed=FINAL_VIDEO_SEED)
    with ClipRenderer(env_id) as renderer:
        write_episodes(renderer, [(qpos, qvel)], path, max_fps)
    return total


def mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def truncate_csv(path: Path, max_timestep: int) -> None:
    """Keep the header and the rows whose first column (timesteps) is at most ``max_timestep``."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and float(r[0]) <= max_timestep]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(kept)


class CsvLog:
    """Append-only CSV, flushed every row (a crash keeps what was written)."""

    def __init__(self, path: Path, fields: list[str], append: bool = False):
        exists = append and path.exists()
        self._file = path.open("a" if exists else "w", newline="")
        self._writer = csv.writer(self._file)
        if not exists:
            self._writer.writerow(fields)

    def write(self, values: list) -> None:
        self._writer.writerow(values)
        self._file.flush()
