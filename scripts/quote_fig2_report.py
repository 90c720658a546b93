"""Quote results/fig2/report/report.md in docs/RESULTS.md, section 1: each of the section's tables is replaced by
the report's table with the same header, and the status line counts the finished runs per seed.

    python scripts/quote_fig2_report.py

The section's prose (IQMs, per-task shortfalls, what the runs did) is written by hand; tests/test_committed_results.py
checks that the tables and the run count are the committed report's.
"""

from __future__ import annotations

import collections
import datetime
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "results" / "fig2"
DOC = ROOT / "docs" / "RESULTS.md"


def tables(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            found.append(table)
            table = []
    return found


def quote(doc: str, report: str, done: list[str], today: str) -> str:
    """``doc`` (docs/RESULTS.md) with section 1 quoting ``report``; ``done``: the names of the finished runs."""
    start, end = doc.index("\n## 1. "), doc.index("\n## 1a.")
    section = doc[start:end]
    by_header = {t[0]: t for t in tables(report)}
    for table in tables(section):
        section = section.replace("\n".join(table), "\n".join(by_header[table[0]]))
    counted = re.search(r"(\d+) of \d+ runs finished", report)
    if counted is None:
        raise SystemExit("the report does not say how many runs it holds")
    if len(done) != int(counted[1]):
        raise SystemExit(f"the report holds {counted[1]} runs but {len(done)} have finished: run prefrl report first")
    per_seed = collections.Counter(int(name.rsplit("__", 1)[1]) for name in done)
    seeds = ", ".join(f"seed {s}: {per_seed[s]} of 32" for s in sorted(per_seed))
    status = f"**Status ({today}): {len(done)} of 160 runs** ({seeds})"
    section, found = re.subn(r"\*\*Status[^*]*: \d+ of 160 runs\*\* \([^)]*\)", status, section)
    if found != 1:
        raise SystemExit("no status line in section 1")
    return doc[:start] + section + doc[end:]


def main() -> None:
    report = (SWEEP / "report" / "report.md").read_text()
    done = [d.name for d in SWEEP.iterdir() if (d / "summary.json").is_file()]
    DOC.write_text(quote(DOC.read_text(), report, done, datetime.date.today().isoformat()))
    print(f"docs/RESULTS.md, section 1: {len(done)} runs quoted")


if __name__ == "__main__":
    main()
