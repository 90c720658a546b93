"""The ``prefrl`` command.

prefrl train --env prefrl/Hopper-v1 --labels 700 --steps 1000000 --seed 0
prefrl train --env prefrl/Hopper-v1 --true-reward          # the plain-PPO baseline
prefrl train --resume runs/Hopper__pref700__0__20261129-120000
prefrl train --env prefrl/Hopper-v1 --teacher human --labels 700   # label in a browser while it trains
prefrl label runs/Hopper__pref700__0__20261129-120000               # serve a run's queue to more labelers
prefrl export RUN_DIR labels.jsonl; prefrl import OTHER_RUN_DIR labels.jsonl
prefrl video RUN_DIR --episodes 3                                   # look at a run's policy (RUN_DIR/policy.mp4)
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import threading
from collections.abc import Sequence

import tyro
import tyro._strings

# Only the light config module at import time: --help and parsing must not wait for torch or matplotlib.
from prefrl.config import (
    BenchConfig,
    DoctorConfig,
    ExportConfig,
    ImportConfig,
    LabelConfig,
    ReportConfig,
    SweepConfig,
    TrainConfig,
    VideoConfig,
)

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _reflow(helptext: str) -> str:
    """A docstring as --help shows it: each paragraph (blank lines apart) on one line, to be wrapped there."""
    paragraphs = inspect.cleandoc(helptext).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


# The options' --help texts are their field docstrings, wrapped at 120 columns in the source. tyro keeps a line
# break wherever the next line does not start with a letter (and sees the indentation first), so wrapped
# sentences would break mid-line in --help; prefrl's docstrings use blank lines for paragraphs, so every other
# break is only the source's wrapping. (tests/test_cli_conventions.py checks every option's help text.)
tyro._strings.remove_single_line_breaks = _reflow


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; user errors print one line and exit with status 2, a run that cannot go
    on with 1, Ctrl-C with 130."""
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops a run even where the shell started prefrl with SIGINT ignored (a background job of a script).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # prefrl train --help | head: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(args: list[str]) -> int:
    if args in (["--version"], ["-V"]):
        from prefrl import __version__

        print(f"prefrl {__version__}")
        return 0
    try:
        config = tyro.extras.subcommand_cli_from_dict(
            {
                "train": TrainConfig,
                "label": LabelConfig,
                "export": ExportConfig,
                "import": ImportConfig,
                "sweep": SweepConfig,
                "report": ReportConfig,
                "video": VideoConfig,
                "doctor": DoctorConfig,
                "bench": BenchConfig,
            },
            args=args,
            prog="prefrl",
            description="prefrl: deep RL from human preferences on MuJoCo (prefrl --version: its version).",
        )
    except ValueError as e:  # raised by the config's own checks while parsing
        print(f"prefrl: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from prefrl.experiments import RunError, os_error_text

    try:
        return dispatch(config, args)
    except ValueError as e:
        print(f"prefrl: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as e:
        print(f"prefrl: error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        raise
    except OSError as e:  # a missing folder, a read-only directory, a full disk: say which file, not a traceback
        print(f"prefrl: error: {os_error_text(e)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # the command has said what was kept and how to go on
        return EXIT_INTERRUPTED


def dispatch(config: object, args: Sequence[str] = ()) -> int:
    """Run one parsed command (``args``: its command line); heavy modules are imported only for the command that
    needs them."""
    if isinstance(config, SweepConfig):
        from prefrl.experiments import sweep

        return sweep.main(config)
    if isinstance(config, ReportConfig):
        from prefrl.experiments import report

        return report.main(config)
    if isinstance(config, BenchConfig):
        from prefrl.experiments import bench

        return bench.main(config)
    if isinstance(config, DoctorConfig):
        from prefrl.experiments import doctor

        return doctor.main(config)
    if isinstance(config, VideoConfig):
        from prefrl.experiments import policy_video

        return policy_video.main(config)
    if isinstance(config, (LabelConfig, ExportConfig, ImportConfig)):
        from prefrl.labeling.commands import run_labeling_command  # the web app only for the commands that serve it

        return run_labeling_command(config)
    assert isinstance(config, TrainConfig), f"unknown command {config!r}"
    from prefrl.experiments.run_setup import flags_given
    from prefrl.experiments.train import run

    run(config, given=flags_given(args))  # prints the run directory at the start and what it made at the end
    return 0


if __name__ == "__main__":
    sys.exit(main())
