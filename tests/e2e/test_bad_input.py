"""The "Bad input" sections of issues 15, 17 and 18 as a user meets them: `cxchange` as subprocesses on a
fresh SQLite store with its own org (eval/tour_bad_input.py tries every case and records the answers;
these are the ones a fix changed). Small: a few seconds each."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.e2e.conftest import Cx
from tests.e2e.world import PEOPLE, UNITS

import cxchange


@pytest.fixture
def sqlite_cx(tmp_path: Path) -> Cx:
    work = tmp_path / "work"
    work.mkdir()
    return Cx(f"sqlite:///{tmp_path / 'fresh.db'}", work)


def _org(cx: Cx) -> None:
    units, people = cx.workdir / "units.csv", cx.workdir / "people.csv"
    for path, header, rows in (
        (units, ["code", "name", "parent", "level"], UNITS),
        (people, ["name", "email", "unit", "role"], PEOPLE),
    ):
        with path.open("w", newline="") as f:
            csv.writer(f).writerows([header, *rows])
    cx.run("org", "import", str(units), "--people", str(people))


def _comments(cx: Cx, texts: list[str], source: str) -> None:
    """A file whose columns are cxchange's own field names: imported without --map."""
    today = date.today()
    path = cx.workdir / f"{source}.csv"
    stores = ["N1", "N2", "S1", "S2"]
    rows = [
        (
            f"{source}{i}",
            (today - timedelta(days=1 + (i * 7) % 400)).isoformat(),
            stores[i % 4],
            (i * 3) % 11,
            t,
        )
        for i, t in enumerate(texts)
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("external_id", "received_at", "org_unit", "nps", "text"), *rows])
    cx.run("import", str(path), "--source", source)


def test_outcomes_name_the_units_that_are_missing_or_overlap(sqlite_cx: Cx) -> None:
    cx = sqlite_cx
    _org(cx)
    _comments(cx, [f"the queue was long ({i})" if i % 2 else f"lovely staff ({i})" for i in range(200)], "s")
    start = (date.today() - timedelta(days=120)).isoformat()
    people = ("--framework", "kotter", "--sponsor", "ada@acme.test", "--owner", "ben@acme.test")
    nested = cx.run(
        "initiative",
        "create",
        "--name",
        "Nested",
        *people,
        "--units",
        "N,S",
        "--pilot-units",
        "N",
        "--control-units",
        "N1",
        "--start",
        start,
        ok=False,
    )
    assert "N1 (control) lies beneath N (pilot)" in nested.err
    made = cx.json(
        "initiative",
        "create",
        "--name",
        "Pilot only",
        *people,
        "--units",
        "N,S",
        "--pilot-units",
        "N",
        "--start",
        start,
    )
    outcome = cx.json("outcomes", str(made["id"]))
    assert outcome["mode"] == "before-after" and outcome["scope"]["codes"] == ["N"]
    assert any("no control units" in c and "--control-units" in c for c in outcome["caveats"])


def test_analyze_says_how_many_comments_are_not_in_english(sqlite_cx: Cx) -> None:
    cx = sqlite_cx
    _org(cx)
    other = [
        "La chambre était sale et le personnel très impoli.",
        "Das Zimmer war laut und das Frühstück kalt.",
    ]
    _comments(cx, [other[i % 2] if i % 3 else "the room was clean and quiet" for i in range(30)], "mixed")
    done = cx.run("analyze")
    assert "20 of 30 comments analysed are not in English (de 10, fr 10)" in done.err


def test_a_damaged_sentiment_lexicon_is_one_line_naming_it(sqlite_cx: Cx, tmp_path: Path) -> None:
    """A copy of the installed package with VADER's lexicon emptied (the worktree is not touched): before,
    every comment scored neutral, silently."""
    copy = tmp_path / "pkg"
    shutil.copytree(
        Path(cxchange.__file__).parent, copy / "cxchange", ignore=shutil.ignore_patterns("*.onnx")
    )
    (copy / "cxchange" / "understand" / "sentiment" / "data" / "vader_lexicon.txt").write_text("")
    env = {**os.environ, "PYTHONPATH": str(copy), "CXCHANGE_DATABASE_URL": sqlite_cx.url}
    done = subprocess.run(
        [sys.executable, "-m", "cxchange", "sentiment", "the staff were rude"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "pkg/cxchange/understand/sentiment/data/vader_lexicon.txt: holds 0 words" in line
    assert "reinstall" in line
