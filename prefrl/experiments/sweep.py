"""Sweeps: tasks x conditions x seeds of ``prefrl train``, in parallel on this machine or on a Ray cluster.

    prefrl sweep --tasks Hopper,HalfCheetah --conditions true,350,700,1400 --seeds 5 --steps 1000000 --out sweeps/fig2
    prefrl sweep --tasks Hopper --conditions true,700,700+no-ensemble,700@mistake:eps=0.1 --out sweeps/abl
    prefrl sweep --resume sweeps/fig2                  # continue an interrupted sweep, as planned
    prefrl sweep ... --ray auto                        # the same runs on the Ray cluster this machine belongs to
    prefrl report sweeps/fig2

A condition is ``true`` (PPO on the true reward) or a label budget, optionally with ablations (``+name``, see
``prefrl.experiments.ablations``) and a teacher (``@spec``, see ``prefrl.teachers.bpref``): ``700+random-queries``,
``1400@stochastic:beta=1``. Every run gets its own directory ``SWEEP/<Task>__<condition>__<seed>``; the plan is
kept in ``SWEEP/sweep.json``. Running a sweep again skips the runs that finished (``summary.json``) and continues
the interrupted ones from their last checkpoint (``prefrl train --resume``); adding seeds, tasks or conditions to
an existing sweep only runs the new ones. When all is done, ``SWEEP/summary.csv`` has one row per run.

Each run is a ``python -m prefrl.cli train ...`` subprocess, not a call in this process: a run that crashes or
leaks memory takes no other down, its log is the output of exactly the command a person would type (written to
``SWEEP/logs/``), and a Ray worker needs nothing from the driver but the arguments. On Ray, every worker must have
prefrl installed and see the sweep directory at the same path (a shared file system); one run takes one CPU.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from prefrl.config import SweepConfig
from prefrl.experiments.ablations import Ablation
from prefrl.experiments.results import final_return
from prefrl.run_dir import RunFiles
from prefrl.teachers import registry

SWEEP_FILE, SUMMARY_FILE, LOG_DIR, GITIGNORE_FILE = "sweep.json", "summary.csv", "logs", ".gitignore"
RunStatus = Literal["new", "interrupted", "done", "failed"]


@dataclass(frozen=True)
class Condition:
    """What the agent learns from: the true reward, or ``labels`` answers of ``teacher`` with some ablations.

    Attributes:
        labels: Label budget; ``None`` for the true-reward baseline.
        ablations: The paper's ablations turned on (sorted, so that equal conditions have equal names).
        teacher: The teacher spec (``prefrl.teachers.registry``); ``"oracle"`` is the paper's synthetic oracle.
    """

    labels: int | None
    ablations: tuple[Ablation, ...] = ()
    teacher: str = "oracle"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ablations", tuple(sorted(set(self.ablations), key=list(Ablation).index)))
        if self.labels is None and (self.ablations or self.teacher != "oracle"):
            raise ValueError("the true-reward baseline uses no labels: it takes no ablations and no teacher")
        if self.labels is not None and self.labels < 1:
            raise ValueError(f"a label budget must be positive, got {self.labels}")
        if registry.parse(self.teacher).kind == "human":  # ValueError for a bad spec
            raise ValueError("a sweep cannot ask people for labels: use a synthetic teacher")

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``true``, or ``LABELS[+ablation...][@teacher]``, e.g. ``700+no-ensemble@mistake:eps=0.1``."""
        text = text.strip()
        if text == "true":
            return cls(None)
        head, _, teacher = text.partition("@")
        budget, *ablations = head.split("+")
        if not budget.isdigit():
            raise ValueError(
                f"bad condition {text!r}: write 'true' or a label budget such as 700, optionally with ablations "
                f"(700+random-queries) and a teacher (700@mistake:eps=0.1)"
            )
        return cls(int(budget), tuple(Ablation.parse(a) for a in ablations), teacher.strip() or "oracle")

    @property
    def is_baseline(self) -> bool:
        return self.labels is None

    @property
    def name(self) -> str:
        """The canonical text (``Condition.parse(c.name) == c``)."""
        if self.labels is None:
            return "true"
        name = "+".join([str(self.labels), *(a.value for a in self.ablations)])
        return name if self.teacher == "oracle" else f"{name}@{self.teacher}"

    @property
    def slug(self) -> str:
        """The name as a directory-name part: ``true``, ``pref700``, ``pref700+no-ensemble@mistake-eps0.1``."""
        if self.labels is None:
            return "true"
        return "pref" + re.sub(r"[^A-Za-z0-9.+@_-]", "-", self.name.replace("=", "").replace(":", "-"))

    def train_args(self) -> list[str]:
        """The ``prefrl train`` switches of this condition."""
        if self.labels is None:
            return ["--true-reward"]
        args = ["--labels", str(self.labels)]
        for ablation in self.ablations:
            args += ablation.train_args
        if self.teacher != "oracle":
            args += ["--teacher", self.teacher]
        return args


def split_conditions(items: Iterable[str]) -> list[Condition]:
    """Conditions from command-line items, each possibly a comma-separated list.

    A condition starts with ``true`` or a number, so commas inside a teacher spec (``skip:eps=0.1,scale=50``)
    stay with it.
    """
    texts = [t for item in items for t in re.split(r",(?=\s*(?:true|\d))", item) if t.strip()]
    return [Condition.parse(t) for t in texts]


def split_names(items: Iterable[str]) -> list[str]:
    """``["Hopper,HalfCheetah", "Swimmer"]`` -> ``["Hopper", "HalfCheetah", "Swimmer"]``."""
    return [t.strip() for item in items for t in item.split(",") if t.strip()]


@dataclass(frozen=True)
class SweepRun:
    """One planned run of a sweep."""

    task: str
    condition: Condition
    seed: int
    steps: int
    run_dir: Path

    @property
    def env_id(self) -> str:
        return task_env_id(self.task)

    def status(self) -> RunStatus:
        """``done`` (summary written), ``interrupted`` (started, unfinished) or ``new``."""
        if RunFiles(self.run_dir).summary.exists():
            return "done"
        return "interrupted" if self.run_dir.exists() else "new"

    def train_args(self) -> list[str]:
        """Arguments of ``prefrl`` that start the run, or continue it when it was interrupted."""
        if self.status() == "interrupted":
            if not RunFiles(self.run_dir).config.is_file():
                raise ValueError(f"{self.run_dir} exists but holds no run (no {RunFiles.CONFIG}): remove it and rerun")
            return ["train", "--resume", str(self.run_dir), "--no-progress"]
        return [
            "train", "--env", self.env_id, "--steps", str(self.steps), "--seed", str(self.seed),
            "--out", str(self.run_dir), "--no-video", "--no-progress", *self.condition.train_args(),
        ]  # fmt: skip


@dataclass(frozen=True)
class SweepPlan:
    """Tasks x conditions x seeds at ``steps`` timesteps each; kept as ``sweep.json`` in the sweep directory."""

    tasks: tuple[str, ...]
    conditions: tuple[Condition, ...]
    seeds: int
    steps: int

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("--tasks is empty: name at least one task, e.g. --tasks Hopper")
        if not self.conditions:
            raise ValueError("--conditions is empty: name at least one, e.g. --conditions true,700")
        if self.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {self.seeds}")
        if self.steps < 1:
            raise ValueError(f"--steps must be positive, got {self.steps}")
        for task in self.tasks:
            if not re.fullmatch(r"[A-Za-z0-9]+(-v\d+)?", task):
                raise ValueError(
                    f"bad task name {task!r}: use the short name, e.g. Hopper for prefrl/Hopper-v0, Hopper-v1 for "
                    "prefrl/Hopper-v1"
                )
        slugs = [c.slug for c in self.conditions]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"--conditions names a condition twice: {', '.join(c.name for c in self.conditions)}")

    def runs(self, sweep_dir: Path) -> list[SweepRun]:
        """Every run, seed-major: an interrupted sweep has all tasks and conditions at the first seeds."""
        root = Path(sweep_dir).resolve()  # absolute: Ray workers may start elsewhere
        return [
            SweepRun(task, c, seed, self.steps, root / f"{task}__{c.slug}__{seed}")
            for seed in range(self.seeds)
            for task in self.tasks
            for c in self.conditions
        ]

    def merged(self, other: SweepPlan) -> SweepPlan:
        """This plan extended by ``other``'s tasks, conditions and seeds (the steps must agree)."""
        if other.steps != self.steps:
            raise ValueError(
                f"this sweep directory was planned with --steps {self.steps}, not {other.steps}: "
                "use another --out for a sweep of another length"
            )
        return SweepPlan(
            tuple(dict.fromkeys(self.tasks + other.tasks)),
            tuple(dict.fromkeys(self.conditions + other.conditions)),
            max(self.seeds, other.seeds),
            self.steps,
        )

    def to_json(self) -> str:
        return json.dumps(
            {"tasks": list(self.tasks), "conditions": [c.name for c in self.conditions], "seeds": self.seeds,
             "steps": self.steps},
            indent=2,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> SweepPlan:
        v = json.loads(text)
        return cls(tuple(v["tasks"]), tuple(Condition.parse(c) for c in v["conditions"]), v["seeds"], v["steps"])

    @classmethod
    def load(cls, sweep_dir: Path) -> SweepPlan:
        path = Path(sweep_dir) / SWEEP_FILE
        if not path.is_file():
            raise ValueError(f"{sweep_dir} is not a sweep directory (no {SWEEP_FILE})")
        return cls.from_json(path.read_text())


# --- Running ----------------------------------------------------------------------------------------------------


def run_command(args: Sequence[str], log: Path, command: Sequence[str] | None = None) -> int:
    """Run ``prefrl ARGS`` (``command`` replaces ``python -m prefrl.cli``), output to ``log``; its exit status.

    ``sys.executable`` is read where this runs, so a Ray worker uses its own interpreter.
    """
    argv = [*(command or [sys.executable, "-m", "prefrl.cli"]), *args]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write("$ " + " ".join(argv) + "\n")
        f.flush()
        return subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode


class Launcher(Protocol):
    """Runs the sweep's runs, reporting each one's exit status as it ends."""

    def launch(self, runs: Sequence[SweepRun], logs: Path) -> Iterator[tuple[SweepRun, int]]: ...


def log_path(logs: Path, run: SweepRun) -> Path:
    return logs / f"{run.run_dir.name}.log"


@dataclass
class LocalLauncher:
    """``jobs`` runs at a time as subprocesses of this machine (each run uses about one core)."""

    jobs: int = 1
    command: Sequence[str] | None = None  # default: this interpreter's ``-m prefrl.cli``

    def launch(self, runs: Sequence[SweepRun], logs: Path) -> Iterator[tuple[SweepRun, int]]:
        with ThreadPoolExecutor(max(1, self.jobs)) as pool:
            futures = {pool.submit(run_command, r.train_args(), log_path(logs, r), self.command): r for r in runs}
            for future in as_completed(futures):
                yield futures[future], future.result()


@dataclass
class RayLauncher:
    """Runs on a Ray cluster, one CPU each: ``address`` as ``ray.init`` takes it (``auto``: the cluster this
    machine is part of; ``local``: start a Ray instance on this machine for the sweep). Needs ``pip install ray``."""

    address: str = "auto"
    command: Sequence[str] | None = None

    def launch(self, runs: Sequence[SweepRun], logs: Path) -> Iterator[tuple[SweepRun, int]]:
        try:
            import ray  # an optional extra: only a sweep on Ray needs it
        except ImportError:
            raise ValueError("--ray needs Ray: pip install 'prefrl[ray]' (or pip install ray)") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=None if self.address == "local" else self.address, include_dashboard=False)
        try:
            remote = ray.remote(num_cpus=1)(run_command)
            pending = {remote.remote(r.train_args(), log_path(logs, r), self.command): r for r in runs}  # type: ignore[call-arg]
            while pending:
                (done,), _ = ray.wait(list(pending), num_returns=1)
                yield pending.pop(done), ray.get(done)
        finally:
            if started:
                ray.shutdown()


def run_sweep(sweep_dir: Path, plan: SweepPlan | None, launcher: Launcher) -> list[dict]:
    """Run every unfinished run of ``plan`` (merged into the directory's plan; ``None``: the directory's own).

    Returns the summary rows (also written to ``SWEEP/summary.csv``).
    """
    sweep_dir = Path(sweep_dir)
    plan_file = sweep_dir / SWEEP_FILE
    if plan is None:
        plan = SweepPlan.load(sweep_dir)
    elif plan_file.exists():
        plan = SweepPlan.load(sweep_dir).merged(plan)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(plan.to_json())
    ignore = sweep_dir / GITIGNORE_FILE
    if not ignore.exists():  # a sweep's own, written once: a user's edits stay
        ignore.write_text(
            "# prefrl sweep: keep checkpoints, databases, TensorBoard logs, videos and run logs out of git\n"
            + "".join(f"*/{name}\n" for name in RunFiles.LARGE)
            + f"{LOG_DIR}/\n"
        )
    runs = plan.runs(sweep_dir)
    todo = [r for r in runs if r.status() != "done"]
    for r in todo:
        r.train_args()  # a broken run directory stops the sweep before anything starts
    print(f"sweep {sweep_dir}: {len(runs)} runs, {len(runs) - len(todo)} done, {len(todo)} to run", flush=True)
    failed: set[Path] = set()
    for i, (run, code) in enumerate(launcher.launch(todo, sweep_dir / LOG_DIR), 1):
        if code != 0:
            failed.add(run.run_dir)
        word = "finished" if code == 0 else f"FAILED (exit {code}; see {log_path(sweep_dir / LOG_DIR, run)})"
        print(f"[{i}/{len(todo)}] {run.run_dir.name} {word}", flush=True)
    rows = summary_rows(runs, failed)
    write_summary(sweep_dir / SUMMARY_FILE, rows)
    return rows


def summary_rows(runs: Sequence[SweepRun], failed: Iterable[Path] = ()) -> list[dict]:
    """One row per run: what it was, how it ended, its final true return (mean of the last 10% of timesteps)."""
    failed = set(failed)
    rows = []
    for r in runs:
        status = r.status()
        if status != "done" and r.run_dir in failed:
            status = "failed"
        summary = json.loads(RunFiles(r.run_dir).summary.read_text()) if status == "done" else {}
        rows.append({
            "task": r.task, "condition": r.condition.name, "seed": r.seed, "steps": r.steps, "status": status,
            "final_true_return": final_return(r.run_dir, r.steps) if status == "done" else float("nan"),
            "labels": summary.get("labels", ""), "train_seconds": summary.get("train_seconds", ""),
            "run_dir": r.run_dir.name,
        })  # fmt: skip
    return rows


def write_summary(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# --- Command line -------------------------------------------------------------------------------------------------


def task_env_id(task: str) -> str:
    """The env id of a sweep's short task name: ``Hopper`` is ``prefrl/Hopper-v0``, ``Hopper-v1`` itself."""
    return f"prefrl/{task}" if re.search(r"-v\d+$", task) else f"prefrl/{task}-v0"


def plan_sweep(config: SweepConfig) -> SweepPlan:
    """The sweep ``config`` describes (``ValueError`` for a bad condition)."""
    return SweepPlan(
        tuple(split_names(config.tasks)), tuple(split_conditions(config.conditions)), config.seeds, config.steps
    )


def check_tasks(plan: SweepPlan) -> None:
    """``ValueError`` for a task prefrl does not know (imports the env registry)."""
    import prefrl.envs

    for task in plan.tasks:
        prefrl.envs.task_spec(task_env_id(task))


def main(config: SweepConfig) -> int:
    """``prefrl sweep``: plan, run, summarise. User errors raise ``ValueError``; returns 1 if a run failed."""
    sweep_dir = config.resume if config.resume is not None else config.out
    plan = None if config.resume is not None else plan_sweep(config)
    check_tasks(plan or SweepPlan.load(sweep_dir))
    if config.dry_run:
        for r in (plan or SweepPlan.load(sweep_dir)).runs(sweep_dir):
            print(f"[{r.status()}] prefrl " + " ".join(r.train_args() if r.status() != "done" else ["(done)"]))
        return 0
    jobs = config.jobs or os.cpu_count() or 1
    launcher: Launcher = RayLauncher(config.ray) if config.ray else LocalLauncher(jobs)
    rows = run_sweep(sweep_dir, plan, launcher)
    failed = [r for r in rows if r["status"] != "done"]
    print(f"summary: {Path(sweep_dir) / SUMMARY_FILE}" + (f"; {len(failed)} runs did not finish" if failed else ""))
    return 1 if failed else 0
