"""``prefrl video``: render a run's policy again, from its last checkpoint.

    prefrl video runs/Hopper__pref700__0__20261129-120000                     # writes RUN_DIR/policy.mp4
    prefrl video runs/Hopper__pref700__0__20261129-120000 --episodes 3 --out hopper.gif

For runs trained with ``--no-video`` (``prefrl sweep`` trains that way), for a run still training or interrupted
(the policy of its last checkpoint), and for anyone who wants to look at a policy again. The episodes are
deterministic (the policy's mean action) and start from seeded states, so the same command gives the same video.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from prefrl.config import VideoConfig
from prefrl.run_dir import RunFiles


def run_env_id(run_dir: Path) -> str:
    """The env id of the run in ``run_dir``; ``ValueError`` unless it is a run directory with a checkpoint."""
    if not run_dir.exists():
        raise ValueError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a directory; pass a run directory")
    files = RunFiles(run_dir)
    config_file = files.config
    if not config_file.is_file():
        raise ValueError(f"{run_dir} is not a prefrl run directory (no {RunFiles.CONFIG})")
    try:
        env_id = json.loads(config_file.read_text()).get("env")
    except (ValueError, AttributeError):  # not JSON, or not a JSON object
        env_id = None
    if not isinstance(env_id, str):
        raise ValueError(f"{config_file} names no env; it is not a prefrl run's config")
    missing = files.checkpoint.missing_policy_files()
    if missing:
        raise ValueError(
            f"{run_dir} has no checkpoint yet (no {missing[0].relative_to(run_dir)}); a run saves one every "
            "--checkpoint-every timesteps and when it ends"
        )
    return env_id


def main(config: VideoConfig) -> int:
    """``prefrl video``: play the episodes, print their true returns, write the video and print where."""
    config.check()
    env_id = run_env_id(config.run_dir)
    # The heavy modules (torch, stable-baselines3, MuJoCo) only once the arguments are known to be good.
    import prefrl.envs
    from prefrl.experiments.checkpoint import load_policy
    from prefrl.rl.agent import rollout
    from prefrl.rl.render import GIF, MP4, render_video

    prefrl.envs.task_spec(env_id)  # ValueError naming the known ids for a run of a task this prefrl lacks
    agent, venv = load_policy(config.run_dir, env_id)
    episodes = []
    try:
        for i in range(config.episodes):
            seed = config.seed + i
            qpos, qvel, true_return = rollout(env_id, agent, venv, seed)
            episodes.append((qpos, qvel))
            steps = len(qpos) - 1  # qpos starts with the reset state
            gait = "".join(
                f", {k.replace('_', ' ')} {v:.3g}" for k, v in prefrl.envs.gait_measures(env_id, qpos, qvel).items()
            )
            print(
                f"episode {i + 1}/{config.episodes} (seed {seed}): true return {true_return:.2f}, {steps} steps{gait}"
            )
    finally:
        venv.close()

    out = config.out_path
    settings = GIF if config.gif else MP4
    if config.max_fps is not None:
        settings = replace(settings, max_fps=config.max_fps)
    replacing = out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")  # a failed render leaves the old video as it was
    try:
        frames, fps = render_video(env_id, episodes, tmp, settings)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"video: {out} ({frames} frames at {fps:.3g} fps{', replaced the old one' if replacing else ''})")
    return 0
