"""CLI conventions a newcomer expects: --version, python -m prefrl, a quiet broken pipe, help texts that read as
sentences, and prefrl doctor."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from tyro import _docstrings

import prefrl
import prefrl.cli  # reflows the help texts
from prefrl import config


def run(*args, **kwargs):
    return subprocess.run(
        args, capture_output=True, text=True, timeout=120, env={**os.environ, "MUJOCO_GL": "egl"}, **kwargs
    )


@pytest.mark.parametrize("command", [[sys.executable, "-m", "prefrl"], [sys.executable, "-m", "prefrl.cli"]])
def test_version_and_python_dash_m(command):
    result = run(*command, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"prefrl {prefrl.__version__}"


def test_help_into_a_closed_pipe_exits_quietly():
    shell = f"{sys.executable} -m prefrl train --help | head -1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120)
    assert result.stdout.startswith("usage: prefrl train")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.returncode == 0


COMMANDS = [getattr(config, name) for name in dir(config) if name.endswith("Config") and name[0].isupper()]


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.__name__)
def test_every_help_text_is_one_paragraph(cls):
    """Field docstrings are wrapped at 120 columns in the source; --help must not break lines there."""
    for field in dataclasses.fields(cls):
        text = _docstrings.get_field_docstring(cls, field.name, ())
        assert text, f"{cls.__name__}.{field.name} has no help text"
        assert "\n" not in text, f"{cls.__name__}.{field.name}: {text!r}"


def test_doctor_checks_rendering_and_says_ready():
    result = run(sys.executable, "-m", "prefrl", "doctor")
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok    rendering (MUJOCO_GL=egl): one 160x160 frame") for line in lines), result.stdout
    assert any(line.startswith("ok    torch: torch ") for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert (result.returncode == 0) == (not failed) and (lines[-1] == "ready to train") == (not failed)


def test_doctor_says_what_to_do_without_opengl():
    broken = subprocess.run(
        [sys.executable, "-m", "prefrl", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MUJOCO_GL": "no-such-backend"},
    )
    assert broken.returncode == 1
    assert "FAIL  rendering (MUJOCO_GL=no-such-backend)" in broken.stdout
    assert "-> set MUJOCO_GL to egl, osmesa or glfw" in broken.stdout


def test_bench_measures_three_speeds_side_by_side(tmp_path):
    out = tmp_path / "bench.json"
    result = run(sys.executable, "-m", "prefrl", "bench", "--env", "prefrl/Reacher-v0", "--steps", "2048", "--out", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("prefrl/Reacher-v0, 2048 steps per run, 10 labels, ")
    assert [line.split()[0] for line in lines[1:]] == ["raw", "PPO", "preference"]
    numbers = json.loads(out.read_text())
    assert numbers["preference_over_true"] == pytest.approx(
        numbers["preference_steps_per_second"] / numbers["true_reward_steps_per_second"]
    )
    assert 0 < numbers["true_over_raw"] < 1  # learning costs more than stepping
    again = run(sys.executable, "-m", "prefrl", "bench", "--steps", "2048", "--out", out)
    assert again.returncode == 2 and "already exists" in again.stderr
