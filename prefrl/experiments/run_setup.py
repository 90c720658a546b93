"""Everything a run checks and writes before it trains: its options, its run directory, what it may change on
``--resume``, whether this machine can render and listen, and which code trains it (``provenance``).

Every check here runs before the run directory is made (or, on ``--resume``, before anything in it changes),
so a refused command leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

import prefrl.envs
from prefrl.config import TrainConfig
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.render import open_renderer
from prefrl.run_dir import RunFiles
from prefrl.store import PreferenceStore


def prepare_run_dir(config: TrainConfig, given: Collection[str]) -> RunFiles:
    """Create the run directory (or check the one to resume, with ``given`` the options set for it); never
    overwrites anything."""
    config.check()
    if config.resume is not None:
        files = RunFiles(Path(config.resume))
        if not files.config.is_file():
            raise ValueError(f"{files.root} is not a prefrl run directory (no {RunFiles.CONFIG}); check --resume")
        saved = TrainConfig.from_json(files.config.read_text())
        check_resume_options(config, saved, given)
        if not saved.true_reward:
            PreferenceStore.open(files.db).close()  # fail early on a corrupt or foreign database
        if saved.video:
            check_rendering(saved.env)
        if saved.teacher == "human" and not saved.true_reward:
            resumed = replace(saved, **label_page_changes(config, given))
            check_port_free(resumed.label_host, resumed.label_port)
        return files
    spec = prefrl.envs.task_spec(config.env)  # fail early on an unknown env id
    hp = ppo_hyperparams(config.env, config.ppo.changes())  # and on a bad PPO setting
    if config.clip_steps > spec.horizon:
        raise ValueError(f"--clip-steps {config.clip_steps} exceeds {config.env}'s episodes ({spec.horizon} steps)")
    if config.teacher == "human" and not config.true_reward:
        check_port_free(config.label_host, config.label_port)
    if config.video:
        check_rendering(config.env)
    root = Path(config.out) if config.out is not None else config.default_run_dir()
    if root.exists():
        raise ValueError(f"run directory {root} already exists; pass --resume {root} to continue it, or another --out")
    root.mkdir(parents=True)
    files = RunFiles(root)
    files.config.write_text(replace(config, out=root).to_json(ppo_settings=hp.to_dict(), **provenance()))
    return files


RESUME_OPTIONS = ("resume", "steps", "progress", "label_port", "label_host")
"""What ``--resume`` may be given besides the run directory: ``--steps`` to extend the run, ``--no-progress``, and
where a human teacher's labeling page listens (``--label-port``, ``--label-host``)."""


def given_options(config: TrainConfig) -> list[str]:
    """The options of ``config`` that differ from the defaults: those set for it, as far as ``config`` alone can
    tell (an option set to its default value is missed; the command line knows better, see ``flags_given``)."""
    default = TrainConfig()
    return [f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(default, f.name)]


def flags_given(args: Collection[str]) -> set[str]:
    """The ``TrainConfig`` options named on a ``prefrl train`` command line: ``--steps 1000000`` gives
    ``steps`` even though 1,000,000 is the default, ``--no-progress`` gives ``progress``, ``--ppo.batch-size 256``
    gives ``ppo``."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    names = set()
    for arg in args:
        if not arg.startswith("--"):
            continue
        name = arg[2:].split("=", 1)[0].split(".", 1)[0].replace("-", "_")
        names.add(name[3:] if name.startswith("no_") and name[3:] in fields else name)
    return names & fields


def label_page_changes(config: TrainConfig, given: Collection[str]) -> dict[str, Any]:
    """Where a human teacher's labeling page listens this time, as far as ``--resume`` was told."""
    return {name: getattr(config, name) for name in ("label_port", "label_host") if name in given}


def check_resume_options(config: TrainConfig, saved: TrainConfig, given: Collection[str]) -> None:
    """``ValueError`` for options ``given`` with ``--resume`` that a run cannot change (every other option comes
    from the run's config.json), or for ``--steps`` that would shorten it."""
    refused = [f.name for f in dataclasses.fields(TrainConfig) if f.name in given and f.name not in RESUME_OPTIONS]
    if refused:
        flags = ", ".join("--" + name.replace("_", "-") for name in refused)
        raise ValueError(
            f"--resume continues the run as its config.json says; drop {flags} (only --steps, to extend it, "
            "--no-progress, --label-port and --label-host may be given)"
        )
    if "steps" in given and config.steps < saved.steps:
        raise ValueError(f"--steps {config.steps} would shorten the run ({saved.steps} steps); a run can only grow")


def update_config(files: RunFiles, changes: dict[str, object]) -> None:
    """Rewrite the run's config.json with ``changes`` (options a resumed run may change), atomically."""
    if not changes:
        return
    values = json.loads(files.config.read_text()) | changes
    tmp = files.config.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.replace(files.config)


def extend_run(files: RunFiles, steps: int) -> None:
    """Rewrite the run's config.json with more ``steps``; the label schedule then spreads the labels not yet asked
    over the new length."""
    before = json.loads(files.config.read_text())["steps"]
    if steps > before:
        print(f"extending the run from {before:,} to {steps:,} steps", flush=True)
        update_config(files, {"steps": steps})


def check_rendering(env_id: str) -> None:
    """``RenderingUnavailable`` (saying what to install) unless this machine can render ``env_id``: checked
    before training, so that a run does not fail at its last step, writing the final video."""
    with open_renderer(env_id, 16, 16, pretty=False):
        pass


def check_port_free(host: str, port: int) -> None:
    """``ValueError`` unless the labeling page could listen on ``host``:``port`` (port 0: any free one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ValueError(f"--label-host {host} is not an address this machine knows ({e.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as e:
            raise ValueError(
                f"cannot listen on {host}:{port} ({e.strerror}); pass another --label-port, or 0 for any free one"
            ) from None


def provenance() -> dict[str, str | None]:
    """What code trains the run: prefrl's version and, in a git checkout, its commit (``+dirty`` with changes)."""
    from prefrl import __version__

    source = Path(__file__).resolve().parents[2]
    try:
        top = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        if not top or Path(top).resolve() != source:  # not a checkout of prefrl (say, a wheel in a venv inside one)
            raise OSError
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"prefrl_version": __version__, "git_commit": None}  # an installed wheel: the version says it
    return {"prefrl_version": __version__, "git_commit": commit + ("+dirty" if changed else "")}
