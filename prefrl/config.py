"""The options of every ``prefrl`` command. Field docstrings are their ``--help`` text.

Only light imports here: ``prefrl --help`` and argument parsing load this module, not the (torch, matplotlib)
modules that run the commands.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from prefrl.labeling import DEFAULT_PORT
from prefrl.labeling.queue import LEASE_SECONDS, STALE_STEPS
from prefrl.learning.label_schedule import LabelSchedule
from prefrl.run_dir import RunFiles
from prefrl.teachers.human import HumanTeacher


@dataclass(frozen=True)
class PPOOverrides:
    """PPO settings to change for this run; each unset one is the task's own (prefrl/rl/ppo.toml)."""

    n_envs: int | None = None
    """Envs stepping together in one process."""
    n_steps: int | None = None
    """Steps per env per rollout."""
    batch_size: int | None = None
    """Minibatch size of PPO's update."""
    n_epochs: int | None = None
    """Passes over each rollout."""
    learning_rate: float | None = None
    """Adam step size."""
    gamma: float | None = None
    """Discount factor (the paper: 0.995)."""
    gae_lambda: float | None = None
    """GAE lambda (the paper: 0.97)."""
    ent_coef: float | None = None
    """Entropy bonus (the paper: 0.01; 0.001 on Swimmer)."""
    clip_range: float | None = None
    """PPO's clipping range."""
    max_grad_norm: float | None = None
    """Gradient norm clipping."""
    log_std_init: float | None = None
    """Log of the policy's initial action noise (SB3's default 0: std 1)."""
    target_kl: float | None = None
    """Stop an update's epochs once its KL from the rollout's policy passes 1.5 times this."""

    def changes(self) -> dict[str, float]:
        """The settings given, by name."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class TrainConfig:
    """Learn a MuJoCo task from synthetic preferences (or, with --true-reward, from its true reward)."""

    env: str = "prefrl/Hopper-v1"
    """Task to learn: prefrl/<Task>-v0 with Task one of Hopper, Walker2d, Swimmer, HalfCheetah, Ant, Reacher,
    InvertedPendulum, InvertedDoublePendulum (the paper's versions), or prefrl/Hopper-v1, prefrl/Walker2d-v1,
    prefrl/Ant-v1, prefrl/HalfCheetah-v1, where a fallen (or flipped) step pays minus its distance from standing
    (their v0 can be won lying down), prefrl/Ant-v2, prefrl/InvertedPendulum-v1, prefrl/InvertedDoublePendulum-v1
    (stood up again after 1 s fallen), prefrl/Hopper-v2, prefrl/Walker2d-v2 (v1 with a soft-edged penalty)."""
    labels: int = 700
    """Label budget: comparisons to ask for over the run (the paper: 350, 700 or 1400)."""
    steps: int = 1_000_000
    """Agent timesteps of PPO training."""
    seed: int = 0
    """Random seed (envs, networks, clip and pair sampling)."""
    selection: Literal["disagreement", "random", "spread"] = "disagreement"
    """How pairs are chosen: where the ensemble disagrees most (paper), uniformly at random, or 'spread' (not
    in the paper): of the half of the candidates the ensemble disagrees on most, those least like the pairs
    asked before (greedy k-center on the clips' mean observations, B-Pref's k-center + disagreement; worse on
    Hopper-v1: docs/BENCHMARKS.md, section 42)."""
    clip_reuse: int | None = None
    """Pairs one clip may appear in among those asked at one time (default: 1 with --teacher human, so a person
    never judges one odd clip over and over; otherwise no limit, as in the paper)."""
    query_episodes: int = 0
    """Recent episodes the clips of new queries are cut from; 0: the last two rollouts' worth, at least 4 (the
    paper does not say; rl-teacher kept a clip of each of its last 200 episodes; 200 made Hopper-v1 worse:
    docs/BENCHMARKS.md, section 40)."""
    true_reward: bool = False
    """Baseline: train PPO on the task's true reward (no reward model, no labels), same hyperparameters."""
    teacher: str = "oracle"
    """Who answers: 'oracle' prefers the clip with the higher true return (the paper's synthetic labels);
    'human' starts a labeling page (its URL is printed) where people answer while the agent trains (pairs
    are chosen as they near them, so a run asks no faster than they answer);
    'backflip' / 'one-leg' are scripted judges of the novel behaviours (prefrl/HopperBackflip-v0,
    prefrl/HalfCheetahOneLeg-v0); an imperfect oracle from B-Pref (Lee et al. 2021): 'stochastic:beta=1',
    'myopic:gamma=0.9', 'mistake:eps=0.1', 'skip:eps=0.1', 'equal:eps=0.1'."""
    label_host: str = "127.0.0.1"
    """With --teacher human: address of the labeling page (any but 127.0.0.1 needs the printed token)."""
    label_port: int = DEFAULT_PORT
    """With --teacher human: port of the labeling page."""
    tie_tolerance: float | None = None
    """The teacher answers 'equally good' when the two clips' scores differ by at most this (the oracle: true
    return; default 0). The backflip teacher's default is 0.05 turns: smaller differences a person wouldn't see."""
    ensemble: int = 3
    """Reward-model ensemble size (paper: 3; 1 is the 'no ensemble' ablation)."""
    online_labels: bool = True
    """Ask 25% of the labels before RL and the rest during it (paper); --no-online-labels asks all of them about
    the random policy up front (the paper's 'no online queries' ablation)."""
    initial_label_fraction: float = LabelSchedule.initial_fraction
    """Fraction of the labels asked about the random policy before RL starts (paper: 0.25)."""
    label_decay_steps: float = LabelSchedule.decay_steps
    """Time constant of the label rate after that, proportional to d / (T + d) at timestep T (paper: 2e6); a
    value much larger than --steps spreads the labels evenly over the run."""
    regularization: bool = True
    """Adaptive L2 on r_hat (paper); --no-regularization turns it off (ablation)."""
    clip_steps: int = 0
    """Steps per clip; 0: the task's own (1.5 s, as in the paper); 1 is the 'single-step segments' ablation."""
    exploration_bonus: float = 0.0
    """Add this times the ensemble's disagreement to r_hat while training the policy (RUNE, Liang et al. 2022: it
    draws the agent where r_hat knows least, so clips of it get shown); 0: the paper's r_hat alone."""
    exploration_decay: float = 3e-6
    """With --exploration-bonus: it shrinks by this fraction per timestep (3e-6: to 41% at 300k steps, 5% at 1M)."""
    pretrain_steps: int = 0
    """Not in the paper: train the policy for this many timesteps to visit diverse states (k-NN state entropy,
    PEBBLE) before the first labels are asked, so they compare more than the random policy lying on the floor;
    the label schedule starts after them. 0: the paper's start, labels about the random policy."""
    reward_objective: Literal["comparisons", "regression"] = "comparisons"
    """Fit r_hat to the comparisons (paper), or regress it on the clips' true returns (ablation)."""
    reward_inputs: Literal["obs+action", "obs"] = "obs+action"
    """What r_hat reads: the observation and the action (paper: r(o, a)), or the observation alone ('obs', not in
    the paper: the policy can then raise r_hat only by reaching other states, not by how it acts in them)."""
    reward_fit_steps_initial: int = 400
    """Reward-model gradient steps after the labels from the random policy arrive."""
    reward_fit_steps_per_label: int = 3
    """Reward-model gradient steps per new label later on (r_hat is refitted as labels arrive)."""
    out: Path | None = None
    """Run directory to create (default: runs/<Task>__<pref700|true>__<seed>__<time>). Must not exist."""
    resume: Path | None = None
    """Continue an interrupted run from its last checkpoint; every other option is read from RUN_DIR."""
    checkpoint_every: int = 100_000
    """Save policy, reward model and normalisation statistics every this many timesteps."""
    keep_checkpoints: bool = False
    """Also keep a copy of every checkpoint in RUN_DIR/checkpoints/<timestep> (otherwise each replaces the last)."""
    video: bool = True
    """Write a video (mp4) of one episode of the final policy."""
    progress: bool = True
    """Show a progress bar."""
    ppo: PPOOverrides = PPOOverrides()
    """Change the task's PPO settings for this run, e.g. --ppo.batch-size 256 (the same for --true-reward)."""

    def check(self) -> None:
        """``ValueError`` naming the option to fix, for values no run can use."""
        if self.labels < 1:
            raise ValueError(f"--labels must be positive, got {self.labels}")
        if self.steps < 1:
            raise ValueError(f"--steps must be positive, got {self.steps}")
        if self.ensemble < 1:
            raise ValueError(f"--ensemble must be at least 1, got {self.ensemble}")
        if not 0.0 <= self.initial_label_fraction <= 1.0:
            raise ValueError(f"--initial-label-fraction must be in [0, 1], got {self.initial_label_fraction}")
        if not (math.isfinite(self.label_decay_steps) and self.label_decay_steps > 0):
            raise ValueError(f"--label-decay-steps must be a positive number, got {self.label_decay_steps}")
        if self.clip_steps < 0:
            raise ValueError(f"--clip-steps must be >= 0 (0: the task's own), got {self.clip_steps}")
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        if self.checkpoint_every < 1:
            raise ValueError(f"--checkpoint-every must be positive, got {self.checkpoint_every}")
        if self.reward_fit_steps_initial < 1 or self.reward_fit_steps_per_label < 0:
            raise ValueError("--reward-fit-steps-initial must be positive and --reward-fit-steps-per-label >= 0")
        if not 0 <= self.label_port <= 65535:
            raise ValueError(f"--label-port must be in 0..65535 (0: any free port), got {self.label_port}")
        if not self.label_host.strip():
            raise ValueError("--label-host is empty: pass an address, e.g. 127.0.0.1")
        if not (math.isfinite(self.exploration_bonus) and self.exploration_bonus >= 0):
            raise ValueError(f"--exploration-bonus must be a number >= 0, got {self.exploration_bonus}")
        if not 0.0 <= self.exploration_decay < 1.0:
            raise ValueError(f"--exploration-decay must be in [0, 1), got {self.exploration_decay}")
        if self.exploration_bonus > 0 and self.true_reward:
            raise ValueError("--exploration-bonus is added to r_hat; --true-reward has none: pass one of them")
        if self.exploration_bonus > 0 and self.ensemble < 2:
            raise ValueError("--exploration-bonus needs --ensemble 2 or more (it is the members' disagreement)")
        if self.clip_reuse is not None and self.clip_reuse < 1:
            raise ValueError(f"--clip-reuse must be at least 1 (pairs per clip), got {self.clip_reuse}")
        if self.query_episodes < 0:
            raise ValueError(f"--query-episodes must be >= 0 (0: two rollouts' worth), got {self.query_episodes}")
        if not 0 <= self.pretrain_steps < self.steps:
            raise ValueError(f"--pretrain-steps must be in [0, --steps), got {self.pretrain_steps}")
        if self.pretrain_steps > 0 and self.true_reward:
            raise ValueError("--pretrain-steps comes before the first labels; --true-reward asks none: pass one")
        if self.tie_tolerance is not None and not math.isfinite(self.tie_tolerance):
            raise ValueError(f"--tie-tolerance must be a finite number, got {self.tie_tolerance}")
        if self.teacher != "oracle" and self.true_reward:
            raise ValueError(f"--teacher {self.teacher} answers queries; --true-reward asks none: pass one of them")
        from prefrl.teachers import registry

        registry.check(self.teacher, self.env, self.tie_tolerance)

    @property
    def condition(self) -> str:
        """Short name of what the agent learns from: ``true`` or ``pref<labels>``."""
        return "true" if self.true_reward else f"pref{self.labels}"

    def default_run_dir(self) -> Path:
        task = self.env.split("/")[-1].removesuffix("-v0")  # Hopper for prefrl/Hopper-v0, Hopper-v1 for v1
        return Path("runs") / f"{task}__{self.condition}__{self.seed}__{time.strftime('%Y%m%d-%H%M%S')}"

    def to_json(self, **extra: object) -> str:
        """The options as JSON, with ``extra`` keys after them (``from_json`` reads the options only)."""
        values = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}
        return json.dumps(values | extra, indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        values = json.loads(text)
        for key in ("out", "resume"):
            values[key] = None if values.get(key) is None else Path(values[key])
        values["ppo"] = PPOOverrides(**values.get("ppo", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# --- Labeling commands (prefrl label / export / import) ---------------------------------------------------------


@dataclass(frozen=True)
class LabelConfig:
    """Serve the labeling page for an existing run's queue (a second labeler, or after a restart)."""

    run_dir: Annotated[Path, tyro.conf.Positional]
    """The run directory (holds preferences.sqlite)."""
    host: str = "127.0.0.1"
    """Address to listen on; any other than 127.0.0.1 requires the token printed at start."""
    port: int = DEFAULT_PORT
    """Port to listen on (0: any free port)."""
    lease_seconds: float = LEASE_SECONDS
    """How long a shown pair stays reserved for its labeler before another one may get it."""
    undo_seconds: float = HumanTeacher.UNDO_SECONDS
    """How long after answering a labeler can undo (the trainer takes an answer only after this)."""
    stale_steps: int = STALE_STEPS
    """Pairs chosen this many agent timesteps ago are shown only when nothing fresher waits."""
    pretty: bool = False
    """Render clips with shadows, reflections and anti-aliasing (slower)."""


@dataclass(frozen=True)
class ExportConfig:
    """Write a run's answers, with their clips, to a JSON Lines file."""

    run_dir: Annotated[Path, tyro.conf.Positional]
    """The run directory."""
    out: Annotated[Path, tyro.conf.Positional]
    """The file to write (.jsonl); must not exist."""


@dataclass(frozen=True)
class ImportConfig:
    """Add the answers of a JSON Lines file (from prefrl export) to a run of the same task."""

    run_dir: Annotated[Path, tyro.conf.Positional]
    """The run directory to add them to."""
    file: Annotated[Path, tyro.conf.Positional]
    """A file written by prefrl export."""


# --- Sweeps and their reports (prefrl sweep / report) -----------------------------------------------------------


@dataclass(frozen=True)
class SweepConfig:
    """Run tasks x conditions x seeds of prefrl train, skipping finished runs and continuing interrupted ones."""

    tasks: tuple[str, ...] = ("Hopper", "HalfCheetah", "Swimmer", "Reacher")
    """Tasks (short names, comma- or space-separated): Hopper, Walker2d, Swimmer, HalfCheetah, Ant, Reacher,
    InvertedPendulum, InvertedDoublePendulum (prefrl/<Task>-v0), or with a version: Hopper-v1, Walker2d-v1,
    Ant-v1, Ant-v2, HalfCheetah-v1, InvertedPendulum-v1, InvertedDoublePendulum-v1."""
    conditions: tuple[str, ...] = ("true", "350", "700", "1400")
    """'true' (PPO on the true reward) or a label budget, with optional ablations and teacher:
    700+random-queries, 700+no-ensemble, 700+no-online-queries, 700+no-regularization, 700+single-step,
    700+regression, prefrl's 700+explore (--exploration-bonus 1), 700+distinct-clips (--clip-reuse 1) and
    700+pretrain (--pretrain-steps 100000), 700@mistake:eps=0.1. Comma- or space-separated."""
    seeds: int = 3
    """Seeds 0..N-1 of every task and condition (paired: seed k of every condition starts alike)."""
    steps: int = 1_000_000
    """Agent timesteps of every run."""
    out: Path = Path("sweeps/sweep")
    """Sweep directory: one run directory per run, sweep.json (the plan), summary.csv, logs/."""
    resume: Path | None = None
    """Continue the sweep in this directory as planned in its sweep.json (every other option is ignored)."""
    jobs: int = 0
    """Runs at a time on this machine (0: one per CPU core). With --conditions true,700, --jobs 2 trains the two
    runs of each task and seed side by side, so that prefrl report's wall-time ratio compares like with like."""
    ray: str | None = None
    """Run on Ray instead: 'auto' (the cluster this machine is part of), an address (ray://host:10001), or 'local'
    (start Ray on this machine). Workers need prefrl and the sweep directory at the same path."""
    dry_run: bool = False
    """Print the runs' commands and exit."""


@dataclass(frozen=True)
class ReportConfig:
    """Draw a sweep's learning curves and write its results tables (of the runs finished so far)."""

    sweep_dir: Annotated[Path, tyro.conf.Positional]
    """The sweep directory (holds sweep.json)."""
    out: Path | None = None
    """Where to write report.md and the plots (default: SWEEP_DIR/report). When the sweep has a 'true' condition
    and a label one, report.md also pairs them by seed (final returns, return ratio, normalised score, median
    wall-time ratio, this machine) and paired.csv holds that table."""
    bins: int = 50
    """Timestep bins of the learning curves."""
    reps: int = 2000
    """Bootstrap replicates of the confidence intervals."""
    baseline: Literal["random", "zero"] = "random"
    """Normalise returns from the untrained policy's return ('random') or from 0 ('zero': the plain ratio)."""


# --- Looking at a policy again (prefrl video) ---------------------------------------------------------------------

VIDEO_SUFFIXES = (".mp4", ".gif")
FINAL_VIDEO_SEED = 12345
"""Start-state seed of the episode in a run's final_policy.mp4 (and of ``prefrl video``'s first episode)."""


@dataclass(frozen=True)
class VideoConfig:
    """Render a run's policy (its last checkpoint) playing deterministic episodes, to an mp4 or a GIF."""

    run_dir: Annotated[Path, tyro.conf.Positional]
    """The run directory (holds config.json and checkpoint/): a finished run, or one still training or interrupted
    (its last checkpoint, saved every --checkpoint-every timesteps)."""
    out: Path | None = None
    """The video to write: .mp4 (H.264, 320x240) or .gif (240x180, kept small); default RUN_DIR/policy.mp4.
    A file already there is overwritten (videos are derived data: render them again at will)."""
    episodes: int = 1
    """Deterministic episodes to play, one after another in the one video."""
    seed: int = FINAL_VIDEO_SEED
    """Start-state seed of the first episode (episode i: seed + i). The default replays the episode of the
    run's final_policy.mp4."""
    max_fps: float | None = None
    """Keep every k-th env step so the video plays in real time at no more than this many frames per second
    (default: 50 for an mp4, 20 for a GIF)."""

    def check(self) -> None:
        """``ValueError`` naming the option to fix, for values no video can use."""
        if self.episodes < 1:
            raise ValueError(f"--episodes must be positive, got {self.episodes}")
        if self.max_fps is not None and not self.max_fps > 0:
            raise ValueError(f"--max-fps must be positive, got {self.max_fps}")
        out = self.out_path
        if out.suffix not in VIDEO_SUFFIXES:
            raise ValueError(f"--out must end in {' or '.join(VIDEO_SUFFIXES)}, got {out}")
        if out.is_dir():
            raise ValueError(f"--out {out} is a directory; pass a file name ending in .mp4 or .gif")

    @property
    def out_path(self) -> Path:
        """Where the video goes: ``--out``, or ``RUN_DIR/policy.mp4``."""
        return self.out if self.out is not None else RunFiles(self.run_dir).policy_video

    @property
    def gif(self) -> bool:
        return self.out_path.suffix == ".gif"


# --- Checking the set-up (prefrl doctor) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorConfig:
    """Check what a first run needs (rendering, video encoding, torch, the browser for the labeling tests) and
    print the versions, saying what to install or set for anything missing."""

    env: str = "prefrl/Hopper-v1"
    """The task to render a test frame of."""


# --- Measuring speed (prefrl bench) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """Measure training speed on one core: raw env steps/s, a true-reward run and a preference run of the same
    length, side by side in one invocation, printed with their ratios."""

    env: str = "prefrl/Hopper-v1"
    """The task."""
    steps: int = 100_000
    """Agent timesteps of each of the two runs."""
    labels: int | None = None
    """Labels of the preference run (default: the 700-label budget's share of a 1M-step run, 70 per 100k steps)."""
    seed: int = 0
    """Seed of both runs."""
    out: Path | None = None
    """Also write the numbers to this JSON file."""

    @property
    def preference_labels(self) -> int:
        return self.labels if self.labels is not None else max(10, round(700 * self.steps / 1_000_000))
