"""Two sources rated on 1-5 and 1-10 in one store, as a user imports and reads them (subprocesses, a fresh
database with its own org, on SQLite and PostgreSQL): each source's scale is said and kept at import,
and no score, comparison, impact or report averages the two scales together."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .conftest import Cx

UNITS = [
    ("CO", "Company", "", "company"),
    ("H1", "Harbour Hotel", "CO", "site"),
    ("A1", "Air Desk", "CO", "site"),
]
PEOPLE = [("Ann Lee", "ann@co.test", "CO", "admin")]
HOTEL = [4, 5, 3, 4, 5, 2]  # mean 3.83 on 1-5
AIRLINE = [8, 9, 6, 10, 7, 3]  # mean 7.17 on 1-10


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def _ratings(path: Path, unit: str, stars: list[int]) -> Path:
    days = [f"2026-{4 + i % 3:02d}-{1 + i % 27:02d}" for i in range(60)]
    rows = [(f"{unit}-{i}", unit, day, f"visit {i}", stars[i % len(stars)]) for i, day in enumerate(days)]
    return _write(path, ["id", "site", "date", "comment", "score"], rows)


def test_ratings_on_two_scales_are_never_averaged_together(cx: Cx) -> None:
    w = cx.workdir
    _write(w / "units.csv", ["code", "name", "parent", "level"], UNITS)  # type: ignore[arg-type]
    _write(w / "people.csv", ["name", "email", "unit", "role"], PEOPLE)  # type: ignore[arg-type]
    cx.run("org", "import", str(w / "units.csv"), "--people", str(w / "people.csv"))
    fields = ("--map", "external_id=id", "--map", "org_unit=site", "--map", "received_at=date", "--map",
              "text=comment", "--map", "rating=score")  # fmt: skip
    hotels, airline = _ratings(w / "hotels.csv", "H1", HOTEL), _ratings(w / "airline.csv", "A1", AIRLINE)

    # Import: the scale is said, and a source keeps its scale.
    read = cx.run("import", str(hotels), "--source", "hotels", *fields)
    assert "rating ('score') read as 1-5 (highest value 5; no --rating-scale given" in read.out
    declared = cx.run("import", str(airline), "--source", "airline", *fields, "--rating-scale", "10")
    assert "rating ('score') read as 1-10 (--rating-scale 10; highest value 10)" in declared.out
    other = cx.run("import", str(airline), "--source", "hotels", *fields, "--rating-scale", "10", ok=False)
    assert "source 'hotels' holds ratings on 1-5; this file is declared 1-10" in other.err

    # scores: one row per scale, never the mean of both (5.5).
    rows = cx.json("scores", "--metric", "rating")
    assert [(r["group"], r["n"], r["score"]) for r in rows] == [
        ({"scale": "1-5"}, 60, 3.83),
        ({"scale": "1-10"}, 60, 7.17),
    ]
    # (--by source, compare and the other refusals: tests/measure/test_rating_scope.py, in process.)

    # The report: a card per scale, and units, impact and drivers left out with the reason.
    cx.run("report", "--period", "2026-Q2", "--output", str(w / "r.html"))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (w / "r.html").read_text()))
    assert re.search(r"Rating \(1-5\) 3\.8 95 % CI .* n = 60", text)
    assert re.search(r"Rating \(1-10\) 7\.2 95 % CI .* n = 60", text)
    assert "Ratings by unit not computed: rating answers in scope" in text
    assert "Key drivers not computed: rating answers in scope" in text
    assert "Rating 5.5" not in text and "Rating (1-5) 5.5" not in text
