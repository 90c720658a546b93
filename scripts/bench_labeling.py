"""Labeling-page benchmark (issue 3): pair playable latency, next-pair latency, training throughput.

    python scripts/bench_labeling.py --env prefrl/Hopper-v0 --steps 60000 --labels 200 --seed 0 \
        --labelers 4 --answer-every 0.5 --out bench/labeling

Starts two ``prefrl train`` runs at the same time, side by side (same task, seed, steps and label budget):
one with ``--teacher human`` and its labeling page, one with the synthetic ``--teacher oracle``. As soon as the
human run prints its URL, ``--labelers`` simulated labelers (threads, one ``httpx`` client each) use the page's
JSON API the way the page does: every ``--answer-every`` seconds each answers the pair it shows (left, right or
equal at random), then tops up to two pairs on hand (the shown one and one preloaded) with ``POST /api/next``
and downloads both videos of every pair it gets. It writes into ``--out``:

* ``results.md`` and ``results.csv``: one row per measure;
* ``pairs.csv``: one row per pair of the human run (when chosen, when each video appeared, latencies);
* ``requests.csv``: one row per API request of the simulated labelers;
* ``runs/<time>/{human,oracle}``: the two run directories, with their logs.

How each number is measured:

* pair playable latency: from the pair's ``created_at`` in the run's database (``time.time()`` in the trainer
  when it stored the pair it chose) to the later of its two ``<clip id>.mp4`` files getting its final name
  (the file's ctime, which the renderer's rename from a temporary name sets: the video is complete from that
  moment). A thread polling the clip folder every 10 ms checks that the files were indeed visible then, and
  after the runs every video is decoded with ffmpeg to check that it plays. The renderer keeps only a few pairs
  ahead of the labelers rendered, so pairs of the initial batch (25% of the budget, asked at once) wait for
  labelers by design; they are reported apart from the pairs chosen during RL. A pair's latency includes the
  pairs the renderer had to finish first, so the table also splits it: pairs chosen while the renderer had
  nothing left to do (their latency is rendering alone), one clip (its right video's ctime minus its left
  one's: the renderer does one after the other) and the time from one pair to the next while pairs waited.
* next-pair latency: round trip of ``POST /api/next`` as a labeler sees it (client-side ``perf_counter``), all
  calls, and those that returned a pair;
* training throughput: ``timesteps / train_seconds`` from each run's ``summary.json`` (``train_seconds`` counts
  from the start of training, after the labeling page started; it does not include process start-up).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import imageio_ffmpeg
import numpy as np

PREFRL = [sys.executable, "-m", "prefrl.cli"]  # the prefrl of this interpreter, whatever is on PATH
URL_LINE = re.compile(r"label the clips at (\S+)")
CLIP_FILE = re.compile(r"([0-9]+)\.mp4")
ON_HAND = 2  # as the page (prefrl/web/static/label.js): the pair shown and the one preloaded behind it
ANSWERS = ("left", "right", "equal")


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
                while len(on_hand) < ON_HAND and not self.stop.is_set():
                    holding = [p["query_id"] for p in on_hand]
                    response = self._timed(
                        client, "next", "POST", "api/next", json={"labeler": self.name, "holding": holding}
                    )
                    served = response.json()["pair"] if response is not None and response.status_code == 200 else None
                    if served is None:
                        break
                    pair = served
                    self.requests[-1].got_pair = True
                    for side in ("left", "right"):  # what the page's <video> elements download
                        self._timed(client, "clip", "GET", pair[side])
                    on_hand.append(pair)
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


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    a = np.asarray(values)
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def plays(path: Path) -> bool:
    """Whether ffmpeg decodes at least one frame of the video."""
    try:
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (RuntimeError, OSError):
        return False
    return frames > 0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="prefrl/Hopper-v0")
    parser.add_argument("--steps", type=int, default=60_000, help="about 30 PPO iterations: a minute or two")
    parser.add_argument("--labels", type=int, default=200, help="50 asked at once before RL, 150 during it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelers", type=int, default=4, help="simulated labelers (the issue's 4)")
    parser.add_argument("--answer-every", type=float, default=0.5, help="seconds between answers (the issue's 0.5)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on the runs after this many seconds")
    parser.add_argument("--out", type=Path, default=Path("bench/labeling"))
    args = parser.parse_args()

    runs = args.out / "runs" / time.strftime("%Y%m%d-%H%M%S")
    runs.mkdir(parents=True)
    human_dir = runs / "human"  # created by prefrl train (it refuses an existing one), as is runs / "oracle"

    stop, human_done = threading.Event(), threading.Event()
    labelers: list[Labeler] = []
    threads: list[threading.Thread] = []  # every thread started here, joined before the logs are closed
    watcher = ClipWatcher(human_dir / "clips", stop)
    procs: dict[str, subprocess.Popen] = {}
    logs = []
    url: list[str] = []
    url_seen = threading.Event()

    def read_human_stdout(proc: subprocess.Popen, log) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # read to the end, so the child never blocks on a full pipe
            log.write(line)
            log.flush()
            match = URL_LINE.search(line)
            if match and not url:
                url.append(match[1])
                url_seen.set()
        url_seen.set()  # the run ended (or failed) without printing its URL

    started = time.time()
    try:
        for name in ("human", "oracle"):
            out = open(runs / f"{name}.stdout.log", "w")  # noqa: SIM115 (closed in finally)
            err = open(runs / f"{name}.stderr.log", "w")  # noqa: SIM115
            logs += [out, err]
            cmd = train_command(args, runs / name, name)
            print(" ".join(cmd[2:]), flush=True)
            if name == "human":
                procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
                threads.append(threading.Thread(target=read_human_stdout, args=(procs[name], out), daemon=True))
                threads[-1].start()
            else:
                procs[name] = subprocess.Popen(cmd, stdout=out, stderr=err)

        url_seen.wait(timeout=args.timeout)
        if not url:
            raise SystemExit(f"the human run printed no URL; see {runs / 'human.stderr.log'}")
        print(f"labeling page at {url[0]}; {args.labelers} labelers attached", flush=True)
        query = parse_qs(urlsplit(url[0]).query)
        token = query["token"][0] if "token" in query else None
        base_url = url[0].split("?")[0]
        threads.append(watcher)
        watcher.start()
        labelers = [
            Labeler(f"sim{i}", base_url, token, args.answer_every, args.seed * 100 + i, stop, human_done)
            for i in range(args.labelers)
        ]
        for labeler in labelers:
            threads.append(threading.Thread(target=labeler.run, name=f"labeler-{labeler.name}", daemon=True))
            threads[-1].start()

        deadline = started + args.timeout
        # The labelers stop once the human run has written its summary (training is over; the page closes).
        while procs["human"].poll() is None and not (human_dir / "summary.json").exists():
            if time.time() > deadline:
                raise SystemExit(f"the runs took longer than --timeout {args.timeout:g} s")
            time.sleep(0.2)
        human_done.set()
        stop.set()
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                raise SystemExit(f"the runs took longer than --timeout {args.timeout:g} s") from None
            if proc.returncode != 0:
                raise SystemExit(f"the {name} run failed ({proc.returncode}); see {runs / f'{name}.stderr.log'}")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise SystemExit(130) from None
    finally:
        human_done.set()
        stop.set()
        for name, proc in procs.items():
            stop_process(proc, name)
        for thread in threads:
            thread.join(timeout=15)
        for log in logs:
            log.close()
    print(f"both runs done in {time.time() - started:.0f} s; analysing", flush=True)

    # 1. Pair playable latency.
    with closing(sqlite3.connect(f"file:{human_dir / 'preferences.sqlite'}?mode=ro", uri=True)) as db:
        queries = db.execute(
            "SELECT id, left_clip, right_clip, timestep, created_at, rendered_at FROM queries ORDER BY id"
        ).fetchall()
    clip_dir = human_dir / "clips"
    with ThreadPoolExecutor(2) as pool:
        videos = sorted(clip_dir.glob("*.mp4"))
        playable = dict(zip(videos, pool.map(plays, videos)))
    pair_rows = []
    for query_id, left, right, timestep, created, rendered in queries:
        paths = [clip_dir / f"{left}.mp4", clip_dir / f"{right}.mp4"]
        left_at, right_at = (p.stat().st_ctime if p.exists() else None for p in paths)
        seen = [watcher.first_seen.get(c) for c in (left, right)]
        done = None if left_at is None or right_at is None else max(left_at, right_at)
        pair_rows.append(
            {
                "query_id": query_id,
                "timestep": timestep,
                "created_at": created,
                "left_at": left_at,
                "right_at": right_at,
                "seen_at": None if None in seen else max(seen),  # type: ignore[type-var]
                "rendered_at": rendered,
                "latency_s": None if done is None else done - created,
                "plays": all(playable.get(p, False) for p in paths) if done is not None else None,
            }
        )
    # In the order the renderer finished them (it renders one pair at a time, left clip then right clip).
    rendered_rows = sorted((r for r in pair_rows if r["latency_s"] is not None), key=lambda r: r["right_at"])
    not_playing = [r["query_id"] for r in rendered_rows if not r["plays"]]
    # The poller saw each file within its polling interval of the ctime (a sanity check of the ctime method).
    seen_lag = [r["seen_at"] - max(r["left_at"], r["right_at"]) for r in rendered_rows if r["seen_at"] is not None]
    # Where the time goes: one clip (the right one is rendered right after the left one is in place), the gap
    # between two pairs' completions while the renderer had work waiting, and the pairs chosen while it had
    # none (their latency is the renderer's alone, without a queue).
    clip_seconds = [r["right_at"] - r["left_at"] for r in rendered_rows]
    busy_gaps, idle_latency = [], []
    for before, pair in zip([None, *rendered_rows], rendered_rows):
        before_done = None if before is None else max(before["left_at"], before["right_at"])
        if before_done is None or pair["created_at"] >= before_done:
            idle_latency.append(pair["latency_s"])
        else:
            busy_gaps.append(max(pair["left_at"], pair["right_at"]) - before_done)

    # 2. Next-pair latency.
    requests = [r for labeler in labelers for r in labeler.requests]
    errors = [e for labeler in labelers for e in labeler.errors]
    ok = [r for r in requests if r.status == 200]
    nexts = [r.seconds for r in ok if r.kind == "next"]
    nexts_with_pair = [r.seconds for r in ok if r.kind == "next" and r.got_pair]

    # 3. Throughput.
    summaries = {name: json.loads((runs / name / "summary.json").read_text()) for name in ("human", "oracle")}
    rate = {name: s["timesteps"] / s["train_seconds"] for name, s in summaries.items()}

    ms = 1000.0
    measures = []

    def add(measure: str, stats: dict, unit: float, target: str, note: str = "") -> None:
        measures.append(
            {
                "measure": measure,
                "n": stats["n"],
                "p50": round(stats["p50"] * unit, 1),
                "p95": round(stats["p95"] * unit, 1),
                "max": round(stats["max"] * unit, 1),
                "target": target,
                "note": note,
            }
        )

    initial = [r["latency_s"] for r in rendered_rows if r["timestep"] == 0]
    during = [r["latency_s"] for r in rendered_rows if r["timestep"] > 0]
    add("pair playable, all pairs (ms)", percentiles([r["latency_s"] for r in rendered_rows]), ms, "< 500")
    add("pair playable, chosen during RL (ms)", percentiles(during), ms, "< 500")
    add(
        "pair playable, initial batch (ms)",
        percentiles(initial),
        ms,
        "",
        "asked at once before RL; rendered a few ahead of the labelers, by design",
    )
    add(
        "pair playable, renderer idle when chosen (ms)",
        percentiles(idle_latency),
        ms,
        "< 500",
        "no queue: the renderer's own time",
    )
    add("one clip rendered + encoded, in the trainer (ms)", percentiles(clip_seconds), ms, "")
    add(
        "pair after pair, renderer busy (ms)",
        percentiles(busy_gaps),
        ms,
        "",
        "time between two pairs becoming playable while more waited",
    )
    add("next pair, all calls (ms)", percentiles(nexts), ms, "p95 < 100")
    add("next pair, calls that got a pair (ms)", percentiles(nexts_with_pair), ms, "p95 < 100")
    add("answer (ms)", percentiles([r.seconds for r in ok if r.kind == "answer"]), ms, "")
    add("clip video download (ms)", percentiles([r.seconds for r in ok if r.kind == "clip"]), ms, "")
    for name in ("human", "oracle"):
        s = summaries[name]
        measures.append(
            {
                "measure": f"training steps/s, {name} teacher",
                "n": s["timesteps"],
                "p50": round(rate[name], 1),
                "p95": "",
                "max": "",
                "target": "",
                "note": f"{s['timesteps']} steps in {s['train_seconds']:.1f} s; {s['labels']} labels",
            }
        )
    measures.append(
        {
            "measure": "throughput ratio human / oracle",
            "n": "",
            "p50": round(rate["human"] / rate["oracle"], 3),
            "p95": "",
            "max": "",
            "target": ">= 0.9",
            "note": "",
        }
    )

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(measures[0]))
        writer.writeheader()
        writer.writerows(measures)
    with (args.out / "pairs.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(pair_rows[0]))
        writer.writeheader()
        writer.writerows(pair_rows)
    with (args.out / "requests.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["labeler", "kind", "started", "seconds", "status", "got_pair"])
        writer.writeheader()
        writer.writerows(vars(r) for r in requests)

    answered = sum(1 for r in ok if r.kind == "answer")
    first_chosen = min(r["created_at"] for r in pair_rows)
    chosen_span = max(1e-9, summaries["human"]["train_seconds"])
    render_span = max(1e-9, max((r["rendered_at"] or first_chosen) for r in pair_rows) - first_chosen)
    lines = [
        f"Labeling benchmark: {args.env}, {args.steps:,} steps, {args.labels} labels, seed {args.seed}; "
        f"human-teacher run with {args.labelers} simulated labelers answering every {args.answer_every:g} s, and "
        f"oracle run, side by side; {platform.node()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| measure | n | p50 (or value) | p95 | max | target | note |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {m['measure']} | {m['n']} | {m['p50']} | {m['p95']} | {m['max']} | {m['target']} | {m['note']} |"
            for m in measures
        ),
        "",
        f"Pairs chosen: {len(pair_rows)} ({len(pair_rows) / chosen_span:.2f}/s over the human run's training); "
        f"rendered: {len(rendered_rows)} ({len(rendered_rows) / render_span:.2f}/s from the first pair chosen to "
        f"the last rendered); with a video ffmpeg cannot "
        f"decode: {len(not_playing)}. The clip-folder poller saw a pair's videos "
        f"{percentiles(seen_lag)['max'] * ms:.0f} ms after their ctime at most (it polls every 10 ms).",
        f"Labelers: {answered} answers accepted, {len(nexts)} next-pair calls ({len(nexts_with_pair)} got a pair; "
        f"the others found none rendered yet), {len(errors)} errors while the run was going"
        + (f" (first: {errors[0]})" if errors else "")
        + ".",
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
