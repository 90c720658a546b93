"""The results committed under results/ regenerate their reports from their own small files, and say what the
docs quote from them."""

from pathlib import Path

import pytest

from prefrl.experiments.report import write_report

RESULTS = Path(__file__).resolve().parents[1] / "results"
SWEEPS = sorted(p for p in RESULTS.iterdir() if (p / "sweep.json").is_file())


def without_the_date(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("Report written on")]


def test_there_are_committed_results():
    assert SWEEPS, "no sweep under results/"


@pytest.mark.parametrize("sweep", SWEEPS, ids=lambda p: p.name)
def test_prefrl_report_regenerates_the_committed_report(sweep, tmp_path):
    regenerated = write_report(sweep, tmp_path / "report")
    committed = sweep / "report" / "report.md"
    assert without_the_date(regenerated.read_text()) == without_the_date(committed.read_text())
    paired = tmp_path / "report" / "paired.csv"  # only a sweep with a true-reward condition pairs its runs
    assert paired.exists() == (sweep / "report" / "paired.csv").exists()
    if paired.exists():
        assert paired.read_text() == (sweep / "report" / "paired.csv").read_text()


def test_the_plots_reference_returns_are_the_committed_true_reward_runs():
    import csv

    from prefrl.experiments.references import TRUE_REWARD
    from prefrl.experiments.sweep import task_env_id

    for env_id, ref in TRUE_REWARD.items():
        rows = list(csv.DictReader((RESULTS.parent / ref.source / "report" / "paired.csv").open()))
        pairs = [r for r in rows if task_env_id(r["task"]) == env_id]  # a row per preference condition, one baseline
        assert pairs
        for row in pairs:
            assert ref.final_return == pytest.approx(float(row["true_return"]), abs=0.05)
            assert ref.seeds == int(row["seeds"])


def _quote_script():
    """scripts/quote_fig2_report.py, imported (scripts/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("quote", RESULTS.parent / "scripts" / "quote_fig2_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_md_quotes_the_committed_reports_as_they_are():
    """A section of docs/RESULTS.md that links one committed report quotes its tables verbatim, and its status line
    counts the runs that report holds (pasting a table by hand, then adding runs, would fail this)."""
    import re

    text = (RESULTS.parent / "docs" / "RESULTS.md").read_text()
    tables = _quote_script().tables  # the script that writes these tables reads them the same way
    checked = 0
    for section in re.split(r"\n(?=## )", text):
        linked = set(re.findall(r"\(\.\./(results/[^)]+/report/report\.md)\)", section))
        if len(linked) != 1:
            continue
        report = (RESULTS.parent / linked.pop()).read_text()
        for table in map("\n".join, tables(section)):
            assert table in report, f"a table of {section.splitlines()[0]!r} is not the committed report's"
            checked += 1
        status = re.search(r"\*\*Status[^*]*: (\d+) of (\d+) runs\*\*", section)
        if status:
            assert f"{status[1]} of {status[2]} runs finished" in report
    assert checked >= 3  # section 1's final returns, normalised scores and behaviour


def test_the_quoting_script_replaces_stale_tables_and_counts_runs_per_seed():
    quote = _quote_script()
    doc = "# R\n\n## 1. Fig 2\n\n**Status (2026-01-01): 1 of 160 runs** (seed 0: 1 of 32)\n\n| a | b |\n|---|---|\n"
    doc += "| 350 | 0.5 |\n\n## 1a. Old\n\n| a | b |\n|---|---|\n| 350 | 0.1 |\n"
    report = "3 of 160 runs finished: ...\n\n| a | b |\n|---|---|\n| 350 | 0.9 |\n"
    done = ["Hopper-v1__true__0", "Hopper-v1__pref350__0", "Hopper-v1__true__1"]
    quoted = quote.quote(doc, report, done, "2026-12-04")
    assert "| 350 | 0.9 |" in quoted and "| 350 | 0.5 |" not in quoted
    assert "| 350 | 0.1 |" in quoted  # another section's table is left alone
    assert "**Status (2026-12-04): 3 of 160 runs** (seed 0: 2 of 32, seed 1: 1 of 32)" in quoted
    with pytest.raises(SystemExit, match="holds 3 runs but 2"):
        quote.quote(doc, report, done[:2], "2026-12-04")
