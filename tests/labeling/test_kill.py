"""kill -9 of the trainer, then of ``prefrl label``, while a labeler answers through the page's API: every answer
the server acknowledged is in the run's database afterwards, with the preference it acknowledged."""

import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx


def serve(command: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """Start ``command`` and return it with the labeling page's URL, once it prints one."""
    out = log.open("w")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+/\S*)", log.read_text())
        if found:
            return process, found.group(1)
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"no URL printed: {log.read_text()}")


def label_until_killed(process: subprocess.Popen, url: str, answers: int, rng: random.Random) -> dict[int, str]:
    """A labeler answers pair after pair; once ``answers`` are acknowledged, ``process`` is killed -9 at a random
    moment of the next ones (a request may be in flight). Returns the acknowledged answers."""
    base, acknowledged = url.split("?")[0], {}

    def labeler() -> None:
        with httpx.Client(timeout=10) as client:
            try:
                while True:
                    pair = client.post(base + "api/next", json={"labeler": "ann"}).json()["pair"]
                    if pair is None:  # not rendered yet
                        time.sleep(0.05)
                        continue
                    preference = rng.choice(["left", "right", "equal"])
                    answer = {"query_id": pair["query_id"], "labeler": "ann", "preference": preference}
                    if client.post(base + "api/answer", json=answer).status_code == 200:
                        acknowledged[pair["query_id"]] = preference
            except httpx.HTTPError:  # the server is gone
                return

    thread = threading.Thread(target=labeler)
    thread.start()
    deadline = time.time() + 120
    while len(acknowledged) < answers and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.2))
    process.send_signal(signal.SIGKILL)
    process.wait()
    thread.join(timeout=30)
    return dict(acknowledged)


def stored(run: Path) -> dict[int, str]:
    with sqlite3.connect(run / "preferences.sqlite") as db:
        return dict(db.execute("SELECT query_id, preference FROM answers"))


def test_acknowledged_answers_survive_kill_9_of_trainer_and_server(tmp_path):
    run, rng = tmp_path / "run", random.Random(0)
    trainer, url = serve(
        [sys.executable, "-m", "prefrl", "train", "--env", "prefrl/Reacher-v0", "--teacher", "human", "--labels", "40",
         "--steps", "400000", "--label-port", "0", "--out", str(run), "--no-progress", "--no-video"],
        tmp_path / "train.log",
    )  # fmt: skip
    acknowledged = label_until_killed(trainer, url, 4, rng)
    assert stored(run).items() >= acknowledged.items()
    server, url = serve([sys.executable, "-m", "prefrl", "label", str(run), "--port", "0"], tmp_path / "label.log")
    acknowledged |= label_until_killed(server, url, 3, rng)
    assert stored(run).items() >= acknowledged.items() and len(acknowledged) >= 7
