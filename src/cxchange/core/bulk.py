"""Bulk writes and id look-ups that take the fast path of each database.

`insert_rows`: rows into a table inside the caller's transaction: PostgreSQL's COPY (one stream; the
server runs no statement per row: psycopg's executemany sends one INSERT per row, pipelined, which
was most of `analyze`'s write time), an executemany elsewhere. Same rows, same constraints checked,
the same SQLAlchemy errors (IntegrityError for a duplicate key).

`id_in`: `column IN (ids)` for thousands of ids: on PostgreSQL one array parameter (`= ANY(:ids)`)
instead of a bound parameter per id, which psycopg converted and the server planned one by one
(0.7 s of client CPU per 5,000-id partition of a Dask worker, bench/scale.py --mode cluster).

`inserted_id`: the id of the one row an INSERT adds, as an int (every table here has an integer key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Insert, any_, bindparam, insert
from sqlalchemy.exc import DBAPIError


def insert_rows(conn: Connection, table: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` (a Table, or a class's `__table__`) in
    `conn`'s transaction."""
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        raw: Any = conn.connection.driver_connection
        dbapi: Any = conn.dialect.loaded_dbapi
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi.Error as exc:  # as SQLAlchemy raises it for an INSERT: IntegrityError for a key, …
            raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
        return
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    if found:
        conn.execute(insert(table), found)


def id_in(column: Any, ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """`column` (a column or a mapped attribute) is one of `ids` (integers), as the fastest form for
    `dialect` says it."""
    found: ColumnElement[bool]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded already wherever this is PostgreSQL

        found = column == any_(bindparam("ids", [int(i) for i in ids], type_=ARRAY(BigInteger), unique=True))
    else:
        found = column.in_(list(ids))
    return found


def inserted_id(conn: Connection, statement: Insert) -> int:
    key = conn.execute(statement).inserted_primary_key
    if key is None:  # SQLAlchemy types it optional; an INSERT of one row always has one
        raise ValueError("the statement inserted no row")
    return int(key[0])
