"""PostgreSQL's score roll-up answers exactly what SQL over feedback answers, intervals included, and
is never read when deletions made it stale (the next import counts it again)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine, delete, func, select

from cxchange.core.db import get_engine
from cxchange.core.period import ALL_TIME, Period
from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.listen import rollup
from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.measure.service import GroupedCounts, ScoreQuery, grouped_counts, scores
from cxchange.understand.explore import FeedbackFilter

ANSWERED = [
    ScoreQuery(metric="nps"),
    ScoreQuery(metric="nps", by=("month", "attr:region")),
    ScoreQuery(metric="nps", by=("org:region", "quarter")),
    ScoreQuery(metric="csat", by=("source", "channel")),
    ScoreQuery(metric="ces", by=("org:store",), where=("unit=R-NORTH",)),
    ScoreQuery(metric="rating", by=("year", "attr:nonexistent")),
    ScoreQuery(metric="nps", by=("unit",), where=("source=nps_survey", "channel=phone", "channel=store")),
    ScoreQuery(metric="nps", by=("month", "attr:segment"), ci="adjusted-wald"),
]


@pytest.fixture(scope="module")
def pg_demo(postgres_databases) -> Engine:  # type: ignore[no-untyped-def]
    with postgres_databases("cx_rollup_") as url:
        engine = get_engine(url)
        load_demo(engine, generate(rows=6_000, seed=3), analyse=False)
        # Rows without a date or without the region attribute count too.
        opts = ImportOptions(source="extra", map_options=("external_id=id", "nps=nps", "received_at=at"))
        extra = pl.DataFrame({"id": ["a", "b", "c"], "nps": ["10", "0", "7"], "at": ["", "2026-01-05", ""]})
        import_frame(engine, extra, opts)
        yield engine
        engine.dispose()


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(sorted(frame.columns), nulls_last=True)


@pytest.mark.parametrize("query", ANSWERED, ids=lambda q: f"{q.metric}-{'-'.join(q.by) or 'all'}")
def test_rollup_equals_sql(pg_demo: Engine, query: ScoreQuery) -> None:
    sql = grouped_counts(pg_demo, query, path="sql").frame
    fast = grouped_counts(pg_demo, query, path="rollup").frame
    assert fast.height and _sorted(sql).equals(_sorted(fast)), (sql, fast)


def test_scores_with_intervals_are_the_same(pg_demo: Engine) -> None:
    q = ScoreQuery(metric="nps", by=("month", "attr:region"), ci="adjusted-wald")
    auto = scores(pg_demo, q)  # the roll-up on PostgreSQL
    assert rollup.answers(q.by, period=ALL_TIME, columns={}, attrs={})
    from cxchange.measure import service

    frame = grouped_counts(pg_demo, q, path="sql")
    assert auto and len(auto) == frame.frame.select(list(q.by)).unique().height
    original = service.grouped_counts

    def sql_only(engine: Engine, query: ScoreQuery, path: str = "auto", **kw: bool) -> GroupedCounts:
        return original(engine, query, path="sql", **kw)

    try:
        service.grouped_counts = sql_only  # type: ignore[assignment]
        assert scores(pg_demo, q) == auto
    finally:
        service.grouped_counts = original


def test_unanswerable_queries_fall_back() -> None:
    assert not rollup.answers(("week",), period=ALL_TIME, columns={}, attrs={})
    assert not rollup.answers(("month",), period=Period(date(2026, 1, 1)), columns={}, attrs={})
    assert not rollup.answers(("attr:a", "attr:b"), period=ALL_TIME, columns={}, attrs={})
    assert not rollup.answers((), period=ALL_TIME, columns={}, attrs={"segment": ["x"]})


def test_deletion_makes_it_stale_until_the_next_import(postgres_databases) -> None:  # type: ignore[no-untyped-def]
    with postgres_databases("cx_rollup_del_") as url:
        engine = get_engine(url)
        opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
        import_frame(engine, pl.DataFrame({"id": ["a", "b"], "nps": ["10", "0"], "region": ["N", "S"]}), opts)
        q = ScoreQuery(by=("attr:region",))

        def total(path: str) -> int:
            return int(grouped_counts(engine, q, path=path).frame["__count"].sum())

        assert total("rollup") == total("sql") == 2
        with engine.begin() as conn:
            conn.execute(delete(Feedback).where(Feedback.external_id == "a"))
        assert rollup.counts(engine, "nps", q.by) is None  # stale: never read
        assert total("auto") == 1
        import_frame(engine, pl.DataFrame({"id": ["c"], "nps": ["9"], "region": ["N"]}), opts)
        assert total("rollup") == total("sql") == 2
        # A batch with a duplicate: its new rows are counted in SQL over the batch instead.
        import_frame(engine, pl.DataFrame({"id": ["c", "d"], "nps": ["9", "3"], "region": ["N", "E"]}), opts)
        assert total("rollup") == total("sql") == 3
        sql = grouped_counts(engine, q, path="sql").frame
        assert _sorted(sql).equals(_sorted(grouped_counts(engine, q, path="rollup").frame))
        engine.dispose()


COUNTED = [
    FeedbackFilter(),
    FeedbackFilter(source="extra"),
    FeedbackFilter(source="nps_survey"),
    FeedbackFilter(where=("unit=R-NORTH",)),
    FeedbackFilter(where=("unit=R-NORTH", "source=nps_survey")),
]


@pytest.mark.parametrize("f", COUNTED, ids=lambda f: "-".join([*f.where, f.source or ""]) or "all")
def test_explorer_counts_from_the_rollup_equal_sql(pg_demo: Engine, f: FeedbackFilter) -> None:
    """The explorer's exact count of many rows (all, of a source, of units) is the roll-up's 'rows'
    entries on PostgreSQL: the same number a count over feedback gives, rows without any score too."""
    from cxchange.understand import explore

    with pg_demo.connect() as conn:
        sql = int(conn.scalar(explore.filtered(pg_demo, select(func.count()).select_from(Feedback), f)) or 0)
    assert sql > 0 and explore._rollup_count(pg_demo, f) == sql
    assert explore.count(pg_demo, f, cap=10) == (sql, True)


def test_rows_without_a_score_are_counted_and_a_stale_rollup_is_not_read(postgres_databases) -> None:  # type: ignore[no-untyped-def]
    from cxchange.understand import explore

    with postgres_databases("cx_rollup_rows_") as url:
        engine = get_engine(url)
        opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "text=comment"))
        frame = pl.DataFrame(
            {"id": ["a", "b", "c"], "nps": ["10", "", ""], "comment": ["x", "only text", "y"]}
        )
        import_frame(engine, frame, opts)
        assert rollup.row_count(engine) == 3
        with engine.begin() as conn:
            conn.execute(delete(Feedback).where(Feedback.external_id == "a"))
        assert rollup.row_count(engine) is None  # stale: the explorer counts the rows
        assert explore.count(engine, FeedbackFilter(), cap=1) == (2, True)
        engine.dispose()


def test_row_counts_added_to_an_old_rollup_are_what_a_rebuild_counts(pg_demo: Engine) -> None:
    """Migration 0021 adds the 'rows' entries to a roll-up built before it counted rows: the same
    entries a whole rebuild makes."""
    from sqlalchemy import text

    entries = text(
        "SELECT month, source_id, org_unit_id, channel, n FROM feedback_rollup WHERE metric = 'rows' "
        "ORDER BY 1, 2, 3, 4"
    )
    with pg_demo.connect() as conn, conn.begin() as tx:
        rollup.rebuild(conn)
        rebuilt = conn.execute(entries).all()
        conn.execute(text("DELETE FROM feedback_rollup WHERE metric = 'rows'"))  # as before 0021
        rollup.add_row_counts(conn)
        assert conn.execute(entries).all() == rebuilt and rebuilt
        tx.rollback()
