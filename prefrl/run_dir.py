"""Every file of a run directory, named in this one place.

    runs/Hopper__pref700__0__20261129-120000/
        config.json  preferences.sqlite  metrics.csv  episodes.csv  summary.json  learning_curve.png
        final_policy.mp4  tb/  clips/  .lock  checkpoint/{policy.zip, vecnormalize.npz, reward_model.pt, state.json}
        checkpoints/<timestep>/ (with --keep-checkpoints)

Pure: paths only, nothing here reads or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CheckpointFiles:
    """One checkpoint's files: what ``--resume`` and ``prefrl video`` read back."""

    root: Path

    @property
    def policy(self) -> Path:
        """The PPO policy (SB3's zip)."""
        return self.root / "policy.zip"

    @property
    def normalization(self) -> Path:
        """``VecNormalize``'s observation and return statistics (npz)."""
        return self.root / "vecnormalize.npz"

    @property
    def reward_model(self) -> Path:
        """r_hat's state dict (preference runs only)."""
        return self.root / "reward_model.pt"

    @property
    def state(self) -> Path:
        """Timesteps, wall time and the reward trainer's counters (JSON)."""
        return self.root / "state.json"

    @property
    def runtime(self) -> Path:
        """Everything else a resumed run needs to continue exactly (envs, random generators, r_hat's data and
        optimizer, episodes under way; ``prefrl.experiments.run_state``), pickled by ``torch.save``."""
        return self.root / "runtime.pt"

    @property
    def policy_files(self) -> tuple[Path, Path]:
        """What replaying the policy needs."""
        return self.policy, self.normalization

    def missing_policy_files(self) -> list[Path]:
        """The files of ``policy_files`` that are not there."""
        return [path for path in self.policy_files if not path.is_file()]

    def is_complete(self) -> bool:
        """Whether the checkpoint was written to the end (its state file is written last)."""
        return self.state.is_file()


@dataclass(frozen=True)
class RunFiles:
    """Where one run keeps its things."""

    root: Path

    CONFIG = "config.json"
    DB = "preferences.sqlite"
    CHECKPOINT = "checkpoint"
    LARGE = (
        "checkpoint/", "checkpoint.tmp/", "checkpoint.old/", "checkpoints/", "tb/", "clips/", ".lock",
        DB, f"{DB}-*", "*.mp4", "*.gif", "learning_curve.png",
    )  # fmt: skip
    """What stays out of git (a sweep's ``.gitignore``): a run kept in a repository commits its config, logs and
    summary (what ``prefrl report`` reads, a few hundred KB at most), so a sweep resumes from a clone."""

    @property
    def config(self) -> Path:
        """The resolved configuration (``TrainConfig`` as JSON)."""
        return self.root / self.CONFIG

    @property
    def db(self) -> Path:
        """Every clip pair asked about and every answer (SQLite)."""
        return self.root / self.DB

    @property
    def metrics(self) -> Path:
        """One row per PPO iteration."""
        return self.root / "metrics.csv"

    @property
    def episodes(self) -> Path:
        """One row per finished training episode: ``timestep, true_return, learned_return``."""
        return self.root / "episodes.csv"

    @property
    def summary(self) -> Path:
        """Written when the run has finished (JSON); a sweep takes its presence as "done"."""
        return self.root / "summary.json"

    @property
    def plot(self) -> Path:
        return self.root / "learning_curve.png"

    @property
    def video(self) -> Path:
        """One episode of the final policy."""
        return self.root / "final_policy.mp4"

    @property
    def policy_video(self) -> Path:
        """``prefrl video``'s default output."""
        return self.root / "policy.mp4"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tb"

    @property
    def lock(self) -> Path:
        """Held (``flock``) by the one ``prefrl train`` working in the directory; holds its pid."""
        return self.root / ".lock"

    @property
    def clips(self) -> Path:
        """The labeling page's rendered clips (``<clip id>.mp4``)."""
        return self.root / "clips"

    @property
    def checkpoint(self) -> CheckpointFiles:
        """The latest checkpoint."""
        return CheckpointFiles(self.root / self.CHECKPOINT)

    @property
    def checkpoint_tmp(self) -> CheckpointFiles:
        """A checkpoint being written (renamed to ``checkpoint`` once complete)."""
        return CheckpointFiles(self.root / (self.CHECKPOINT + ".tmp"))

    @property
    def checkpoint_old(self) -> CheckpointFiles:
        """The previous checkpoint, while the new one is swapped in."""
        return CheckpointFiles(self.root / (self.CHECKPOINT + ".old"))

    @property
    def kept_checkpoints(self) -> Path:
        """``--keep-checkpoints``: a copy of every checkpoint, in ``<timestep>/``."""
        return self.root / (self.CHECKPOINT + "s")

    def kept_checkpoint(self, timestep: int) -> CheckpointFiles:
        return CheckpointFiles(self.kept_checkpoints / str(timestep))

    @property
    def evaluation(self) -> EvaluationFiles:
        """``scripts/backflip.py``'s measurement of the final policy."""
        return EvaluationFiles(self.root)

    @property
    def checkpoint_evaluation(self) -> Path:
        """``scripts/backflip.py --each-checkpoint``: one row per kept checkpoint."""
        return self.root / "checkpoint_evaluation.csv"


@dataclass(frozen=True)
class EvaluationFiles:
    """A behaviour's measurement (``scripts/backflip.py``), in a run directory or a kept checkpoint's."""

    root: Path

    @property
    def csv(self) -> Path:
        """One row per evaluation episode."""
        return self.root / "evaluation.csv"

    @property
    def json(self) -> Path:
        """The means, with the run's labels, timesteps and training time."""
        return self.root / "evaluation.json"

    @property
    def video(self) -> Path:
        return self.root / "behaviour.mp4"

    @property
    def gif(self) -> Path:
        return self.root / "behaviour.gif"
