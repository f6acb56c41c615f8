"""The import pipeline end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError
from cxchange.listen.browse import list_batches, list_rejects
from cxchange.listen.models import Feedback, ImportBatch, Source
from cxchange.listen.service import (
    ImportOptions,
    dry_run,
    frame_chunks,
    import_file,
    import_frame,
    import_table,
)
from cxchange.understand.explore import list_feedback

SURVEY = """Response ID,Submitted At,How likely are you to recommend us to a friend?,Comment,Region
r1,2025-01-02 10:00,10,"Great staff, call me on 020 7946 0958",North
r2,2025-01-03 11:00,3,"Queue was endless; mail me at jo@example.com",South
r3,2025-01-04 12:00,eleven,typo score,North
r4,not a date,8,fine,South
,,,,
r5,2025-01-06 09:00,9,,North
r6,2025-01-07 09:00,,,South
"""


def _write(tmp_path: Path, text: str, name: str = "survey.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Feedback)).scalar() or 0)


def test_import_counts_rejects_redaction_and_reimport(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, SURVEY)
    first = import_file(engine, path, ImportOptions(source="nps"))
    assert first.read == 7
    assert first.read == first.imported + first.duplicates + first.rejected
    # r3's score "eleven" is unreadable but its comment is kept, without the score, with a warning.
    assert (first.imported, first.rejected, first.warnings, first.redacted) == (4, 3, 1, 2)
    rejects = list_rejects(engine, first.batch_id)
    assert [r["row"] for r in rejects] == [5, 6, 8]
    assert "not a date" in rejects[0]["reason"] and "r4" in rejects[0]["raw"]
    warned = list_rejects(engine, first.batch_id, kind="warning")
    assert [w["row"] for w in warned] == [4] and "r3" in warned[0]["raw"]
    assert "eleven" in warned[0]["reason"] and warned[0]["column"].startswith("How likely")
    assert first.rejects_by_reason == [
        {"reason": "received_at: not a date", "rows": 1, "example_row": 5},
        {"reason": "empty row", "rows": 1, "example_row": 6},
        {"reason": "no feedback: text and every score are empty", "rows": 1, "example_row": 8},
    ]
    assert first.warnings_by_reason == [
        {
            "reason": "nps: not a whole number from 0 to 10 (row kept without the score)",
            "rows": 1,
            "example_row": 4,
        }
    ]
    texts = {f["external_id"]: f["text"] for f in list_feedback(engine)}
    assert texts["r3"] == "typo score"
    assert "[PHONE]" in texts["r1"] and "[EMAIL]" in texts["r2"] and "example.com" not in texts["r2"]
    assert list_feedback(engine, where=["Region=North"])[0]["attributes"]["Region"] == "North"

    again = import_file(engine, path, ImportOptions(source="nps"))
    assert (again.imported, again.duplicates, again.rejected, again.warnings) == (0, 4, 3, 1)
    assert _count(engine) == 4
    assert [b["status"] for b in list_batches(engine)] == ["complete", "complete"]


def test_content_hash_dedup_without_ids(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "Comment,Score\nlovely,9\nlovely,9\nawful,2\n")
    result = import_file(engine, path, ImportOptions(source="s", map_options=("nps=Score",)))
    assert (result.imported, result.duplicates) == (2, 1)
    assert import_file(engine, path, ImportOptions(source="s")).imported == 0


def test_source_remembers_mapping(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "ref,Q1,verbatim\na,9,good\nb,2,bad\n")
    import_file(
        engine, path, ImportOptions(source="odd", map_options=("nps=Q1", "text=verbatim", "external_id=ref"))
    )
    path2 = _write(tmp_path, "ref,Q1,verbatim\nc,10,great\n", "next.csv")
    result = import_file(engine, path2, ImportOptions(source="odd"))
    assert result.imported == 1
    with engine.connect() as conn:
        mapping = conn.execute(select(Source.mapping).where(Source.name == "odd")).scalar_one()
    assert mapping["nps"] == "Q1"
    assert list_feedback(engine, source="odd")[0]["nps"] == 10


def test_no_redact_keeps_text(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "Comment\nwrite to a@b.com\n")
    result = import_file(engine, path, ImportOptions(source="s", redact=False))
    assert result.redacted == 0
    assert list_feedback(engine)[0]["text"] == "write to a@b.com"


def test_batch_is_atomic_and_rerun_completes(engine: Engine) -> None:
    frame = pl.DataFrame({"external_id": [str(i) for i in range(10)], "nps": ["9"] * 10})
    info_chunks = list(frame_chunks(frame, chunk_rows=4))

    def crashing():  # type: ignore[no-untyped-def]
        yield info_chunks[0]
        raise RuntimeError("killed")

    from cxchange.listen.readers import TableInfo

    info = TableInfo(
        path="x", format="frame", compression=None, encoding=None, delimiter=None, columns=frame.columns
    )
    opts = ImportOptions(source="s", map_options=("external_id=external_id", "nps=nps"))
    with pytest.raises(RuntimeError):
        import_table(engine, info, crashing(), opts)
    assert _count(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0
    result = import_table(engine, info, iter(info_chunks), opts)
    assert result.imported == 10 and _count(engine) == 10


def test_bad_mapping_and_scale_errors(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "Comment,Stars\n" + "".join(f"c{i},{7 + i % 4}\n" for i in range(10)))
    with pytest.raises(InputError, match="does not exist"):
        import_file(engine, path, ImportOptions(source="s", map_options=("nps=Nope",)))
    with pytest.raises(InputError) as err:
        import_file(engine, path, ImportOptions(source="s", map_options=("rating=Stars",)))
    assert "row 2" in str(err.value) and "'Stars'" in str(err.value)
    ok = import_file(engine, path, ImportOptions(source="s", map_options=("rating=Stars",), rating_scale=10))
    assert ok.imported == 10
    assert _count(engine) == 10  # the failed attempts left nothing behind


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    report = dry_run(engine, _write(tmp_path, SURVEY), ImportOptions(source="nps"))
    assert report.mapping["nps"].startswith("How likely") and report.mapping["text"] == "Comment"
    assert report.read == 7 and report.valid == 4 and report.rejected == 3 and report.warnings == 1
    assert report.problems[0]["row"] == 5
    assert "Region" in report.attributes and len(report.preview) == 5
    assert _count(engine) == 0


def test_unknown_units_kept_as_attribute(engine: Engine, tmp_path: Path) -> None:
    from cxchange.org.tree import import_org_rows

    import_org_rows(
        engine,
        [{"code": "HQ", "name": "HQ", "parent": None}, {"code": "S1", "name": "Leeds", "parent": "HQ"}],
        [],
    )
    path = _write(tmp_path, "Comment,Store\nok,S1\nok too,Leeds\nwho,S9\n")
    import_file(engine, path, ImportOptions(source="s", map_options=("org_unit=Store",)))
    rows = {f["text"]: f for f in list_feedback(engine)}
    assert rows["ok"]["unit"] == "S1" and rows["ok too"]["unit"] == "S1"
    assert rows["who"]["unit"] is None and rows["who"]["attributes"]["org_unit"] == "S9"


def test_large_batch_rebuilds_indexes(engine: Engine) -> None:
    from sqlalchemy import inspect

    from cxchange.listen.readers import TableInfo

    frame = pl.DataFrame({"external_id": [str(i) for i in range(50)], "nps": ["7"] * 50})
    info = TableInfo(
        path="x", format="frame", compression=None, encoding=None, delimiter=None, columns=frame.columns
    )
    opts = ImportOptions(source="s", map_options=("external_id=external_id", "nps=nps"))
    result = import_table(engine, info, frame_chunks(frame), opts, expected_rows=500_000)
    assert result.imported == 50
    names = {ix["name"] for ix in inspect(engine).get_indexes("feedback")}
    assert {"ix_feedback_received_at", "ix_feedback_org_unit", "ix_feedback_batch_id"} <= names


def test_matched_units_add_no_attribute(engine: Engine, tmp_path: Path) -> None:
    from cxchange.org.tree import import_org_rows

    import_org_rows(engine, [{"code": "S1", "name": "Leeds", "parent": None}], [])
    import_file(engine, _write(tmp_path, "Comment,Store\nok,S1\n"), ImportOptions(source="s"))
    assert list_feedback(engine)[0]["attributes"] == {}


def test_batch_records_file_sha256(engine: Engine, tmp_path: Path) -> None:
    import hashlib

    path = _write(tmp_path, SURVEY)
    result = import_file(engine, path, ImportOptions(source="nps"))
    with engine.connect() as conn:
        stored = conn.execute(select(ImportBatch.sha256).where(ImportBatch.id == result.batch_id)).scalar()
    assert stored == hashlib.sha256(path.read_bytes()).hexdigest()


def test_multi_row_inserts_keep_first_of_duplicates_and_file_order(engine: Engine) -> None:
    # 1,029 rows in chunks of 900: multi-row INSERT statements (400 rows each on SQLite) plus a remainder
    # written one row at a time, with duplicates inside one statement, across statements and across
    # chunks; every other rating empty.
    ids = [str(i % 800) for i in range(1029)]
    ids[5] = ids[4]  # a duplicate inside the first statement
    frame = pl.DataFrame(
        {
            "external_id": ids,
            "text": [f"row {i}" for i in range(1029)],
            "rating": [str(1 + i % 5) if i % 2 else None for i in range(1029)],
        }
    )
    opts = ImportOptions(source="s", map_options=("external_id=external_id", "text=text", "rating=rating"))
    result = import_frame(engine, frame, ImportOptions(**{**opts.__dict__, "chunk_rows": 900}))
    assert (result.imported, result.duplicates) == (800, 229)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Feedback.external_id, Feedback.text, Feedback.rating, Feedback.rating_scale).order_by(
                Feedback.id
            )
        ).all()
    # The first of each id wins, in file order: id "5" first appears on row 805.
    assert [r.text for r in rows] == [f"row {i}" for i in range(800) if i != 5] + ["row 805"]
    assert all((r.rating is None) == (r.rating_scale is None) for r in rows)
    assert {r.rating_scale for r in rows if r.rating is not None} == {5}
    assert rows[1].rating == 2.0 and rows[0].rating is None
