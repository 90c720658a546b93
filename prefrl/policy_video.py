"""``prefrl video``: render a run's policy again, from its last checkpoint.

    prefrl video runs/Hopper__pref700__0__20261129-120000                     # writes RUN_DIR/policy.mp4
    prefrl video runs/Hopper__pref700__0__20261129-120000 --episodes 3 --out hopper.gif

For runs trained with ``--no-video`` (``prefrl sweep`` trains that way), for a run still training or interrupted
(the policy of its last checkpoint), and for anyone who wants to look at a policy again. The episodes are
deterministic (the policy's mean action) and start from seeded states, so the same command gives the same video.
"""

from __future__ import annotations

import json
from pathlib import Path

from prefrl.config import CHECKPOINT_DIR, CONFIG_FILE, VideoConfig

CHECKPOINT_FILES = ("policy.zip", "vecnormalize.npz")  # what prefrl.experiment.load_policy reads
MP4_SIZE, GIF_SIZE = (320, 240), (240, 180)  # width, height (the GIF small, as for a README)
MP4_MAX_FPS, GIF_MAX_FPS = 50.0, 20.0


def run_env_id(run_dir: Path) -> str:
    """The env id of the run in ``run_dir``; ``ValueError`` unless it is a run directory with a checkpoint."""
    if not run_dir.exists():
        raise ValueError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a directory; pass a run directory")
    config_file = run_dir / CONFIG_FILE
    if not config_file.is_file():
        raise ValueError(f"{run_dir} is not a prefrl run directory (no {CONFIG_FILE})")
    try:
        env_id = json.loads(config_file.read_text()).get("env")
    except (ValueError, AttributeError):  # not JSON, or not a JSON object
        env_id = None
    if not isinstance(env_id, str):
        raise ValueError(f"{config_file} names no env; it is not a prefrl run's config")
    missing = [name for name in CHECKPOINT_FILES if not (run_dir / CHECKPOINT_DIR / name).is_file()]
    if missing:
        raise ValueError(
            f"{run_dir} has no checkpoint yet (no {CHECKPOINT_DIR}/{missing[0]}); a run saves one every "
            "--checkpoint-every timesteps and when it ends"
        )
    return env_id


def main(config: VideoConfig) -> int:
    """``prefrl video``: play the episodes, print their true returns, write the video and print where."""
    config.check()
    env_id = run_env_id(config.run_dir)
    # The heavy modules (torch, stable-baselines3, MuJoCo) only once the arguments are known to be good.
    import prefrl.envs
    from prefrl.experiment import load_policy, rollout
    from prefrl.rl.clip_videos import open_renderer
    from prefrl.rl.render import write_episodes

    prefrl.envs.task_spec(env_id)  # ValueError naming the known ids for a run of a task this prefrl lacks
    agent, venv = load_policy(config.run_dir, env_id)
    episodes = []
    try:
        for i in range(config.episodes):
            seed = config.seed + i
            qpos, qvel, true_return = rollout(env_id, agent, venv, seed)
            episodes.append((qpos, qvel))
            steps = len(qpos) - 1  # qpos starts with the reset state
            print(f"episode {i + 1}/{config.episodes} (seed {seed}): true return {true_return:.2f}, {steps} steps")
    finally:
        venv.close()

    out = config.out_path
    width, height = GIF_SIZE if config.gif else MP4_SIZE
    max_fps = config.max_fps or (GIF_MAX_FPS if config.gif else MP4_MAX_FPS)
    replacing = out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")  # a failed render leaves the old video as it was
    try:
        with open_renderer(env_id, width, height, pretty=False) as renderer:
            frames, fps = write_episodes(renderer, episodes, tmp, max_fps)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"video: {out} ({frames} frames at {fps:.3g} fps{', replaced the old one' if replacing else ''})")
    return 0
