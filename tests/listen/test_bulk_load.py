"""A large first load (indexes, and on PostgreSQL foreign keys, dropped and added back in the batch's
transaction): the same rows, duplicates and search answers as a small import, on SQLite and PostgreSQL,
and a failed batch leaves nothing behind, the schema included."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Engine, func, insert, inspect, select

from cxchange.listen.models import Feedback
from cxchange.listen.readers import TableInfo
from cxchange.listen.service import ImportOptions, frame_chunks, import_table
from cxchange.listen.store import BULK_ROWS
from cxchange.understand.explore import list_feedback

ROWS = 3_000


def _frame(rows: int = ROWS) -> pl.DataFrame:
    ids = [f"R{i:05d}" for i in range(rows)]
    ids[10] = ids[3]  # a duplicate inside the file: the first row of the key wins
    return pl.DataFrame(
        {
            "Response ID": ids,
            "Submitted At": [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00" for i in range(rows)],
            "NPS": [str(i % 11) for i in range(rows)],
            "Comment": [f"parcel number {i} arrived late" if i % 3 else None for i in range(rows)],
            "Region": [("North", "South")[i % 2] for i in range(rows)],
        }
    )


def _bulk(engine: Engine, frame: pl.DataFrame, source: str = "bulk") -> object:
    """Import as the CLI does a big file: small chunks, and a size hint past the bulk threshold."""
    info = TableInfo(path="bulk.csv", format="csv", compression=None, encoding=None, delimiter=",",
                     columns=frame.columns)  # fmt: skip
    return import_table(
        engine, info, frame_chunks(frame, 500), ImportOptions(source=source), expected_rows=BULK_ROWS
    )


def _schema(engine: Engine) -> tuple[set[str], set[str], object, set[str]]:
    """feedback's indexes, foreign keys and primary key, and the foreign keys pointing at it (with
    their ON DELETE): everything a first load drops and must put back."""
    insp = inspect(engine)
    indexes = {i["name"] for i in insp.get_indexes("feedback")}
    keys = {",".join(k["constrained_columns"]) for k in insp.get_foreign_keys("feedback")}
    primary = insp.get_pk_constraint("feedback")["constrained_columns"]
    pointing = {
        f"{table}.{','.join(k['constrained_columns'])} {k.get('options')}"
        for table in insp.get_table_names()
        for k in insp.get_foreign_keys(table)
        if k["referred_table"] == "feedback" and table != "feedback"
    }
    assert pointing  # cases, sentiments, themes… point at feedback
    return indexes, keys, primary, pointing


def test_first_bulk_load_keeps_dedup_search_and_schema(engine: Engine) -> None:
    before = _schema(engine)
    result = _bulk(engine, _frame())
    assert (result.imported, result.duplicates) == (ROWS - 1, 1)  # type: ignore[attr-defined]
    assert _schema(engine) == before  # every index and foreign key is back
    with engine.connect() as conn:
        first = conn.execute(select(Feedback.received_at).where(Feedback.external_id == "R00003")).scalar()
        ids = conn.execute(select(Feedback.external_id).order_by(Feedback.id).limit(3)).scalars().all()
    assert first is not None and first.month == 4  # row 3's date, not row 10's
    assert ids == ["R00000", "R00001", "R00002"]  # stored in file order
    found = list_feedback(engine, q="parcel number 2999", limit=5)
    assert [r["text"] for r in found] == ["parcel number 2999 arrived late"]
    again = _bulk(engine, _frame())  # not a first load any more: nothing new
    assert (again.imported, again.duplicates) == (0, ROWS)  # type: ignore[attr-defined]


def test_failed_bulk_load_leaves_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _schema(engine)
    from cxchange.listen import service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "write_rejects", broken)  # fails on the first chunk with a reject
    # every other row: a column with no date at all is refused before writing (dates.refuse_unreadable)
    odd = pl.int_range(pl.len()) % 2 == 0
    bad = pl.when(odd).then(pl.lit("not a date")).otherwise(pl.col("Submitted At"))
    frame = _frame().with_columns(bad.alias("Submitted At"))
    with pytest.raises(RuntimeError, match="disk full"):
        _bulk(engine, frame)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 0
    assert _schema(engine) == before


def test_first_load_with_duplicates_keeps_the_rollup_exact(engine: Engine) -> None:
    """PostgreSQL: the later row of a duplicated key is deleted inside the batch; that is no change of
    stored feedback (the counter derived copies watch stays put) and the roll-up counts the kept rows."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the roll-up and the first-load path are PostgreSQL's")
    from cxchange.listen import rollup
    from cxchange.listen.models import FeedbackChanges
    from cxchange.measure.service import ScoreQuery, grouped_counts

    frame = _frame().with_columns(
        pl.when(pl.int_range(pl.len()) == 10).then(pl.lit("0")).otherwise(pl.col("NPS")).alias("NPS")
    )  # row 10 (the duplicate of row 3) has another score: counting it would show
    with engine.begin() as conn:  # the counter's row, as migration 0002 seeds it (the fixture truncated it)
        if conn.execute(select(func.count()).select_from(FeedbackChanges)).scalar() == 0:
            conn.execute(insert(FeedbackChanges).values(id=1, changes=5))
        changes = conn.execute(select(func.max(FeedbackChanges.changes))).scalar()
    result = _bulk(engine, frame)
    assert (result.imported, result.duplicates) == (ROWS - 1, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(select(func.max(FeedbackChanges.changes))).scalar() == changes
        assert rollup.current(conn)
    query = ScoreQuery(metric="nps", by=("month", "attr:Region"))
    sql = grouped_counts(engine, query, path="sql").frame
    fast = grouped_counts(engine, query, path="rollup").frame
    order = sorted(sql.columns)
    assert sql.height and sql.select(order).sort(order).equals(fast.select(order).sort(order))
