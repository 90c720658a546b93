"""Labeling-page benchmark (issue 3): pair playable latency, next-pair latency, training throughput.

    python scripts/bench_labeling.py --env prefrl/Hopper-v0 --steps 60000 --labels 200 --seed 0 \
        --labelers 4 --answer-every 0.5 --out bench/labeling

Starts two ``prefrl train`` runs at the same time, side by side (same task, seed, steps and label budget):
one with ``--teacher human`` and its labeling page, one with the synthetic ``--teacher oracle`` (with ``--alone``,
the human one only: pair playable latency while one run trains). As soon as the
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
  after the runs every video is decoded (PyAV) to check that it plays. The renderer keeps only a few pairs
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
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import av
import numpy as np
from labeling_load import TEACHERS, Request, run_side_by_side

from prefrl.run_dir import RunFiles

MS = 1000.0
Row = dict[str, Any]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="prefrl/Hopper-v0")
    parser.add_argument("--steps", type=int, default=60_000, help="about 30 PPO iterations: a minute or two")
    parser.add_argument("--labels", type=int, default=200, help="50 asked at once before RL, 150 during it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelers", type=int, default=4, help="simulated labelers (the issue's 4)")
    parser.add_argument("--answer-every", type=float, default=0.5, help="seconds between answers (the issue's 0.5)")
    parser.add_argument(
        "--alone",
        action="store_true",
        help="run the human-teacher run alone (no oracle run beside it, so no throughput ratio): the issue's "
        "setting for pair playable latency, 'while a run trains'",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on the runs after this many seconds")
    parser.add_argument("--out", type=Path, default=Path("bench/labeling"))
    return parser.parse_args()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    a = np.asarray(values)
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def plays(path: Path) -> bool:
    """Whether the video decodes to at least one frame."""
    try:
        with av.open(str(path)) as container:
            return next(container.decode(video=0), None) is not None
    except (av.FFmpegError, OSError):
        return False


def pair_row(query: tuple, clip_dir: Path, first_seen: dict[int, float], playable: dict[Path, bool]) -> Row:
    """A row of pairs.csv: when the pair was chosen, when each video appeared, its latency, whether it plays."""
    query_id, left, right, timestep, created, rendered = query
    paths = [clip_dir / f"{left}.mp4", clip_dir / f"{right}.mp4"]
    left_at, right_at = (p.stat().st_ctime if p.exists() else None for p in paths)
    seen = [first_seen.get(c) for c in (left, right)]
    done = None if left_at is None or right_at is None else max(left_at, right_at)
    return {
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


def read_pairs(human: RunFiles, first_seen: dict[int, float]) -> list[Row]:
    """Every pair of the human run's database, its videos decoded (PyAV)."""
    with closing(sqlite3.connect(f"file:{human.db}?mode=ro", uri=True)) as db:
        queries = db.execute(
            "SELECT id, left_clip, right_clip, timestep, created_at, rendered_at FROM queries ORDER BY id"
        ).fetchall()
    with ThreadPoolExecutor(2) as pool:
        videos = sorted(human.clips.glob("*.mp4"))
        playable = dict(zip(videos, pool.map(plays, videos)))
    return [pair_row(query, human.clips, first_seen, playable) for query in queries]


def renderer_split(rendered_rows: list[Row]) -> tuple[list[float], list[float], list[float]]:
    """Where the time goes: one clip (the right one is rendered right after the left one is in place), the gap
    between two pairs' completions while the renderer had work waiting, and the pairs chosen while it had
    none (their latency is the renderer's alone, without a queue)."""
    clip_seconds = [r["right_at"] - r["left_at"] for r in rendered_rows]
    busy_gaps, idle_latency = [], []
    for before, pair in zip([None, *rendered_rows], rendered_rows):
        before_done = None if before is None else max(before["left_at"], before["right_at"])
        if before_done is None or pair["created_at"] >= before_done:
            idle_latency.append(pair["latency_s"])
        else:
            busy_gaps.append(max(pair["left_at"], pair["right_at"]) - before_done)
    return clip_seconds, busy_gaps, idle_latency


def measure(name: str, values: list[float], target: str, note: str = "") -> Row:
    """A row of results.csv: percentiles of durations in seconds, in milliseconds."""
    stats = percentiles(values)
    return {
        "measure": name,
        "n": stats["n"],
        "p50": round(stats["p50"] * MS, 1),
        "p95": round(stats["p95"] * MS, 1),
        "max": round(stats["max"] * MS, 1),
        "target": target,
        "note": note,
    }


def pair_measures(rendered_rows: list[Row]) -> list[Row]:
    """1. Pair playable latency, and how it splits."""
    initial = [r["latency_s"] for r in rendered_rows if r["timestep"] == 0]
    during = [r["latency_s"] for r in rendered_rows if r["timestep"] > 0]
    clip_seconds, busy_gaps, idle_latency = renderer_split(rendered_rows)
    return [
        measure("pair playable, all pairs (ms)", [r["latency_s"] for r in rendered_rows], "< 500"),
        measure("pair playable, chosen during RL (ms)", during, "< 500"),
        measure(
            "pair playable, initial batch (ms)",
            initial,
            "",
            "asked at once before RL; rendered a few ahead of the labelers, by design",
        ),
        measure(
            "pair playable, renderer idle when chosen (ms)", idle_latency, "< 500", "no queue: the renderer's own time"
        ),
        measure("one clip rendered + encoded, in the trainer (ms)", clip_seconds, ""),
        measure(
            "pair after pair, renderer busy (ms)",
            busy_gaps,
            "",
            "time between two pairs becoming playable while more waited",
        ),
    ]


def labeler_measures(ok: list[Request]) -> list[Row]:
    """2. Next-pair latency, and the labelers' other requests (those that succeeded)."""
    nexts = [r.seconds for r in ok if r.kind == "next"]
    nexts_with_pair = [r.seconds for r in ok if r.kind == "next" and r.got_pair]
    return [
        measure("next pair, all calls (ms)", nexts, "p95 < 100"),
        measure("next pair, calls that got a pair (ms)", nexts_with_pair, "p95 < 100"),
        measure("answer (ms)", [r.seconds for r in ok if r.kind == "answer"], ""),
        measure("clip video download (ms)", [r.seconds for r in ok if r.kind == "clip"], ""),
    ]


def throughput_measures(summaries: dict[str, dict[str, Any]]) -> list[Row]:
    """3. Training throughput of each run (from its summary), and their ratio."""
    rate = {name: s["timesteps"] / s["train_seconds"] for name, s in summaries.items()}
    rows = []
    for name in TEACHERS:
        s = summaries[name]
        rows.append(
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
    ratio = round(rate["human"] / rate["oracle"], 3)
    rows.append(
        {
            "measure": "throughput ratio human / oracle",
            "n": "",
            "p50": ratio,
            "p95": "",
            "max": "",
            "target": ">= 0.9",
            "note": "",
        }
    )
    return rows


def write_csv(path: Path, fieldnames: list[str], rows: Any) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def table_lines(args: argparse.Namespace, measures: list[Row]) -> list[str]:
    """The setting (load average measured now, at the end) and the table of measures, in Markdown."""
    return [
        f"Labeling benchmark: {args.env}, {args.steps:,} steps, {args.labels} labels, seed {args.seed}; "
        f"human-teacher run with {args.labelers} simulated labelers answering every {args.answer_every:g} s, "
        f"{'no oracle run beside it' if args.alone else 'oracle run, side by side'}; {platform.node()}, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| measure | n | p50 (or value) | p95 | max | target | note |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {m['measure']} | {m['n']} | {m['p50']} | {m['p95']} | {m['max']} | {m['target']} | {m['note']} |"
            for m in measures
        ),
    ]


def tally_lines(
    pair_rows: list[Row], rendered_rows: list[Row], ok: list[Request], errors: list[str], train_seconds: float
) -> list[str]:
    """How many pairs were chosen, rendered and playable, and what the labelers did."""
    not_playing = [r["query_id"] for r in rendered_rows if not r["plays"]]
    # The poller saw each file within its polling interval of the ctime (a sanity check of the ctime method).
    seen_lag = [r["seen_at"] - max(r["left_at"], r["right_at"]) for r in rendered_rows if r["seen_at"] is not None]
    answered = sum(1 for r in ok if r.kind == "answer")
    nexts = sum(1 for r in ok if r.kind == "next")
    nexts_with_pair = sum(1 for r in ok if r.kind == "next" and r.got_pair)
    first_chosen = min(r["created_at"] for r in pair_rows)
    chosen_span = max(1e-9, train_seconds)
    render_span = max(1e-9, max((r["rendered_at"] or first_chosen) for r in pair_rows) - first_chosen)
    return [
        f"Pairs chosen: {len(pair_rows)} ({len(pair_rows) / chosen_span:.2f}/s over the human run's training); "
        f"rendered: {len(rendered_rows)} ({len(rendered_rows) / render_span:.2f}/s from the first pair chosen to "
        f"the last rendered); with a video that does not "
        f"decode: {len(not_playing)}. The clip-folder poller saw a pair's videos "
        f"{percentiles(seen_lag)['max'] * MS:.0f} ms after their ctime at most (it polls every 10 ms).",
        f"Labelers: {answered} answers accepted, {nexts} next-pair calls ({nexts_with_pair} got a pair; "
        f"the others found none rendered yet), {len(errors)} errors while the run was going"
        + (f" (first: {errors[0]})" if errors else "")
        + ".",
    ]


def main() -> None:
    args = parse_args()
    runs = args.out / "runs" / time.strftime("%Y%m%d-%H%M%S")
    runs.mkdir(parents=True)
    load = run_side_by_side(args, runs)

    pair_rows = read_pairs(load.human, load.watcher.first_seen)
    # In the order the renderer finished them (it renders one pair at a time, left clip then right clip).
    rendered_rows = sorted((r for r in pair_rows if r["latency_s"] is not None), key=lambda r: r["right_at"])
    requests = [r for labeler in load.labelers for r in labeler.requests]
    errors = [e for labeler in load.labelers for e in labeler.errors]
    ok = [r for r in requests if r.status == 200]
    summaries = {name: json.loads(RunFiles(runs / name).summary.read_text()) for name in load.teachers}
    measures = [*pair_measures(rendered_rows), *labeler_measures(ok)]
    if not args.alone:
        measures += throughput_measures(summaries)

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", list(measures[0]), measures)
    write_csv(args.out / "pairs.csv", list(pair_rows[0]), pair_rows)
    write_csv(
        args.out / "requests.csv", ["labeler", "kind", "started", "seconds", "status", "got_pair"], map(vars, requests)
    )

    lines = [
        *table_lines(args, measures),
        "",
        *tally_lines(pair_rows, rendered_rows, ok, errors, summaries["human"]["train_seconds"]),
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
