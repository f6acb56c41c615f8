"""Nothing is dropped silently: unknown units, bad scores with comments, complaint records without
text, rejects and warnings by reason, mixed rating scales. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cxchange.cli import app
from cxchange.core.errors import InputError
from cxchange.listen.browse import list_batches, list_rejects
from cxchange.listen.models import ImportBatch
from cxchange.listen.service import ImportOptions, dry_run, import_file
from cxchange.org.tree import import_org_rows
from cxchange.understand.explore import list_feedback

UNITS = [{"code": "HQ", "name": "HQ", "parent": None}, {"code": "S1", "name": "Leeds", "parent": "HQ"}]


def _write(tmp_path: Path, lines: list[str], name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stored_summary(engine: Engine, batch_id: int | None) -> dict:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return conn.execute(select(ImportBatch.summary).where(ImportBatch.id == batch_id)).scalar_one()


def test_unknown_units_listed_with_row_counts_and_kept_as_attribute(engine: Engine, tmp_path: Path) -> None:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    rows = ["Comment,Store", "a,S1", "b,S9", "c,S9", "d,Nowhere", "e,"]
    rows += [f"x{i},U{i:02d}" for i in range(25)]  # 25 more unknown values, one row each
    path = _write(tmp_path, rows)
    options = ImportOptions(source="s", map_options=("org_unit=Store",))

    report = dry_run(engine, path, options)
    assert report.unknown_units[:2] == [{"value": "S9", "rows": 2}, {"value": "Nowhere", "rows": 1}]
    assert len(report.unknown_units) == 20  # the most frequent; the totals count them all
    assert (report.unknown_unit_values, report.unknown_unit_rows) == (27, 28)
    assert report.valid == 30 and report.rejected == 0

    result = import_file(engine, path, options)
    assert result.imported == 30
    assert result.unknown_units == report.unknown_units
    assert (result.unknown_unit_values, result.unknown_unit_rows) == (27, 28)
    stored = _stored_summary(engine, result.batch_id)
    assert stored["unknown_units"][0] == {"value": "S9", "rows": 2} and stored["unknown_unit_rows"] == 28
    by_text = {f["text"]: f for f in list_feedback(engine, limit=100)}
    assert by_text["a"]["unit"] == "S1" and by_text["a"]["attributes"] == {}
    assert by_text["b"]["unit"] is None and by_text["b"]["attributes"] == {"org_unit": "S9"}
    assert by_text["e"]["attributes"] == {}  # no unit given: nothing to keep, and no null attribute


def test_bad_score_with_comment_is_kept_with_a_warning(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        ["id,NPS,Comment", "1,9,great", "2,eleven,typo in the score", "3,12,", "4,,", "5,15,too keen"],
    )
    result = import_file(engine, path, ImportOptions(source="s", map_options=("nps=NPS",)))
    assert (result.read, result.imported, result.rejected, result.warnings) == (5, 3, 2, 2)
    assert result.read == result.imported + result.duplicates + result.rejected
    by_id = {f["external_id"]: f for f in list_feedback(engine)}
    assert by_id["2"]["nps"] is None and by_id["2"]["text"] == "typo in the score"
    assert by_id["5"]["nps"] is None and by_id["5"]["text"] == "too keen"
    warned = list_rejects(engine, result.batch_id, kind="warning")
    assert [(w["row"], w["column"]) for w in warned] == [(3, "NPS"), (6, "NPS")]
    assert "'eleven'" in warned[0]["reason"] and warned[0]["raw"] == "2,eleven,typo in the score"
    assert [r["row"] for r in list_rejects(engine, result.batch_id)] == [4, 5]
    assert result.warnings_by_reason == [
        {
            "reason": "nps: not a whole number from 0 to 10 (row kept without the score)",
            "rows": 2,
            "example_row": 3,
        }
    ]
    assert result.rejects_by_reason == [
        {"reason": "nps: not a whole number from 0 to 10", "rows": 1, "example_row": 4},
        {"reason": "no feedback: text and every score are empty", "rows": 1, "example_row": 5},
    ]
    assert list_batches(engine)[0]["warnings"] == 2


def test_complaint_records_without_narrative_are_kept(engine: Engine, tmp_path: Path) -> None:
    lines = [
        "Complaint ID,Date received,Product,Issue,Consumer complaint narrative",
        "c1,2025-01-02,Mortgage,Late fee,",
        "c2,2025-01-03,Credit card,Fraud,They charged me twice",
        "c3,2025-01-04,,Billing dispute,",
        "c4,2025-01-05,,,",
    ]
    path = _write(tmp_path, lines)
    result = import_file(engine, path, ImportOptions(source="cfpb", kind="complaint"))
    assert (result.imported, result.rejected, result.kept_without_text_or_score) == (3, 1, 2)
    assert result.rejects_by_reason[0]["reason"].startswith("no feedback")
    assert {f["external_id"]: f["attributes"]["Issue"] for f in list_feedback(engine)}[
        "c3"
    ] == "Billing dispute"
    # The source remembers its kind: the next export keeps such records without --kind.
    again = _write(tmp_path, [lines[0], "c5,2025-02-01,Mortgage,Escrow,"], "next.csv")
    assert import_file(engine, again, ImportOptions(source="cfpb")).kept_without_text_or_score == 1
    # A survey's row with neither text nor score says nothing: still rejected.
    survey = import_file(engine, path, ImportOptions(source="survey-like", kind="survey"))
    assert (survey.imported, survey.rejected, survey.kept_without_text_or_score) == (1, 3, 0)


def test_dry_run_counts_every_reject_by_reason(engine: Engine, tmp_path: Path) -> None:
    rows = ["When,NPS,Comment"] + [f"someday,{i % 11},c{i}" for i in range(30)]
    rows += ["2025-01-01,,"] * 5 + ["2025-01-02,7,fine"]
    report = dry_run(
        engine, _write(tmp_path, rows), ImportOptions(source="s", map_options=("received_at=When",))
    )
    assert report.rejected == 35 and len(report.problems) == 20
    assert report.rejects_by_reason == [
        {"reason": "received_at: not a date", "rows": 30, "example_row": 2},
        {"reason": "no feedback: text and every score are empty", "rows": 5, "example_row": 32},
    ]


def _ratings(scores: list[int]) -> list[str]:
    return ["Stars,Comment"] + [f"{s},comment {i}" for i, s in enumerate(scores)]


def test_mixed_rating_scales_stop_the_import_with_the_evidence(engine: Engine, tmp_path: Path) -> None:
    scores = [1 + i % 5 for i in range(180)] + [6 + i % 5 for i in range(20)]  # 10 % on 1-10
    path = _write(tmp_path, _ratings(scores))
    options = ImportOptions(source="r", map_options=("rating=Stars",))
    for attempt in (dry_run, import_file):
        with pytest.raises(InputError) as err:
            attempt(engine, path, options)  # type: ignore[operator]
        message = str(err.value)
        assert "'Stars'" in message and "mixes rating scales" in message
        assert "180 values fit 1-5, 20 fit 1-10 (first at row 182)" in message
        assert "--allow-mixed-scales" in message and "--rating-scale 10" in message
    assert list_batches(engine) == []

    allowed = import_file(engine, path, ImportOptions(**{**options.__dict__, "allow_mixed_scales": True}))
    assert (allowed.imported, allowed.rejected, allowed.warnings) == (200, 0, 20)
    assert allowed.mixed_scales == [
        {
            "field": "rating",
            "column": "Stars",
            "scale": "1-5",
            "in_scale": 180,
            "other_scales": [{"scale": "1-10", "values": 20, "first_row": 182}],
        }
    ]
    ratings = [f["rating"] for f in list_feedback(engine, limit=300)]
    assert max(r for r in ratings if r is not None) == 5 and ratings.count(None) == 20  # never rescaled


def test_a_column_whose_values_all_fit_one_to_ten_says_both_readings(engine: Engine, tmp_path: Path) -> None:
    """Skytrax's overall rating (1-10, most answers 1-5) read on the default 1-5 scale: the message offers
    --rating-scale 10 as well as the mix, and nothing is rescaled until the user says which."""
    scores = [1 + i % 10 for i in range(200)]
    path = _write(tmp_path, _ratings(scores))
    with pytest.raises(InputError) as err:
        import_file(engine, path, ImportOptions(source="r", map_options=("rating=Stars",)))
    message = str(err.value)
    assert "every value fits 1-10" in message and "--rating-scale 10" in message
    assert "mixes rating scales" in message and "--allow-mixed-scales" in message
    ten = ImportOptions(source="r", map_options=("rating=Stars",), rating_scale=10)
    result = import_file(engine, path, ten)
    assert (result.imported, result.warnings) == (200, 0)
    ratings = [f["rating"] for f in list_feedback(engine, limit=300)]
    assert max(ratings) == 10


def test_a_stray_value_is_a_warning_and_a_late_mix_still_stops(engine: Engine, tmp_path: Path) -> None:
    scores = [1 + i % 5 for i in range(400)]
    scores[100] = 9
    result = import_file(
        engine, _write(tmp_path, _ratings(scores)), ImportOptions(source="r", map_options=("rating=Stars",))
    )
    assert (result.imported, result.warnings) == (400, 1)
    assert result.mixed_scales[0]["other_scales"] == [{"scale": "1-10", "values": 1, "first_row": 102}]
    # A survey that changed scale late in a long history: the mix starts in a later chunk.
    late = [1 + i % 5 for i in range(300)] + [1 + i % 10 for i in range(100)]
    options = ImportOptions(source="late", map_options=("rating=Stars",), chunk_rows=100)
    with pytest.raises(InputError, match="mixes rating scales"):
        import_file(engine, _write(tmp_path, _ratings(late), "late.csv"), options)


def test_cli_dry_run_and_import_print_the_summary(engine: Engine, db_url: str, tmp_path: Path) -> None:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    rows = ["When,NPS,Comment,Store"] + [f"someday,5,c{i},S1" for i in range(25)]
    rows += ["2025-01-01,11,too keen,S1", "2025-01-02,8,fine,S42"]
    path = _write(tmp_path, rows)
    base = ["import", str(path), "--source", "s", "--map", "received_at=When", "--map", "org_unit=Store"]
    dry = CliRunner().invoke(app, [*base, "--dry-run", "--db", db_url])
    assert dry.exit_code == 0, dry.output
    assert "rejected rows (first 20 of 25)" in dry.output
    assert "rejected rows by reason (25)" in dry.output and "received_at: not a date" in dry.output
    assert "rows kept with a warning, by reason (1)" in dry.output
    assert "S42" in dry.output and "1 org_unit value(s) in 1 row(s) name no known unit" in dry.output

    done = CliRunner().invoke(app, [*base, "--format", "json", "--db", db_url])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert (out["imported"], out["rejected"], out["warnings"]) == (2, 25, 1)
    assert out["rejects_by_reason"] == [{"reason": "received_at: not a date", "rows": 25, "example_row": 2}]
    assert out["unknown_units"] == [{"value": "S42", "rows": 1}]
    warned = CliRunner().invoke(
        app, ["rejects", str(out["batch_id"]), "--warnings", "--format", "json", "--db", db_url]
    )
    assert [w["row"] for w in json.loads(warned.output)] == [27]
    listed = CliRunner().invoke(app, ["rejects", str(out["batch_id"]), "--format", "json", "--db", db_url])
    assert len(json.loads(listed.output)) == 25


def test_blank_dates_in_a_dated_column_are_kept_undated_and_said(engine: Engine, tmp_path: Path) -> None:
    """42 hotel reviews had an empty date in the dated column: stored undated (outside every trend)
    without a word, and a date of spaces was rejected as 'cannot read '' as a date'. Both are blank:
    kept, undated, each a warning naming its row; a real misreading is still rejected."""
    path = _write(
        tmp_path,
        ["id,date,rating,text", "1,2024-03-01,5,great", "2,,4,fine", "3,   ,3,meh", "4,soon,2,bad"],
    )
    options = ImportOptions(source="s", map_options=("received_at=date", "rating=rating", "external_id=id"))
    result = import_file(engine, path, options)
    assert (result.imported, result.rejected, result.warnings) == (3, 1, 2)
    assert result.warnings_by_reason == [
        {"reason": "received_at: empty (row kept undated)", "rows": 2, "example_row": 3}
    ]
    warned = list_rejects(engine, result.batch_id, kind="warning")
    assert [(w["row"], w["column"]) for w in warned] == [(3, "date"), (4, "date")]
    assert "kept undated" in warned[0]["reason"]
    assert [r["row"] for r in list_rejects(engine, result.batch_id)] == [5]
    by_id = {f["external_id"]: f for f in list_feedback(engine)}
    assert by_id["2"]["received_at"] is None and by_id["3"]["received_at"] is None
    assert result.stored_without == {}  # nothing was stored before
    again = import_file(engine, path, options)
    assert again.duplicates == 3 and again.stored_without == {"received_at": 2}
