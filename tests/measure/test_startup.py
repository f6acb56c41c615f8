"""`cxchange scores` in a fresh process loads only what a read of scores needs (issue 14: the first
scores after an import is mostly start-up). Checked in a subprocess, on the modules it has imported
when it exits, so a module-level import added anywhere on the path fails here instead of quietly
adding to every read's start-up again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What a scores read never needs: the whole schema's classes (the model registry and the stages whose
# tables it does not read), the web stack, Alembic on an up-to-date database, PostgreSQL's dialect on
# SQLite, and the heavy libraries of other commands.
MUST_NOT_LOAD = (
    "cxchange.models",
    # SQLAlchemy's ORM and every ORM class: a read goes through Core tables (core.tables, listen.tables).
    "sqlalchemy.orm",
    "cxchange.core.base",
    "cxchange.core.models",
    "cxchange.listen.models",
    "cxchange.auth.models",
    "cxchange.change.models",
    "cxchange.sustain.models",
    "cxchange.understand.models",
    "cxchange.org",  # the org tree: only for a query that groups or filters by unit
    "cxchange.decide",
    "cxchange.subscribers",
    "sqlalchemy.dialects.postgresql",
    "alembic",
    "fastapi",
    "starlette",
    "pandas",
    "scipy",
    "sklearn",
    "pyarrow",
    "duckdb",
    "torch",
    # A group's score is arithmetic on a handful of counts (measure/stats.py): no arrays.
    "numpy",
    # Settings are read with the standard library (core/config.py).
    "pydantic_settings",
    "dotenv",
)

# Runs the CLI as its console script does, and writes the names in sys.modules when the process ends
# (the CLI leaves through os._exit after the atexit handlers, so the hook still runs).
PROBE = """
import atexit, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
atexit.register(lambda: out.write_text(json.dumps(sorted(sys.modules))))
sys.argv = ["cxchange", *sys.argv[2:]]
from cxchange.cli import main
main()
"""


def _run(*args: str, modules: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", PROBE, str(modules or os.devnull), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_scores_start_up_loads_no_heavy_module(db_url: str, tmp_path: Path) -> None:
    """On SQLite (the columnar copy) and on PostgreSQL (the roll-up, listen/rollup.py: Core tables, and
    frames built without the numpy path of polars); PostgreSQL's dialect only where it is the database."""
    url = db_url
    export = tmp_path / "answers.csv"
    rows = [
        f"R{i},2026-0{1 + i % 3}-1{i % 9} 10:00:00,{i % 11},comment {i},{'North' if i % 2 else 'South'}"
        for i in range(60)
    ]
    export.write_text("Response ID,Submitted At,NPS,Comment,Region\n" + "\n".join(rows) + "\n")
    imported = _run("--db", url, "import", str(export), "--source", "s", "--kind", "survey")
    assert imported.returncode == 0, imported.stderr

    loaded_file = tmp_path / "modules.json"
    scores = _run(
        "--db", url, "scores", "--metric", "nps", "--by", "month", "--by", "attr:Region",
        "--format", "json", modules=loaded_file,
    )  # fmt: skip
    assert scores.returncode == 0, scores.stderr
    assert len(json.loads(scores.stdout)) == 6  # 3 months x 2 regions: it did answer
    loaded = json.loads(loaded_file.read_text())
    assert "cxchange.measure.service" in loaded  # the probe saw the command's own modules
    never = [name for name in MUST_NOT_LOAD if not (url.startswith("postgresql") and "postgresql" in name)]
    heavy = sorted(m for m in loaded if any(m == name or m.startswith(name + ".") for name in never))
    assert heavy == [], f"`cxchange scores` imported modules it does not need: {heavy}"
