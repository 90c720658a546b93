import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import prefrl.envs
from prefrl.envs import TASKS, task_spec

ENV_IDS = sorted(TASKS)


PAPER_TASKS = [
    "Hopper",
    "Walker2d",
    "Swimmer",
    "HalfCheetah",
    "Ant",
    "Reacher",
    "InvertedPendulum",
    "InvertedDoublePendulum",
]


def test_all_eight_paper_tasks_are_registered():
    """The paper's eight MuJoCo tasks, and besides them only its novel behaviours (tests/test_behaviours.py)."""
    paper = {f"prefrl/{task}-v0" for task in PAPER_TASKS}
    assert paper <= set(ENV_IDS)
    assert set(ENV_IDS) - paper == set(prefrl.envs.NOVEL_BEHAVIOURS)
    assert all(env_id in gym.registry for env_id in ENV_IDS)


@pytest.mark.filterwarnings("ignore:.*is different from the unwrapped version")  # we check both on purpose
@pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is")  # MuJoCo obs are unbounded
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fixed_horizon_and_simulator_state(env_id):
    """Every episode lasts the horizon, even with actions that make the body fall; info holds the state."""
    spec = task_spec(env_id)
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    assert info["qpos"].shape == (env.unwrapped.model.nq,)
    high = env.action_space.high
    for t in range(spec.horizon):
        obs, reward, terminated, truncated, info = env.step(high if t % 20 < 10 else -high)
        assert not terminated
        np.testing.assert_array_equal(info["qpos"], env.unwrapped.data.qpos)
        if truncated:
            break
    assert t + 1 == spec.horizon and truncated
    env.close()


@pytest.mark.parametrize(
    "env_id,falls", [("prefrl/Hopper-v0", True), ("prefrl/Walker2d-v0", True), ("prefrl/Ant-v0", False)]
)  # full torque doesn't topple the Ant
def test_falling_loses_the_healthy_bonus_and_control_costs_nothing(env_id, falls):
    env = gym.make(env_id)
    env.reset(seed=0)
    fallen_rewards = []
    for _ in range(300):
        _, reward, _, _, info = env.step(env.action_space.high)
        assert info["reward_ctrl"] == 0.0
        expected = info["reward_forward"] + info["reward_survive"] + info.get("reward_contact", 0.0)
        assert reward == pytest.approx(expected)
        if info["fallen"]:
            fallen_rewards.append(info["reward_survive"])
    assert all(r == 0.0 for r in fallen_rewards)  # never paid to lie there
    assert bool(fallen_rewards) == falls
    env.close()


def test_reacher_and_swimmer_rewards_have_no_control_term():
    for env_id, key in [
        ("prefrl/Reacher-v0", "reward_dist"),
        ("prefrl/Swimmer-v0", "reward_forward"),
        ("prefrl/HalfCheetah-v0", "reward_forward"),
    ]:
        env = gym.make(env_id)
        env.reset(seed=0)
        _, reward, _, _, info = env.step(env.action_space.high)
        assert reward == pytest.approx(info[key])
        env.close()


def test_pendulum_pays_nothing_once_fallen():
    env = gym.make("prefrl/InvertedPendulum-v0")
    env.reset(seed=0)
    rewards = [env.step(env.action_space.high)[1] for _ in range(200)]
    assert rewards[0] == 1.0 and rewards[-1] == 0.0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_clip_lengths_follow_the_paper(env_id):
    spec = task_spec(env_id)
    if env_id == "prefrl/HopperBackflip-v0":  # past the 60-step cap on purpose, within the paper's 1-2 s
        assert spec.clip_steps == 90 and 1.0 <= spec.clip_steps * spec.dt <= 2.0
    else:
        assert 15 <= spec.clip_steps <= 60
    assert spec.clip_steps <= spec.horizon
    if spec.clip_steps_override is None and 15 < spec.clip_steps < 60:
        assert spec.clip_steps * spec.dt == pytest.approx(1.5, abs=spec.dt)
    env = gym.make(env_id)
    assert env.unwrapped.dt == pytest.approx(spec.dt)
    env.close()


def test_unknown_task():
    with pytest.raises(ValueError, match="unknown env id 'prefrl/Nope-v0'.*Hopper"):
        prefrl.envs.task_spec("prefrl/Nope-v0")
