"""Teach the Hopper a backflip, or the Half-Cheetah to run on one leg, from scripted preferences; then measure it.

Christiano et al. (2017), section 3.2: behaviours no reward function describes, learned from 900 (backflip) and
800 (one leg) comparisons. A scripted teacher (``prefrl.teachers.scripted``) stands in for the person.

    python scripts/backflip.py --behaviour backflip --labels 900 --steps 2000000 --out runs/backflip
    python scripts/backflip.py --behaviour one-leg --labels 800 --steps 2000000 --out runs/one_leg
    python scripts/backflip.py --behaviour backflip --evaluate runs/backflip   # measure a finished run again

Training keeps a checkpoint every 100k steps (``--keep-checkpoints``); ``--evaluate RUN_DIR --each-checkpoint``
measures each of them, ``--evaluate RUN_DIR --timestep T`` one of them with its video. After training
(``prefrl.experiments.train.run``) it runs ``--episodes`` deterministic episodes of the final policy and
writes into the run directory:

* ``evaluation.csv``: one row per episode (backflip: completed flips, and separately the turns that landed on
  the foot but rolled through upright into the next one without holding still, which the flip counter does not
  count; one leg: forward speed in m/s, fraction of
  the time on one leg and which leg is up; both: the task's true return);
* ``evaluation.json``: the means, the labels and timesteps used and the training wall time;
* ``behaviour.mp4``: the first evaluation episode; ``behaviour.gif``: its first seconds, small, for the README.

The metrics come from the simulator's states (``prefrl.behaviours.metrics``, ``prefrl.rl.ground_contact``), not
from the teacher.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

import prefrl.envs
from prefrl.behaviours.cheetah_kinematics import PARTS
from prefrl.behaviours.metrics import backflips_rolled_through, count_backflips, forward_speed, one_leg_time
from prefrl.config import TrainConfig
from prefrl.experiments.checkpoint import load_policy
from prefrl.experiments.train import run
from prefrl.rl.agent import rollout
from prefrl.rl.ground_contact import GroundContacts
from prefrl.rl.render import GIF, MP4, render_video
from prefrl.run_dir import RunFiles
from prefrl.teachers.registry import SCRIPTED_TASKS

MAX_LABELS = 900  # the paper's backflip budget
BEHAVIOURS = {  # name (also the teacher's): env id, default labels (paper), default timesteps
    "backflip": (SCRIPTED_TASKS["backflip"], 900, 2_000_000),
    "one-leg": (SCRIPTED_TASKS["one-leg"], 800, 2_000_000),
}
RECIPE = {  # where these runs depart from the paper's settings (--paper-settings restores them):
    # (initial_label_fraction, label_decay_steps)
    "backflip": (0.1, 1e7),
    "one-leg": (0.1, 1e7),
}
"""10% of the labels up front, the rest at an almost even rate (the paper: 25%, then a rate falling as
2e6 / (T + 2e6)), so that the teacher still sees the clips of a policy that only starts to flip late."""


def train(
    behaviour: str,
    labels: int,
    steps: int,
    seed: int,
    out: Path | None,
    paper_settings: bool = False,
    exploration_bonus: float = 0.0,
    pretrain_steps: int = 0,
) -> Path:
    """One preference run taught by the behaviour's scripted teacher; returns its run directory."""
    env_id = BEHAVIOURS[behaviour][0]
    config = TrainConfig(
        env=env_id,
        teacher=behaviour,
        labels=labels,
        steps=steps,
        seed=seed,
        out=out,
        video=False,
        keep_checkpoints=True,
        exploration_bonus=exploration_bonus,
        pretrain_steps=pretrain_steps,
    )
    if not paper_settings:
        fraction, decay = RECIPE[behaviour]
        config = replace(config, initial_label_fraction=fraction, label_decay_steps=decay)
    return run(config)


def measure(behaviour: str, run_dir: Path, episodes: int, timestep: int | None = None) -> list[dict]:
    """Rows of the behaviour's measures, one per deterministic episode of the run's policy (its last checkpoint,
    or the kept one at ``timestep``); each row keeps the episode's ``qpos`` and ``qvel``."""
    env_id = BEHAVIOURS[behaviour][0]
    dt = prefrl.envs.task_spec(env_id).dt
    agent, venv = load_policy(run_dir, env_id, timestep)
    contacts = GroundContacts(env_id, PARTS) if behaviour == "one-leg" else None
    rows = []
    for episode in range(episodes):
        seed = 10_000 + episode  # never a training seed
        qpos, qvel, true_return = rollout(env_id, agent, venv, seed)
        row: dict = {"episode": episode, "seed": seed, "true_return": true_return}
        if contacts is None:
            row["backflips"] = count_backflips(qpos, dt)
            row["backflips_rolled_through"] = backflips_rolled_through(qpos, dt)
        else:
            fraction, leg = one_leg_time(contacts(qpos), dt)
            row |= {"forward_speed": forward_speed(qpos, dt), "one_leg_fraction": fraction, "raised_leg": leg}
        print(json.dumps(row), flush=True)
        rows.append(row | {"qpos": qpos, "qvel": qvel})
    venv.close()
    return rows


def output_dir(run_dir: Path, timestep: int | None) -> Path:
    """Where ``evaluate`` writes: the run directory, or the kept checkpoint's own."""
    return run_dir if timestep is None else RunFiles(run_dir).kept_checkpoint(timestep).root


def evaluate_checkpoints(behaviour: str, run_dir: Path, episodes: int) -> Path:
    """Measure every kept checkpoint (``--keep-checkpoints``) over ``episodes`` episodes; one CSV row each."""
    kept = RunFiles(run_dir).kept_checkpoints
    timesteps = sorted(int(p.name) for p in kept.iterdir()) if kept.is_dir() else []
    if not timesteps:
        raise SystemExit(f"{run_dir} kept no checkpoints: train with --keep-checkpoints")
    measures = (
        ["backflips", "backflips_rolled_through"] if behaviour == "backflip" else ["forward_speed", "one_leg_fraction"]
    )
    out = RunFiles(run_dir).checkpoint_evaluation
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestep", *[f"mean_{m}" for m in measures], *[f"episode_{m}" for m in measures]])
        for timestep in timesteps:
            rows = measure(behaviour, run_dir, episodes, timestep)
            means = [float(np.mean([r[m] for r in rows])) for m in measures]
            each = [" ".join(f"{r[m]:g}" for r in rows) for m in measures]
            writer.writerow([timestep, *means, *each])
            f.flush()
    return out


def evaluate(
    behaviour: str, run_dir: Path, episodes: int, gif_seconds: float = 6.0, timestep: int | None = None
) -> dict:
    """Measure the run's final policy (or the kept checkpoint at ``timestep``) over ``episodes`` episodes; write
    the CSV, JSON, mp4 and GIF (into the run directory, or that checkpoint's)."""
    env_id = BEHAVIOURS[behaviour][0]
    dt = prefrl.envs.task_spec(env_id).dt
    full_rows = measure(behaviour, run_dir, episodes, timestep)
    first = full_rows[0]["qpos"], full_rows[0]["qvel"]
    rows = [{k: v for k, v in r.items() if k not in ("qpos", "qvel")} for r in full_rows]
    out = RunFiles(output_dir(run_dir, timestep)).evaluation

    with open(out.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary_file = RunFiles(run_dir).summary
    trained = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    result = {
        "behaviour": behaviour,
        "env": env_id,
        "episodes": episodes,
        "labels": trained.get("labels"),
        "timesteps": trained.get("timesteps") if timestep is None else timestep,
        "train_seconds": trained.get("train_seconds"),
        "mean_true_return": float(np.mean([r["true_return"] for r in rows])),
    }
    if behaviour == "backflip":
        flips = np.array([r["backflips"] for r in rows])
        rolled = np.array([r["backflips_rolled_through"] for r in rows])
        result |= {
            "mean_backflips": float(flips.mean()),
            "episodes_with_a_backflip": float((flips >= 1).mean()),
            "mean_backflips_rolled_through": float(rolled.mean()),
        }
    else:
        result |= {
            "mean_forward_speed": float(np.mean([r["forward_speed"] for r in rows])),
            "mean_one_leg_fraction": float(np.mean([r["one_leg_fraction"] for r in rows])),
        }
    out.json.write_text(json.dumps(result, indent=2))

    qpos, qvel = first
    render_video(env_id, [(qpos, qvel)], out.video, MP4)
    stop = round(gif_seconds / dt)
    render_video(env_id, [(qpos[:stop], qvel[:stop])], out.gif, GIF)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--behaviour", choices=sorted(BEHAVIOURS), default="backflip")
    parser.add_argument("--labels", type=int, help=f"comparisons to ask for, at most {MAX_LABELS} (paper: 900 / 800)")
    parser.add_argument("--steps", type=int, help="agent timesteps (default: 2M)")
    parser.add_argument(
        "--paper-settings",
        action="store_true",
        help="the paper's label schedule (25%% up front, then decaying) instead of this script's RECIPE",
    )
    parser.add_argument(
        "--exploration-bonus",
        type=float,
        default=0.0,
        help="add this times the reward ensemble's disagreement to r_hat (RUNE; prefrl train --exploration-bonus)",
    )
    parser.add_argument(
        "--pretrain-steps",
        type=int,
        default=0,
        help="timesteps of state-entropy RL before the first labels (PEBBLE; prefrl train --pretrain-steps)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="run directory to create (default: runs/<Task>__...)")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument("--evaluate", type=Path, metavar="RUN_DIR", help="only evaluate this finished run")
    parser.add_argument(
        "--timestep", type=int, help="with --evaluate: the kept checkpoint to evaluate (see --keep-checkpoints)"
    )
    parser.add_argument(
        "--each-checkpoint",
        action="store_true",
        help="with --evaluate: measure every kept checkpoint (no video) into RUN_DIR/checkpoint_evaluation.csv",
    )
    args = parser.parse_args()

    _, default_labels, default_steps = BEHAVIOURS[args.behaviour]
    labels = default_labels if args.labels is None else args.labels
    if not 1 <= labels <= MAX_LABELS:
        parser.error(f"--labels must be between 1 and {MAX_LABELS}, got {labels}")
    if args.episodes < 1:
        parser.error(f"--episodes must be positive, got {args.episodes}")
    if (args.timestep is not None or args.each_checkpoint) and args.evaluate is None:
        parser.error("--timestep and --each-checkpoint need --evaluate RUN_DIR")
    if args.each_checkpoint:
        print(f"wrote {evaluate_checkpoints(args.behaviour, args.evaluate, args.episodes)}")
        return
    run_dir = args.evaluate or train(
        args.behaviour,
        labels,
        args.steps or default_steps,
        args.seed,
        args.out,
        args.paper_settings,
        args.exploration_bonus,
        args.pretrain_steps,
    )
    result = evaluate(args.behaviour, run_dir, args.episodes, timestep=args.timestep)
    print(json.dumps(result, indent=2))
    print(f"wrote {output_dir(run_dir, args.timestep)}/evaluation.csv, evaluation.json, behaviour.mp4, behaviour.gif")


if __name__ == "__main__":
    main()
