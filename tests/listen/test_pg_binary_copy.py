"""The PostgreSQL import sends its rows in COPY's binary format (listen/pg_copy.py, encoded by pgpq): what
the server stores is exactly the importer's values, awkward ones included (quotes, backslashes, line
breaks, non-ASCII text, JSON with nested quoting, nulls in every column, a time zone on a timestamp)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import text

from cxchange.core.db import get_engine
from cxchange.listen.pg_copy import binary_copy, wire_types
from cxchange.listen.store import FEEDBACK_COLUMNS

AWKWARD = 'a "quoted", back\\slash;\nnew line\ttab, \u00e9t\u00e9 \u4e2d\u6587 \U0001f600'
ROWS: dict[str, list[Any]] = {
    "source_id": [1, 2, 3],
    "batch_id": [7, 7, 7],
    "external_id": ["R1", None, ""],
    "dedup_key": ["k1", "k2", "k3"],
    "content_hash": ["abc", None, None],
    "received_at": [datetime(2025, 1, 31, 23, 59, 59, 123456), None, datetime(1999, 12, 31)],
    "channel": ["web", None, "app"],
    "customer_id": [None, "C2", None],
    "org_unit_id": [None, None, None],
    "attributes": ['{"Region": "North", "Q": "say \\"hi\\""}', None, '{"note": "\u00e9\\n"}'],
    "nps": [10, None, 0],
    "csat": [None, 5, None],
    "ces": [None, None, 7],
    "rating": [4.5, None, 0.1],
    "text": [AWKWARD, None, "plain"],
    "customer_value": [None, 1234.5678, -1.0],
    "rating_scale": [5, None, 5],
}


@pytest.fixture
def pg(postgres_url: str) -> Any:
    engine = get_engine(postgres_url)
    with engine.begin() as conn:
        cols = ", ".join(FEEDBACK_COLUMNS)
        conn.execute(
            text(f"CREATE TEMP TABLE wire ON COMMIT DROP AS SELECT {cols} FROM feedback WITH NO DATA")
        )
        yield conn


def _copy(conn: Any, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    data = binary_copy(frame.select(FEEDBACK_COLUMNS), wire_types(conn))
    cols = ", ".join(FEEDBACK_COLUMNS)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY wire ({cols}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(data)
    select = ", ".join(c if c != "attributes" else "attributes::text" for c in FEEDBACK_COLUMNS)
    return [tuple(r) for r in conn.execute(text(f"SELECT {select} FROM wire ORDER BY dedup_key")).all()]


def test_binary_copy_stores_exactly_the_values(pg: Any) -> None:
    frame = pl.DataFrame(ROWS, schema_overrides={"org_unit_id": pl.Int64})
    stored = _copy(pg, frame)
    expected = list(zip(*(ROWS[c] for c in FEEDBACK_COLUMNS), strict=True))
    for got, want in zip(stored, expected, strict=True):
        by_name = dict(zip(FEEDBACK_COLUMNS, got, strict=True))
        for name, value in zip(FEEDBACK_COLUMNS, want, strict=True):
            if name == "attributes" and value is not None:
                # jsonb normalises spacing; the parsed document is what must survive
                assert json.loads(by_name[name]) == json.loads(value)
            else:
                assert by_name[name] == value, name


def test_a_zoned_timestamp_keeps_its_wall_clock_time(pg: Any) -> None:
    rows = {**ROWS, "received_at": [datetime(2025, 6, 1, 12, 30), None, None]}
    frame = pl.DataFrame(rows, schema_overrides={"org_unit_id": pl.Int64}).with_columns(
        pl.col("received_at").dt.replace_time_zone("Europe/Paris")  # 12:30 in Paris (10:30 UTC)
    )
    stored = _copy(pg, frame)
    assert stored[0][FEEDBACK_COLUMNS.index("received_at")] == datetime(2025, 6, 1, 12, 30)


def test_a_value_too_long_for_its_column_fails_the_copy(pg: Any) -> None:
    from psycopg.errors import StringDataRightTruncation

    rows = {**ROWS, "channel": ["x" * 65, None, None]}  # channel is varchar(64)
    with pytest.raises(StringDataRightTruncation):
        _copy(pg, pl.DataFrame(rows, schema_overrides={"org_unit_id": pl.Int64}))
