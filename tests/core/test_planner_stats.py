"""Bulk writers refresh PostgreSQL's planner statistics themselves (core/planner_stats.py)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from cxchange.core.planner_stats import planner_rows, refresh_if_grown, refresh_tables
from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.understand.analyze import analyze
from cxchange.understand.cli_taxonomy import builtin_taxonomy
from cxchange.understand.themes import taxonomy as tx


def _rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_analysis_leaves_its_tables_analysed(engine: Engine) -> None:
    load_demo(engine, generate(rows=600, seed=3), analyse=False)
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # as a server whose autovacuum has not run yet leaves them
            for t in ("feedback_sentiment", "feedback_theme"):
                conn.execute(text(f"DELETE FROM pg_statistic WHERE starelid = CAST('{t}' AS regclass)"))
                conn.execute(text(f"UPDATE pg_class SET reltuples = -1 WHERE oid = CAST('{t}' AS regclass)"))
    analyze(engine)
    if engine.dialect.name != "postgresql":
        assert refresh_tables(engine, [("feedback", 10**6)]) == []  # nothing to do on SQLite
        return
    with engine.connect() as conn:
        for t in ("feedback_sentiment", "feedback_theme"):
            assert _rows(engine, t) > 0
            assert planner_rows(conn, t) == _rows(engine, t), t  # ANALYZE counted every row


def test_refresh_only_when_the_write_is_a_noticeable_share(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    load_demo(engine, generate(rows=400, seed=5), analyse=False)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE feedback"))
        believed = planner_rows(conn, "feedback")
        assert believed == _rows(engine, "feedback")
        assert not refresh_if_grown(conn, "feedback", int(believed * 0.05))  # 5 %: left to autovacuum
        assert refresh_if_grown(conn, "feedback", int(believed * 0.2))
        assert not refresh_if_grown(conn, "feedback", 0)
