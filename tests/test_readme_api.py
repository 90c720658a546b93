"""The README's Python API example runs as written and does what it says."""

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def api_example() -> str:
    section = README.read_text().split("### From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_api_example_trains_with_its_own_teacher_and_env(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(api_example(), "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip().splitlines()[-1] == "40"
    run = tmp_path / "runs" / "api-example"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["env"] == "mylab/ShortHopper-v0" and summary["timesteps"] >= 8192
    config = json.loads((run / "config.json").read_text())
    assert config["env"] == "mylab/ShortHopper-v0"
    import sqlite3

    with sqlite3.connect(run / "preferences.sqlite") as db:
        labelers = {row[0] for row in db.execute("SELECT labeler FROM answers")}
    assert labelers == {"further"}  # every answer came from the README's own teacher
