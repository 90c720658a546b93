"""Can the ``prefrl/HopperBackflip-v0`` body do a backflip at all? A check that needs no learning.

The cross-entropy method searches open-loop action sequences (one action per step, from the task's start state)
for one whose states the objective backflip counter (``prefrl.behaviours.metrics``) counts as a completed flip.
The objective it climbs: backward turns made with no part of the body touching the floor (MuJoCo's contacts),
plus a bonus for a counted flip whose upside-down moment was in the air. If it finds one, the body is strong
enough and any failure to learn a flip lies with the learning; if it finds none, the body may need changing
(``envs/behaviours.py``), or the search more time. Run it after changing the body. (Capping the turns at one
and adding a bonus for standing at the end, tried once, found a worse optimum: one turn, no landing.)

    python scripts/can_it_flip.py --out flip.gif      # ~2 minutes on one core

Measured (docs/BENCHMARKS.md): the best sequences turned about 1.4 times in the air but did not land, so the v5 body
is strong enough to turn a full backflip off the floor; an open-loop sequence that also lands was not found.

Prints the search's progress and the best sequence's flips, and writes it as a GIF (or mp4).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

import prefrl.envs  # noqa: F401  (registers the tasks)
from prefrl.behaviours.metrics import TURN, count_backflips
from prefrl.teachers.registry import SCRIPTED_TASKS

ENV_ID = SCRIPTED_TASKS["backflip"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="length of the action sequence (env steps)")
    parser.add_argument("--iterations", type=int, default=30, help="CEM iterations")
    parser.add_argument("--population", type=int, default=200, help="sequences tried per iteration")
    parser.add_argument("--elites", type=int, default=20, help="best sequences the next iteration is fitted to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the best sequence as a .gif or .mp4")
    args = parser.parse_args()

    env = gym.make(ENV_ID)
    env.reset(seed=args.seed)
    sim: Any = env.unwrapped  # the MuJoCo env: model, data, dt, frame_skip
    model, data = sim.model, sim.data
    start_qpos, start_qvel = data.qpos.copy(), data.qvel.copy()

    def states(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``qpos [T+1, 6]`` after playing ``actions [T, 3]`` from the start state, and where it touched the floor."""
        data.qpos[:], data.qvel[:] = start_qpos, start_qvel
        mujoco.mj_forward(model, data)
        qpos, touching = [data.qpos.copy()], [data.ncon > 0]
        for action in actions:
            data.ctrl[:] = action
            mujoco.mj_step(model, data, nstep=sim.frame_skip)
            qpos.append(data.qpos.copy())
            touching.append(data.ncon > 0)  # the floor is the only thing a Hopper part can touch
        return np.array(qpos), np.array(touching)

    def aerial_flips(qpos: np.ndarray, touching: np.ndarray) -> int:
        """Counted flips, only if the body was off the floor whenever it was upside down."""
        upside_down = np.cos(qpos[:, 2]) < -math.cos(math.pi / 4)
        return 0 if np.any(upside_down & touching) else count_backflips(qpos, sim.dt)

    def objective(qpos: np.ndarray, touching: np.ndarray) -> float:
        in_air = ~(touching[:-1] | touching[1:])
        turns_in_air = float(np.sum(-np.diff(qpos[:, 2]) * in_air)) / TURN
        return turns_in_air + 10.0 * aerial_flips(qpos, touching)

    rng = np.random.default_rng(args.seed)
    mean, std = np.zeros((args.steps, 3)), np.full((args.steps, 3), 0.8)
    best_score, (best_qpos, best_touching) = -math.inf, states(mean)
    started = time.perf_counter()
    for iteration in range(args.iterations):
        population = np.clip(mean + std * rng.standard_normal((args.population, args.steps, 3)), -1.0, 1.0)
        scores = np.empty(args.population)
        for i, actions in enumerate(population):
            qpos, touching = states(actions)
            scores[i] = objective(qpos, touching)
            if scores[i] > best_score:
                best_score, best_qpos, best_touching = scores[i], qpos, touching
        elites = population[np.argsort(scores)[-args.elites :]]
        mean, std = elites.mean(axis=0), elites.std(axis=0) + 0.05
        flips = aerial_flips(best_qpos, best_touching)
        print(
            f"iteration {iteration + 1:3d}: best {scores.max():6.2f}, median {np.median(scores):6.2f}, "
            f"best so far has {flips} aerial flip(s)  [{time.perf_counter() - started:.0f} s]",
            flush=True,
        )
    env.close()

    upside_down = np.cos(best_qpos[:, 2]) < -math.cos(math.pi / 4)
    print(
        f"best sequence: {count_backflips(best_qpos, sim.dt)} backflip(s) by the counter, "
        f"{aerial_flips(best_qpos, best_touching)} with the body off the floor whenever upside down; "
        f"{upside_down.sum()} steps upside down, {(upside_down & best_touching).sum()} of them touching the floor; "
        f"off the floor {100 * (~best_touching).mean():.0f}% of the time"
    )
    if args.out:
        from prefrl.rl.render import GIF, MP4, render_video

        settings = GIF if Path(args.out).suffix == ".gif" else MP4
        render_video(ENV_ID, [(best_qpos, np.zeros((len(best_qpos), model.nv)))], Path(args.out), settings)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
