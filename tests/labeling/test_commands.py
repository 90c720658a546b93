"""``prefrl train --teacher human``, ``prefrl label``, ``prefrl export`` and ``prefrl import``, as a user runs them."""

import json
import os
import signal
import sqlite3
import subprocess
import sys

import httpx

from prefrl.cli import main
from prefrl.labeling.queue import RENDER_AHEAD

PREFRL = [sys.executable, "-m", "prefrl.cli"]
ENV = {**os.environ, "MUJOCO_GL": "egl"}


def count(db, table):
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_train_with_a_human_teacher_never_waits_for_one(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            *PREFRL,
            "train",
            "--env",
            "prefrl/Hopper-v0",
            "--teacher",
            "human",
            "--labels",
            "20",
            "--steps",
            "2048",
            "--label-port",
            "0",
            "--no-video",
            "--no-progress",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert "label the clips at http://127.0.0.1:" in result.stdout
    db = out / "preferences.sqlite"
    assert count(db, "answers") == 0  # nobody labeled; training finished anyway
    # The schedule wants all 20 by the end, but the trainer chose only as many as the page would serve next: the 5
    # initial ones, then at most enough to keep RENDER_AHEAD (8) fresh pairs waiting (how many of those depends on
    # how far the renderer got).
    asked = count(db, "queries")
    assert 5 <= asked <= RENDER_AHEAD
    assert json.loads((out / "summary.json").read_text())["timesteps"] >= 2048
    assert f"the run got 0 of its 20 labels; {asked} pairs still wait: prefrl label {out} serves them" in result.stdout


def test_human_teacher_and_true_reward_exclude_each_other(capsys):
    assert main(["train", "--teacher", "human", "--true-reward"]) == 2
    assert "--teacher human" in capsys.readouterr().err


def test_label_serves_a_run_until_interrupted(hopper_run):
    run = hopper_run(pairs=2)
    (run / "config.json").write_text(json.dumps({"env": "prefrl/Hopper-v0", "labels": 50}))
    server = subprocess.Popen([*PREFRL, "label", str(run), "--port", "0"], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        line = server.stdout.readline()
        assert line.startswith("labeling page: http://127.0.0.1:"), line
        url = line.split()[2]
        stats = httpx.get(url + "api/stats", timeout=10).json()
        assert stats["progress"]["budget"] == 50 and stats["progress"]["waiting"] == 2
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0  # generous: a loaded machine may be mid-render


def test_label_elsewhere_than_localhost_prints_a_token(hopper_run):
    run = hopper_run(pairs=1)
    server = subprocess.Popen(
        [*PREFRL, "label", str(run), "--host", "0.0.0.0", "--port", "0"], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        url = server.stdout.readline().split()[2]
        assert "?token=" in url
        base, token = url.split("?token=")
        local = base.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(local + "api/stats", timeout=10).status_code == 401
        assert httpx.get(local + "api/stats", headers={"X-Prefrl-Token": token}, timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def test_label_export_import_errors(tmp_path, capsys):
    assert main(["label", str(tmp_path)]) == 2
    assert "no preferences.sqlite" in capsys.readouterr().err
    assert main(["import", str(tmp_path), str(tmp_path / "missing.jsonl")]) == 2


def test_export_then_import(hopper_run, capsys):
    from prefrl.labeling.queue import LabelQueue
    from prefrl.preference import Preference
    from prefrl.store import PreferenceStore

    source, target = hopper_run(pairs=2, name="a"), hopper_run(pairs=1, name="b")
    queue = LabelQueue(PreferenceStore.open(source / "preferences.sqlite"))
    queue.mark_rendered(2)
    queue.answer(queue.lease_next("ann").query_id, Preference.RIGHT, "ann")
    file = source / "labels.jsonl"
    assert main(["export", str(source), str(file)]) == 0
    assert main(["export", str(source), str(file)]) == 2  # never overwrites
    capsys.readouterr()
    assert main(["export", str(source), str(source / "no" / "such" / "folder.jsonl")]) == 1
    assert (
        capsys.readouterr().err
        == f"prefrl: error: {source / 'no' / 'such' / 'folder.jsonl'}: No such file or directory\n"
    )
    assert main(["import", str(target), str(file)]) == 0
    assert "imported 1 answers" in capsys.readouterr().out
    assert main(["import", str(target), str(file)]) == 0  # again: nothing new
    assert f"imported 0 answers into {target}, skipped 1 already present" in capsys.readouterr().out
    assert count(target / "preferences.sqlite", "answers") == 1
    assert count(target / "preferences.sqlite", "queries") == 2
