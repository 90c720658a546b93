"""Teach the Hopper a backflip, or the Half-Cheetah to run on one leg, from scripted preferences; then measure it.

Christiano et al. (2017), section 3.2: behaviours no reward function describes, learned from 900 (backflip) and
800 (one leg) comparisons. A scripted teacher (``prefrl.behaviour_teachers``) stands in for the person.

    python scripts/backflip.py --behaviour backflip --labels 900 --steps 5000000 --out runs/backflip
    python scripts/backflip.py --behaviour one-leg --labels 800 --steps 2000000 --out runs/one_leg
    python scripts/backflip.py --behaviour backflip --evaluate runs/backflip   # measure a finished run again

After training (``prefrl.experiment.run``) it runs ``--episodes`` deterministic episodes of the final policy and
writes into the run directory:

* ``evaluation.csv``: one row per episode (backflip: completed flips; one leg: forward speed in m/s, fraction of
  the time on one leg and which leg is up; both: the task's true return);
* ``evaluation.json``: the means, the labels and timesteps used and the training wall time;
* ``behaviour.mp4``: the first evaluation episode; ``behaviour.gif``: its first seconds, small, for the README.

The metrics come from the simulator's states (``prefrl.behaviour_metrics``, ``prefrl.rl.ground_contact``), not
from the teacher.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

import prefrl.envs
from prefrl.behaviour_metrics import count_backflips, forward_speed, one_leg_time
from prefrl.cheetah_kinematics import PARTS
from prefrl.config import TrainConfig
from prefrl.experiment import load_policy, rollout, run
from prefrl.rl.ground_contact import GroundContacts
from prefrl.rl.render import ClipRenderer, frame_stride, write_video

MAX_LABELS = 900  # the paper's backflip budget
BEHAVIOURS = {  # name (also the teacher's): env id, default labels (paper), default timesteps
    "backflip": ("prefrl/HopperBackflip-v0", 900, 5_000_000),
    "one-leg": ("prefrl/HalfCheetahOneLeg-v0", 800, 2_000_000),
}


def train(behaviour: str, labels: int, steps: int, seed: int, out: Path | None) -> Path:
    """One preference run taught by the behaviour's scripted teacher; returns its run directory."""
    env_id = BEHAVIOURS[behaviour][0]
    config = TrainConfig(env=env_id, teacher=behaviour, labels=labels, steps=steps, seed=seed, out=out, video=False)
    return run(config)


def evaluate(behaviour: str, run_dir: Path, episodes: int, gif_seconds: float = 6.0) -> dict:
    """Measure the run's final policy over ``episodes`` episodes; write the CSV, JSON, mp4 and GIF."""
    env_id = BEHAVIOURS[behaviour][0]
    dt = prefrl.envs.task_spec(env_id).dt
    agent, venv = load_policy(run_dir, env_id)
    contacts = GroundContacts(env_id, PARTS) if behaviour == "one-leg" else None
    rows, first = [], None
    for episode in range(episodes):
        seed = 10_000 + episode  # never a training seed
        qpos, qvel, true_return = rollout(env_id, agent, venv, seed)
        row: dict = {"episode": episode, "seed": seed, "true_return": true_return}
        if contacts is None:
            row["backflips"] = count_backflips(qpos, dt)
        else:
            fraction, leg = one_leg_time(contacts(qpos), dt)
            row |= {"forward_speed": forward_speed(qpos, dt), "one_leg_fraction": fraction, "raised_leg": leg}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if first is None:
            first = (qpos, qvel)
    venv.close()

    with open(run_dir / "evaluation.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary_file = run_dir / "summary.json"
    trained = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    result = {
        "behaviour": behaviour,
        "env": env_id,
        "episodes": episodes,
        "labels": trained.get("labels"),
        "timesteps": trained.get("timesteps"),
        "train_seconds": trained.get("train_seconds"),
        "mean_true_return": float(np.mean([r["true_return"] for r in rows])),
    }
    if contacts is None:
        flips = np.array([r["backflips"] for r in rows])
        result |= {"mean_backflips": float(flips.mean()), "episodes_with_a_backflip": float((flips >= 1).mean())}
    else:
        result |= {
            "mean_forward_speed": float(np.mean([r["forward_speed"] for r in rows])),
            "mean_one_leg_fraction": float(np.mean([r["one_leg_fraction"] for r in rows])),
        }
    (run_dir / "evaluation.json").write_text(json.dumps(result, indent=2))

    assert first is not None
    qpos, qvel = first
    with ClipRenderer(env_id) as renderer:  # 320x240
        every = frame_stride(renderer.fps, 50)
        write_video(renderer.render(qpos[::every], qvel[::every]), run_dir / "behaviour.mp4", renderer.fps / every)
    with ClipRenderer(env_id, width=240, height=180) as renderer:
        every = frame_stride(renderer.fps, 20)  # ~20 fps keeps the GIF small
        stop = round(gif_seconds / dt)
        frames = renderer.render(qpos[:stop:every], qvel[:stop:every])
        write_video(frames, run_dir / "behaviour.gif", renderer.fps / every)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--behaviour", choices=sorted(BEHAVIOURS), default="backflip")
    parser.add_argument("--labels", type=int, help=f"comparisons to ask for, at most {MAX_LABELS} (paper: 900 / 800)")
    parser.add_argument("--steps", type=int, help="agent timesteps (default: 5M backflip, 2M one-leg)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="run directory to create (default: runs/<Task>__...)")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument("--evaluate", type=Path, metavar="RUN_DIR", help="only evaluate this finished run")
    args = parser.parse_args()

    _, default_labels, default_steps = BEHAVIOURS[args.behaviour]
    labels = default_labels if args.labels is None else args.labels
    if not 1 <= labels <= MAX_LABELS:
        parser.error(f"--labels must be between 1 and {MAX_LABELS}, got {labels}")
    if args.episodes < 1:
        parser.error(f"--episodes must be positive, got {args.episodes}")
    run_dir = args.evaluate or train(args.behaviour, labels, args.steps or default_steps, args.seed, args.out)
    result = evaluate(args.behaviour, run_dir, args.episodes)
    print(json.dumps(result, indent=2))
    print(f"wrote {run_dir}/evaluation.csv, evaluation.json, behaviour.mp4, behaviour.gif")


if __name__ == "__main__":
    main()
