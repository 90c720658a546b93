"""The ``prefrl`` command.

prefrl train --env prefrl/Hopper-v0 --labels 700 --steps 1000000 --seed 0
prefrl train --env prefrl/Hopper-v0 --true-reward          # the plain-PPO baseline
prefrl train --resume runs/Hopper__pref700__0__20261129-120000
prefrl train --env prefrl/Hopper-v0 --teacher human --labels 700   # label in a browser while it trains
prefrl label runs/Hopper__pref700__0__20261129-120000               # serve a run's queue to more labelers
prefrl export RUN_DIR labels.jsonl; prefrl import OTHER_RUN_DIR labels.jsonl
prefrl video RUN_DIR --episodes 3                                   # look at a run's policy (RUN_DIR/policy.mp4)
"""

from __future__ import annotations

import sys

import tyro

# Only the light config module at import time: --help and parsing must not wait for torch or matplotlib.
from prefrl.config import (
    ExportConfig,
    ImportConfig,
    LabelConfig,
    ReportConfig,
    SweepConfig,
    TrainConfig,
    VideoConfig,
)

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; user errors print one line and exit with status 2."""
    args = sys.argv[1:] if argv is None else argv
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
            },
            args=args,
            prog="prefrl",
            description="prefrl: deep RL from human preferences on MuJoCo.",
        )
    except ValueError as e:  # raised by the config's own checks while parsing
        print(f"prefrl: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return dispatch(config)
    except ValueError as e:
        print(f"prefrl: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def dispatch(config: object) -> int:
    """Run one parsed command; heavy modules are imported only for the command that needs them."""
    if isinstance(config, SweepConfig):
        from prefrl.experiments import sweep

        return sweep.main(config)
    if isinstance(config, ReportConfig):
        from prefrl.experiments import report

        return report.main(config)
    if isinstance(config, VideoConfig):
        from prefrl.experiments import policy_video

        return policy_video.main(config)
    if isinstance(config, (LabelConfig, ExportConfig, ImportConfig)):
        from prefrl.labeling.commands import run_labeling_command  # the web app only for the commands that serve it

        return run_labeling_command(config)
    assert isinstance(config, TrainConfig), f"unknown command {config!r}"
    from prefrl.experiments.train import run

    print(f"run directory: {run(config)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
