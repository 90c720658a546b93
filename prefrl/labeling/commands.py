"""``prefrl label``, ``prefrl export`` and ``prefrl import``: the commands around human labels.

prefrl label runs/Hopper__pref700__0__20261129-120000 --host 0.0.0.0   # prints a URL with a token
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from prefrl.config import ExportConfig, ImportConfig, LabelConfig, TrainConfig
from prefrl.labeling.answers_io import export_answers, import_answers
from prefrl.run_dir import RunFiles
from prefrl.store import PreferenceStore


def _db(run_dir: Path) -> Path:
    path = RunFiles(Path(run_dir)).db
    if not path.is_file():
        raise ValueError(f"{run_dir} holds no {RunFiles.DB}: pass the directory of a run trained from preferences")
    return path


def run_labeling_command(config: LabelConfig | ExportConfig | ImportConfig) -> int:
    """Run one of the labeling commands; returns the exit status."""
    if isinstance(config, ExportConfig):
        if config.out.exists():
            raise ValueError(f"{config.out} already exists; choose another file")
        with PreferenceStore.open(_db(config.run_dir)) as store:
            n = export_answers(store, config.out)
        print(f"exported {n} answers to {config.out}")
        return 0
    if isinstance(config, ImportConfig):
        if not config.file.is_file():
            raise ValueError(f"no file {config.file}")
        with PreferenceStore.open(_db(config.run_dir)) as store:
            counts = import_answers(store, config.file)
        print(f"imported {counts.imported} answers into {config.run_dir}, skipped {counts.skipped} already present")
        return 0
    return serve(config)


def serve(config: LabelConfig) -> int:
    """Serve the run's labeling page until Ctrl-C."""
    from prefrl.labeling.web.server import LabelServer

    _db(config.run_dir)
    run_config = RunFiles(Path(config.run_dir)).config
    budget = TrainConfig.from_json(run_config.read_text()).labels if run_config.is_file() else None
    server = LabelServer(
        config.run_dir,
        budget,
        config.host,
        config.port,
        config.lease_seconds,
        config.undo_seconds,
        config.stale_steps,
        config.pretty,
    ).start()
    print(f"labeling page: {server.url}  (Ctrl-C to stop)", flush=True)
    # Serve until Ctrl-C or SIGTERM. Handlers of our own, because a process started in the background by a
    # non-interactive shell inherits an ignored SIGINT, and Python then raises no KeyboardInterrupt.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stopping.wait()  # the server and the renderer run in their own threads
    finally:
        server.stop()
    return 0
