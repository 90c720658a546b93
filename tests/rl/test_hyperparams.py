"""PPO settings per task, as data (prefrl/rl/ppo.toml), with overrides for a run."""

import json
import subprocess
import sys

import pytest

from prefrl.rl.hyperparams import SETTINGS_FILE, default_hyperparams, ppo_hyperparams


def test_the_file_gives_every_task_the_papers_settings():
    assert SETTINGS_FILE.name == "ppo.toml" and SETTINGS_FILE.is_file()
    hopper, swimmer = ppo_hyperparams("prefrl/Hopper-v1"), ppo_hyperparams("prefrl/Swimmer-v0")
    assert (hopper.gamma, hopper.gae_lambda, hopper.ent_coef) == (0.995, 0.97, 0.01)
    assert swimmer.ent_coef == 0.001 and swimmer.replace({"ent_coef": 0.01}) == ppo_hyperparams("prefrl/Hopper-v0")
    assert hopper.net_arch == (64, 64) and hopper.rollout_steps == 2048
    assert ppo_hyperparams("prefrl/Hopper-v2") == hopper  # the variant's table copies Hopper-v1's: kept in step


def test_overrides_and_their_errors():
    assert ppo_hyperparams("prefrl/Hopper-v1", {"batch_size": 256}).batch_size == 256
    assert default_hyperparams(n_envs=2).n_envs == 2
    with pytest.raises(ValueError, match="unknown PPO setting minibatch"):
        ppo_hyperparams("prefrl/Hopper-v1", {"minibatch": 256})
    with pytest.raises(ValueError, match="exceeds the rollout"):
        ppo_hyperparams("prefrl/Hopper-v1", {"batch_size": 4096})
    with pytest.raises(ValueError, match="gamma must be in"):
        ppo_hyperparams("prefrl/Hopper-v1", {"gamma": 1.5})
    assert ppo_hyperparams("prefrl/Hopper-v1").target_kl is None  # off unless a task or a run sets it
    assert ppo_hyperparams("prefrl/InvertedDoublePendulum-v1").target_kl == 0.03  # docs/BENCHMARKS.md, section 50
    with pytest.raises(ValueError, match="target_kl must be positive"):
        ppo_hyperparams("prefrl/Hopper-v1", {"target_kl": 0.0})


def test_cli_override_is_used_and_recorded(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--true-reward", "--steps", "1"]
    options = ["--ppo.batch-size", "128", "--ppo.n-epochs", "3", "--ppo.target-kl", "0.02", "--out", str(out)]
    options += ["--no-video", "--no-progress"]
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    changes = {"batch_size": 128, "n_epochs": 3, "target_kl": 0.02}
    assert {k: config["ppo"][k] for k in changes} == changes
    assert config["ppo_settings"] == ppo_hyperparams("prefrl/Reacher-v0", changes).to_dict()
    from stable_baselines3 import PPO

    agent = PPO.load(out / "checkpoint" / "policy.zip", device="cpu")
    assert agent.batch_size == 128 and agent.n_epochs == 3 and agent.target_kl == 0.02
    bad = subprocess.run([*command, "--ppo.gamma", "2", "--out", str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "prefrl: error: PPO setting gamma must be in (0, 1], got 2.0"
    assert not (tmp_path / "bad").exists()
