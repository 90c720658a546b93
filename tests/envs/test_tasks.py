import subprocess
import sys

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
    """The paper's eight MuJoCo tasks, their v1 where a fallen body can win v0, and its novel behaviours."""
    paper = {f"prefrl/{task}-v0" for task in PAPER_TASKS}
    assert paper <= set(ENV_IDS)
    v1 = {"prefrl/Hopper-v1", "prefrl/Walker2d-v1", "prefrl/Ant-v1", "prefrl/HalfCheetah-v1", "prefrl/Ant-v2"}
    v1 |= {"prefrl/Hopper-v2", "prefrl/Walker2d-v2"}  # and their variants
    v1 |= {"prefrl/InvertedPendulum-v1", "prefrl/InvertedDoublePendulum-v1"}  # started afresh after a fall
    assert set(ENV_IDS) - paper == set(prefrl.envs.NOVEL_BEHAVIOURS) | v1
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


def step_from(env, qpos, qvel):
    """The reward and info of one zero-action step from the state ``qpos``, ``qvel``."""
    env.reset(seed=0)
    env.unwrapped.set_state(np.asarray(qpos, float), np.asarray(qvel, float))
    _, reward, terminated, _, info = env.step(np.zeros(env.action_space.shape))
    assert not terminated
    return reward, info


# Lying on its back (torso at 0.3 m, pitched 90 degrees) and sliding right at 3 m/s; standing still; moving upright.
LYING_FAST = {
    "hopper": ([0, 0.3, 1.57, 0, 0, 0], [3, 0, 0, 0, 0, 0]),
    "walker2d": ([0, 0.3, 1.57] + [0] * 6, [3] + [0] * 8),
}
STANDING = {"hopper": ([0, 1.25, 0, 0, 0, 0], [0] * 6), "walker2d": ([0, 1.25] + [0] * 7, [0] * 9)}
MOVING = {"hopper": ([0, 1.25, 0, 0, 0, 0], [1.5, 0, 0, 0, 0, 0]), "walker2d": ([0, 1.25] + [0] * 7, [1.5] + [0] * 8)}


@pytest.mark.parametrize("body", ["hopper", "walker2d"])
def test_v1_a_fallen_body_earns_less_than_one_standing_still_whatever_its_speed(body):
    name = {"hopper": "Hopper", "walker2d": "Walker2d"}[body]
    v0, v1 = gym.make(f"prefrl/{name}-v0"), gym.make(f"prefrl/{name}-v1")
    lying_v0, _ = step_from(v0, *LYING_FAST[body])
    lying_v1, info = step_from(v1, *LYING_FAST[body])
    still_v1, _ = step_from(v1, *STANDING[body])
    moving_v1, _ = step_from(v1, *MOVING[body])
    assert info["fallen"] and info["model_reward"] == pytest.approx(lying_v0)
    assert lying_v0 > 2.0 > still_v1  # the v0 loophole: sliding on its back pays more than standing
    assert lying_v1 < 0 < still_v1 < moving_v1
    qpos, qvel = LYING_FAST[body]
    sitting = [qpos[0], 0.6, 0.5, *qpos[3:]]  # nearer to the healthy range: higher, less pitched
    sitting_v1, info = step_from(v1, sitting, qvel)
    assert info["fallen"] and lying_v1 < sitting_v1 < 0  # getting up is progress, even while fallen
    v0.close()
    v1.close()


@pytest.mark.parametrize("body", ["hopper", "walker2d"])
def test_v2_fades_the_fall_penalty_in_over_the_soft_edge(body):
    """v2 pays v1's penalty to a body lying on the floor, and blends linearly from the healthy reward to it over
    the first 0.1 outside the range: no cliff at the edge."""
    name = {"hopper": "Hopper", "walker2d": "Walker2d"}[body]
    v1, v2 = gym.make(f"prefrl/{name}-v1"), gym.make(f"prefrl/{name}-v2")
    assert step_from(v2, *LYING_FAST[body])[0] == step_from(v1, *LYING_FAST[body])[0] < 0
    still = step_from(v2, *STANDING[body])[0]
    assert still == step_from(v1, *STANDING[body])[0] > 0
    qpos, qvel = MOVING[body]
    edge = {"hopper": 0.2, "walker2d": 1.0}[body]  # the healthy pitch's upper end
    rewards = []
    for beyond in (0.0, 0.02, 0.05, 0.08, 0.1, 0.2):
        leaning = [qpos[0], qpos[1], edge + beyond, *qpos[3:]]
        reward, info = step_from(v2, leaning, qvel)
        distance = prefrl.envs.tasks.HEALTHY_RANGES[body].distance_of(info["qpos"])
        rewards.append(reward)
        if distance < 0.1:  # in the soft edge: between the v1 penalty and the healthy reward of that step
            assert info["fallen"] and step_from(v1, leaning, qvel)[0] == -distance < reward <= info["model_reward"] + 1
    assert all(a > b for a, b in zip(rewards, rewards[1:]))  # leaning further pays less, step by step
    assert rewards[0] > still  # moving right on the edge still beats standing still
    v1.close()
    v2.close()


def test_v1_ant_pays_nothing_upside_down():
    env = gym.make("prefrl/Ant-v1")
    flipped = np.zeros(15)
    flipped[2], flipped[3], flipped[4] = 0.4, 0.0, 1.0  # torso at 0.4 m, turned over (quaternion w=0, x=1)
    qvel = np.zeros(14)
    qvel[0] = 3.0
    reward, info = step_from(env, flipped, qvel)
    assert info["fallen"] and reward < 0 < info["model_reward"]
    upright, info = step_from(env, env.unwrapped.init_qpos, np.zeros(14))
    assert not info["fallen"] and upright > 0.5
    env.close()


def step_still(env, steps):
    """``steps`` steps with the actuators off: the rewards, whether each step stood the body up, the last info."""
    rewards, stood = [], []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
        assert not terminated and not truncated
        rewards.append(reward)
        stood.append(info.get("stood_up", False))
    return rewards, stood, info


def test_ant_v2_stands_a_fallen_ant_up_where_it_lies():
    env = gym.make("prefrl/Ant-v2")
    env.reset(seed=0)
    flipped = np.zeros(15)
    flipped[:5] = 3.0, -1.0, 0.4, 0.0, 1.0  # at x=3, y=-1, on its back
    env.unwrapped.set_state(flipped, np.zeros(14))
    rewards, stood, info = step_still(env, 20)
    assert stood == [False] * 19 + [True]
    assert max(rewards) < 0  # every fallen step was charged, the last one too
    assert info["qpos"][:3] == pytest.approx([3.0, -1.0, 0.75], abs=0.1)  # where it lay, standing
    _, reward, _, _, info = env.step(np.zeros(8))
    assert not info["fallen"] and reward > 0.5
    env.close()
    v1 = gym.make("prefrl/Ant-v1")  # unchanged: it never stands up
    v1.reset(seed=0)
    v1.unwrapped.set_state(flipped, np.zeros(14))
    assert not any(v1.step(np.zeros(8))[4].get("stood_up", False) for _ in range(40))
    v1.close()


def test_v1_half_cheetah_pays_less_on_its_back_than_standing_still():
    v0, v1 = gym.make("prefrl/HalfCheetah-v0"), gym.make("prefrl/HalfCheetah-v1")
    on_its_back, fast = np.zeros(9), np.zeros(9)
    on_its_back[1], on_its_back[2], fast[0] = 0.3, np.pi, 4.0  # turned over, running right at 4 m/s
    back_v0, _ = step_from(v0, on_its_back, fast)
    back_v1, info = step_from(v1, on_its_back, fast)
    assert info["fallen"] and back_v1 < 0 < back_v0 and info["model_reward"] == pytest.approx(back_v0)
    still, info = step_from(v1, np.zeros(9), np.zeros(9))
    assert not info["fallen"] and abs(still) < 0.1
    running, _ = step_from(v1, np.zeros(9), fast)
    assert running > 1.0
    once_round = np.zeros(9)
    once_round[2] = 2 * np.pi + 0.1  # a full turn and back on its feet: upright again
    _, info = step_from(v1, once_round, np.zeros(9))
    assert not info["fallen"]
    measures = prefrl.envs.gait_measures("prefrl/HalfCheetah-v1", np.array([on_its_back, once_round]), np.zeros((2, 9)))
    assert measures["healthy_fraction"] == 0.5
    v0.close()
    v1.close()


def test_gait_measures_of_an_episode():
    env = gym.make("prefrl/Hopper-v1")
    _, info = env.reset(seed=0)
    qpos, qvel = [info["qpos"]], [info["qvel"]]
    for _ in range(200):
        _, _, _, _, info = env.step(np.zeros(3))
        qpos.append(info["qpos"])
        qvel.append(info["qvel"])
    env.close()
    measures = prefrl.envs.gait_measures("prefrl/Hopper-v1", np.array(qpos), np.array(qvel))
    assert set(measures) == {"healthy_fraction", "forward_speed", "hops", "hops_per_second"}
    assert 0 < measures["healthy_fraction"] <= 1 and measures["hops"] == 0  # a passive Hopper neither hops nor runs
    assert prefrl.envs.gait_measures("prefrl/HalfCheetah-v0", np.zeros((3, 9)), np.zeros((3, 9))) == {
        "forward_speed": 0.0
    }
    assert prefrl.envs.gait_measures("prefrl/Reacher-v0", np.zeros((3, 4)), np.zeros((3, 4))) == {}


@pytest.mark.parametrize("env_id", ["prefrl/Hopper-v1", "prefrl/Walker2d-v1", "prefrl/Ant-v0", "prefrl/Ant-v1"])
def test_numpy_healthy_range_matches_the_models_own(env_id):
    """``gait.healthy_fraction`` from states says what the model's ``is_healthy`` says, on random states."""
    from prefrl.behaviours.gait import HEALTHY_RANGES

    env = gym.make(env_id)
    env.reset(seed=0)
    sim = env.unwrapped
    rng = np.random.default_rng(0)
    qpos, qvel, expected = [], [], []
    for _ in range(300):
        q = sim.init_qpos + rng.normal(scale=0.6, size=sim.model.nq)
        v = rng.normal(scale=3.0, size=sim.model.nv)
        sim.set_state(q, v)
        qpos.append(q)
        qvel.append(v)
        expected.append(bool(sim.is_healthy))
    env.close()
    got = HEALTHY_RANGES[task_spec(env_id).model].healthy(np.array(qpos), np.array(qvel))
    assert got.tolist() == expected
    assert 0.05 < np.mean(expected) < 0.95  # both kinds of state were tried


@pytest.mark.parametrize("model", ["hopper", "walker2d", "ant"])
def test_v1_steps_as_gymnasiums_own_model_bit_for_bit(model):
    """prefrl's models check health once per step (and the Hopper faster): the same observations, rewards and
    falls as gymnasium's v5 class under the same wrapper, through falls and resets."""
    from gymnasium.envs.mujoco.ant_v5 import AntEnv
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
    from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

    from prefrl.behaviours.gait import HEALTHY_RANGES
    from prefrl.envs.tasks import FixedHorizon, make_task

    v5 = {"hopper": HopperEnv, "walker2d": Walker2dEnv, "ant": AntEnv}[model]
    reference = FixedHorizon(v5(ctrl_cost_weight=0.0, terminate_when_unhealthy=False), HEALTHY_RANGES[model])
    env = make_task(model, fall_penalty=True)
    assert np.array_equal(reference.reset(seed=1)[0], env.reset(seed=1)[0])
    rng = np.random.default_rng(0)
    falls = 0
    for t in range(1500):
        action = rng.uniform(-1, 1, env.action_space.shape)
        want, got = reference.step(action), env.step(action)
        assert np.array_equal(want[0], got[0]) and want[1] == got[1] and want[4]["fallen"] == got[4]["fallen"], t
        falls += got[4]["fallen"]
        if t % 300 == 299:
            reference.reset(seed=t)
            env.reset(seed=t)
    assert 0 < falls < 1500


def test_hopper_health_check_sees_what_v5_sees_nan_included():
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

    from prefrl.envs.tasks import Hopper

    ours, theirs = Hopper(), HopperEnv()
    rng = np.random.default_rng(1)
    for i in range(400):
        qpos = theirs.init_qpos + rng.normal(scale=0.3, size=6)
        qvel = rng.normal(scale=40.0, size=6)  # |v| > 100 now and then
        if i % 7 == 0:
            (qpos if i % 2 else qvel)[rng.integers(2, 6)] = np.nan
        ours.set_state(qpos, qvel)
        theirs.set_state(qpos, qvel)
        assert ours.is_healthy == theirs.is_healthy, i
    ours.close()
    theirs.close()


def test_no_version_is_called_out_of_date():
    """Each prefrl version is a task of its own: making v1 while v2 exists (or v0 while v1 does) warns nothing."""
    script = "import gymnasium, prefrl.envs\nfor v in ('v0', 'v1', 'v2'): gymnasium.make(f'prefrl/Hopper-{v}').close()"
    result = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "out of date" not in result.stderr


def test_inverted_pendulum_v1_sets_a_fallen_pole_upright_on_a_fresh_start():
    env = gym.make("prefrl/InvertedPendulum-v1")
    env.reset(seed=0)
    env.unwrapped.set_state(np.array([0.5, 1.2]), np.zeros(2))  # the cart at 0.5 m, the pole fallen
    rewards, stood, info = step_still(env, 25)
    assert stood == [False] * 24 + [True]
    assert rewards == [0.0] * 25  # every fallen step paid nothing
    assert info["qpos"] == pytest.approx([0.0, 0.0], abs=0.02)  # upright, the cart back in the middle
    assert env.step(np.zeros(1))[1] == 1.0
    env.close()
    v0 = gym.make("prefrl/InvertedPendulum-v0")  # unchanged: the pole stays down
    v0.reset(seed=0)
    v0.unwrapped.set_state(np.array([0.5, 1.2]), np.zeros(2))
    assert not any(v0.step(np.zeros(1))[4].get("stood_up", False) for _ in range(40))
    v0.close()
