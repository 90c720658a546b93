"""The load of ``scripts/bench_labeling.py``: its two ``prefrl train`` runs and the simulated labelers.

``run_side_by_side`` starts the ``--teacher human`` and ``--teacher oracle`` runs together (the human one alone
with ``--alone``), attaches the
simulated labelers (``Labeler``) to the human run's labeling page once it prints its URL, watches its clip
folder (``ClipWatcher``) and returns when both runs have ended, with everything it started stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from prefrl.run_dir import RunFiles

PREFRL = [sys.executable, "-m", "prefrl.cli"]  # the prefrl of this interpreter, whatever is on PATH
URL_LINE = re.compile(r"label the clips at (\S+)")
CLIP_FILE = re.compile(r"([0-9]+)\.mp4")
ON_HAND = 2  # as the page (prefrl/web/static/label.js): the pair shown and the one preloaded behind it
ANSWERS = ("left", "right", "equal")
TEACHERS = ("human", "oracle")


@dataclass
class Request:
    """One API request of a simulated labeler."""

    labeler: str
    kind: str  # "next", "answer" or "clip"
    started: float  # Unix time
    seconds: float
    status: int  # HTTP status; 0 for a transport error
    got_pair: bool = False


@dataclass
class Labeler:
    """A simulated labeler: answers every ``every`` seconds, keeps ``ON_HAND`` pairs, fetches their videos."""

    name: str
    base_url: str
    token: str | None
    every: float
    seed: int
    stop: threading.Event
    run_done: threading.Event
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _timed(self, client: httpx.Client, kind: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        started, t0 = time.time(), time.perf_counter()
        try:
            response = client.request(method, url, **kwargs)
            response.read()
        except httpx.HTTPError as e:
            self.requests.append(Request(self.name, kind, started, time.perf_counter() - t0, 0))
            if not self.run_done.is_set():  # the page goes away when its run ends: not an error then
                self.errors.append(f"{kind}: {type(e).__name__}: {e}")
            return None
        self.requests.append(Request(self.name, kind, started, time.perf_counter() - t0, response.status_code))
        if response.status_code >= 400 and not self.run_done.is_set():
            self.errors.append(f"{kind} {url}: {response.status_code} {response.text[:200]}")
        return response

    def _top_up(self, client: httpx.Client, on_hand: list[dict[str, Any]]) -> None:
        """Asks for pairs until ``ON_HAND`` are on hand (or none is left), downloading both videos of each."""
        while len(on_hand) < ON_HAND and not self.stop.is_set():
            holding = [p["query_id"] for p in on_hand]
            response = self._timed(client, "next", "POST", "api/next", json={"labeler": self.name, "holding": holding})
            served = response.json()["pair"] if response is not None and response.status_code == 200 else None
            if served is None:
                break
            pair = served
            self.requests[-1].got_pair = True
            for side in ("left", "right"):  # what the page's <video> elements download
                self._timed(client, "clip", "GET", pair[side])
            on_hand.append(pair)

    def run(self) -> None:
        rng = random.Random(self.seed)
        headers = {"X-Prefrl-Token": self.token} if self.token else {}
        on_hand: list[dict[str, Any]] = []
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=10.0) as client:
            tick = time.monotonic()
            while not self.stop.is_set():
                if on_hand:
                    pair = on_hand.pop(0)
                    body = {"query_id": pair["query_id"], "labeler": self.name, "preference": rng.choice(ANSWERS)}
                    self._timed(client, "answer", "POST", "api/answer", json=body)
                self._top_up(client, on_hand)
                tick += self.every
                self.stop.wait(max(0.0, tick - time.monotonic()))


class ClipWatcher(threading.Thread):
    """Records when each ``<clip id>.mp4`` is first seen in a folder (polling every ``every`` seconds)."""

    def __init__(self, folder: Path, stop: threading.Event, every: float = 0.01):
        super().__init__(name="clip-watcher", daemon=True)
        self.folder, self.stop, self.every = folder, stop, every
        self.first_seen: dict[int, float] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            try:
                names = os.listdir(self.folder)
            except FileNotFoundError:
                names = []
            for name in names:
                match = CLIP_FILE.fullmatch(name)
                if match:
                    self.first_seen.setdefault(int(match[1]), now)
            self.stop.wait(self.every)


def train_command(args: argparse.Namespace, run_dir: Path, teacher: str) -> list[str]:
    cmd = [*PREFRL, "train", "--env", args.env, "--steps", str(args.steps), "--labels", str(args.labels)]
    cmd += ["--seed", str(args.seed), "--teacher", teacher, "--out", str(run_dir), "--no-progress", "--no-video"]
    if teacher == "human":
        # Port 0: the server binds a free port itself and prints it in its URL (no race with another program
        # taking a port found free a moment earlier).
        cmd += ["--label-port", "0"]
    return cmd


def stop_process(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is not None:
        return
    print(f"stopping the {name} run (pid {proc.pid})", flush=True)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class SideBySide:
    """The two runs in ``runs/{human,oracle}`` (or the human one alone; logs in ``runs/<teacher>.std{out,err}.log``)
    and the labelers."""

    def __init__(self, args: argparse.Namespace, runs: Path):
        self.args, self.runs = args, runs
        self.teachers = TEACHERS[:1] if args.alone else TEACHERS
        self.human = RunFiles(runs / "human")  # created by prefrl train (it refuses an existing one), as is oracle's
        self.stop, self.human_done = threading.Event(), threading.Event()
        self.labelers: list[Labeler] = []
        self.threads: list[threading.Thread] = []  # every thread started here, joined before the logs are closed
        self.watcher = ClipWatcher(self.human.clips, self.stop)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list[IO[str]] = []
        self.url: str | None = None
        self.url_seen = threading.Event()

    def _read_human_stdout(self, proc: subprocess.Popen, log: IO[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # read to the end, so the child never blocks on a full pipe
            log.write(line)
            log.flush()
            match = URL_LINE.search(line)
            if match and self.url is None:
                self.url = match[1]
                self.url_seen.set()
        self.url_seen.set()  # the run ended (or failed) without printing its URL

    def start_runs(self) -> None:
        for name in self.teachers:
            out = open(self.runs / f"{name}.stdout.log", "w")  # noqa: SIM115 (closed in close())
            err = open(self.runs / f"{name}.stderr.log", "w")  # noqa: SIM115
            self.logs += [out, err]
            cmd = train_command(self.args, self.runs / name, name)
            print(" ".join(cmd[2:]), flush=True)
            if name == "human":
                self.procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
                self._start(threading.Thread(target=self._read_human_stdout, args=(self.procs[name], out), daemon=True))
            else:
                self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=err)

    def _start(self, thread: threading.Thread) -> None:
        self.threads.append(thread)
        thread.start()

    def attach_labelers(self) -> None:
        """Waits for the human run's URL, then starts the clip watcher and the labelers on its page."""
        args = self.args
        self.url_seen.wait(timeout=args.timeout)
        if self.url is None:
            raise SystemExit(f"the human run printed no URL; see {self.runs / 'human.stderr.log'}")
        print(f"labeling page at {self.url}; {args.labelers} labelers attached", flush=True)
        query = parse_qs(urlsplit(self.url).query)
        token = query["token"][0] if "token" in query else None
        base_url = self.url.split("?")[0]
        self._start(self.watcher)
        self.labelers = [
            Labeler(f"sim{i}", base_url, token, args.answer_every, args.seed * 100 + i, self.stop, self.human_done)
            for i in range(args.labelers)
        ]
        for labeler in self.labelers:
            self._start(threading.Thread(target=labeler.run, name=f"labeler-{labeler.name}", daemon=True))

    def wait_for_runs(self, deadline: float) -> None:
        """Stops the labelers once the human run has written its summary (training is over; the page closes),
        then waits for both runs to exit, successfully."""
        too_long = f"the runs took longer than --timeout {self.args.timeout:g} s"
        while self.procs["human"].poll() is None and not self.human.summary.exists():
            if time.time() > deadline:
                raise SystemExit(too_long)
            time.sleep(0.2)
        self.human_done.set()
        self.stop.set()
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                raise SystemExit(too_long) from None
            if proc.returncode != 0:
                raise SystemExit(f"the {name} run failed ({proc.returncode}); see {self.runs / f'{name}.stderr.log'}")

    def close(self) -> None:
        """Stops whatever still runs: the labelers, the watcher, the runs (SIGINT, then SIGKILL); closes the logs."""
        self.human_done.set()
        self.stop.set()
        for name, proc in self.procs.items():
            stop_process(proc, name)
        for thread in self.threads:
            thread.join(timeout=15)
        for log in self.logs:
            log.close()


def run_side_by_side(args: argparse.Namespace, runs: Path) -> SideBySide:
    """Both runs under load, to their end (``SystemExit`` if one fails or they take longer than ``--timeout``)."""
    load = SideBySide(args, runs)
    started = time.time()
    try:
        load.start_runs()
        load.attach_labelers()
        load.wait_for_runs(deadline=started + args.timeout)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise SystemExit(130) from None
    finally:
        load.close()
    print(f"both runs done in {time.time() - started:.0f} s; analysing", flush=True)
    return load
