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


def _tables(text: str) -> list[str]:
    """The markdown tables of a text, each as one string."""
    found, table = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            found.append("\n".join(table))
            table = []
    return found


def test_results_md_quotes_the_committed_reports_as_they_are():
    """A section of docs/RESULTS.md that links one committed report quotes its tables verbatim, and its status line
    counts the runs that report holds (pasting a table by hand, then adding runs, would fail this)."""
    import re

    text = (RESULTS.parent / "docs" / "RESULTS.md").read_text()
    checked = 0
    for section in re.split(r"\n(?=## )", text):
        linked = set(re.findall(r"\(\.\./(results/[^)]+/report/report\.md)\)", section))
        if len(linked) != 1:
            continue
        report = (RESULTS.parent / linked.pop()).read_text()
        for table in _tables(section):
            assert table in report, f"a table of {section.splitlines()[0]!r} is not the committed report's"
            checked += 1
        status = re.search(r"\*\*Status[^*]*: (\d+) of (\d+) runs\*\*", section)
        if status:
            assert f"{status[1]} of {status[2]} runs finished" in report
    assert checked >= 3  # section 1's final returns, normalised scores and behaviour
