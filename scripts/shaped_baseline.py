"""PPO on a hand-written dense reward close to a scripted teacher's score: can the agent learn the behaviour at all?

A diagnostic for the novel behaviours (``scripts/backflip.py``). If PPO, given the teacher's idea of progress
directly as a reward, learns the behaviour in N steps, a preference run that fails in N steps fails in its
reward model, not in the body or in PPO. The rewards (per step, from the simulator's states):

* ``backflip``: backward turns of the torso made while the whole body is in the air (forward turns in the air
  subtract; ``prefrl.behaviours.hopper_kinematics``), plus 1 per completed backflip (``BackflipCounter``, the task's own
  reward): the per-step counterpart of ``BackflipScore``. ``--torso-high`` counts turns while the torso's
  centre is above 0.5 m instead, forward turns always subtracting (an earlier teacher's rule);
* ``one-leg``: metres moved forward plus 0.1 m/s while the back leg and the body are off the ground, else
  -10 m/s: ``OneLegScore`` judged step by step, for the back leg.

    python scripts/shaped_baseline.py --behaviour backflip --steps 1000000

Prints the behaviour's measure during training (completed flips per episode; forward speed and the fraction on
one leg, as ``scripts/backflip.py`` measures them) and over ``--episodes`` deterministic episodes at the end;
``--video out.mp4`` (or ``.gif``) writes the first of those episodes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import prefrl.envs
from prefrl.behaviours.cheetah_kinematics import PARTS, part_heights
from prefrl.behaviours.hopper_kinematics import lowest_point
from prefrl.behaviours.metrics import TURN, count_backflips, forward_speed, one_leg_time
from prefrl.rl.agent import policy_kwargs, rollout
from prefrl.rl.ground_contact import GroundContacts
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.render import GIF, MP4, render_video
from prefrl.teachers.registry import SCRIPTED_TASKS
from prefrl.teachers.scripted import BackflipScore

ENVS = SCRIPTED_TASKS  # each behaviour's task


class BackflipReward(gym.Wrapper):
    """Backward turns in the air (forward turns subtract) plus one per completed backflip."""

    def __init__(self, env: gym.Env, torso_high: bool = False):
        super().__init__(env)
        self.torso_high = torso_high

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.previous = self.env.unwrapped.data.qpos.copy()
        return obs, info

    def step(self, action):
        obs, flips, terminated, truncated, info = self.env.step(action)
        qpos = self.env.unwrapped.data.qpos.copy()
        backward = (self.previous[2] - qpos[2]) / TURN
        if self.torso_high:
            turned = backward if min(qpos[1], self.previous[1]) > 0.5 else min(backward, 0.0)
        else:
            turned = backward if lowest_point(np.stack([self.previous, qpos])).min() > BackflipScore.clearance else 0.0
        self.previous = qpos
        return obs, turned + flips, terminated, truncated, info


class OneLegReward(gym.Wrapper):
    """Forward metres plus 0.1 m/s with the back leg and body clear of the ground, else -10 m/s."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.x = float(self.env.unwrapped.data.qpos[0])
        return obs, info

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        qpos = self.env.unwrapped.data.qpos
        heights = part_heights(qpos[None])
        dt = self.env.unwrapped.dt
        forward, self.x = qpos[0] - self.x, float(qpos[0])
        raised = heights["back"][0] > 0.05 and heights["body"][0] > 0.05
        return obs, (forward + 0.1 * dt if raised else -10.0 * dt), terminated, truncated, info


def measure(qpos: np.ndarray, dt: float, contacts: GroundContacts | None) -> dict:
    """The backflips of an episode (``contacts`` None), or the cheetah's speed and time on one leg."""
    if contacts is None:
        return {"backflips": count_backflips(qpos, dt)}
    fraction, leg = one_leg_time(contacts(qpos), dt)
    return {"forward_speed": round(forward_speed(qpos, dt), 2), "one_leg_fraction": round(fraction, 2), "leg": leg}


class Progress(BaseCallback):
    """Prints the mean flips per episode of the last 20 training episodes (backflip) every 100k steps."""

    def __init__(self, every: int = 100_000):
        super().__init__()
        self.every, self.next, self.start = every, every, time.time()
        self.flips: list[int] = []

    def _on_step(self) -> bool:
        self.flips += [info["backflips"] for info in self.locals["infos"] if "episode" in info and "backflips" in info]
        if self.num_timesteps >= self.next:
            self.next += self.every
            recent = float(np.mean(self.flips[-20:])) if self.flips else None
            line = {"timesteps": self.num_timesteps, "seconds": round(time.time() - self.start)}
            print(json.dumps(line | {"training_flips_per_episode": recent}), flush=True)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--behaviour", choices=sorted(ENVS), default="backflip")
    parser.add_argument("--steps", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=5, help="deterministic evaluation episodes at the end")
    parser.add_argument("--torso-high", action="store_true", help="backflip: the earlier rule for turns (see above)")
    parser.add_argument("--video", type=Path, help="write the first evaluation episode here (.mp4 or .gif)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    env_id = ENVS[args.behaviour]

    def wrapper(env: gym.Env) -> gym.Env:
        return BackflipReward(env, args.torso_high) if args.behaviour == "backflip" else OneLegReward(env)

    hp = ppo_hyperparams(env_id)
    keywords = ("backflips",) if args.behaviour == "backflip" else ()
    venv = VecNormalize(
        DummyVecEnv([lambda: Monitor(wrapper(gym.make(env_id)), info_keywords=keywords)] * hp.n_envs), gamma=hp.gamma
    )
    agent = PPO(
        "MlpPolicy", venv, n_steps=hp.n_steps, batch_size=hp.batch_size, n_epochs=hp.n_epochs, gamma=hp.gamma,
        gae_lambda=hp.gae_lambda, ent_coef=hp.ent_coef, learning_rate=hp.learning_rate, seed=args.seed,
        policy_kwargs=policy_kwargs(hp),
    )  # fmt: skip
    agent.learn(args.steps, callback=Progress())

    dt = prefrl.envs.task_spec(env_id).dt
    contacts = GroundContacts(env_id, PARTS) if args.behaviour == "one-leg" else None
    for episode in range(args.episodes):
        qpos, qvel, _ = rollout(env_id, agent, venv, seed=10_000 + episode)  # as scripts/backflip.py evaluates
        result = measure(qpos, dt, contacts)
        print(json.dumps({"evaluation_episode": episode} | result), flush=True)
        if episode == 0 and args.video:
            render_video(env_id, [(qpos, qvel)], args.video, GIF if args.video.suffix == ".gif" else MP4)


if __name__ == "__main__":
    main()
