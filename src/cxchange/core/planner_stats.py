"""Planner statistics after bulk writes (PostgreSQL).

PostgreSQL plans from the statistics ANALYZE gathers. Autovacuum refreshes them eventually, but it may
be off (it is on some servers) or lag a bulk load by minutes; until then a table loaded in bulk is
planned as a few hundred rows. At a million feedback rows that turned the explorer's "negative +
theme" page into a hash join over every matching row (2 s) instead of a walk down the received_at
index stopping after one page (1 ms). So whoever writes many rows at once refreshes them itself.
SQLite: nothing to do here (its plans are steered in the queries; see understand/explore.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text

# ANALYZE when a write adds at least this share of the rows the planner believed the table had.
ANALYZE_SHARE = 0.1


def planner_rows(conn: Connection, table: str) -> float:
    """The planner's idea of `table`'s size (0 when never analysed: PostgreSQL stores -1 then)."""
    value = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    )
    return max(float(value.scalar() or 0), 0.0)


def refresh_if_grown(conn: Connection, table: str, added: int, *, believed: float | None = None) -> bool:
    """ANALYZE `table` when `added` new rows are a noticeable share of what the planner believed it
    held (or it was never analysed). `believed`: that size read before the write, when the write
    itself may have updated it (CREATE INDEX does). Returns whether it did. In the caller's transaction."""
    if conn.dialect.name != "postgresql" or added <= 0:
        return False
    if added < ANALYZE_SHARE * (planner_rows(conn, table) if believed is None else believed):
        return False
    # `table` is one of our own table names, never user input; ANALYZE takes no bound parameter.
    conn.execute(text(f"ANALYZE {table}"))
    return True


def refresh_tables(engine: Engine, added: Iterable[tuple[str, int]]) -> list[str]:
    """`refresh_if_grown` for each (table, rows added), one transaction; the tables analysed."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        return [name for name, n in added if refresh_if_grown(conn, name, n)]
