"""A monthly roll-up of scores on PostgreSQL, brought up to date by the import that adds the rows.

`scores --by month --by attr:Region` over millions of rows is a GROUP BY over every feedback row, its
JSON attributes unpacked one row at a time: seconds at 1M rows, more at 10M. The roll-up holds, per
(month, source, org unit, channel) and score value, how many answers there are, once for the whole
row (attr_name '') and once per attribute the row has (attr_name, attr_value). Its size grows with
months × units × channels × attribute values, not with rows, so a query reads thousands of rows.

- The PostgreSQL import adds its rows' counts in its own transaction, so the roll-up is current when
  the batch commits, and never ahead: counted in polars from the importer's frames beside the COPY
  when every staged row was new (a first load), else in SQL over the batch's stored rows.
- Deleting or editing feedback bumps `feedback_changes` (a statement trigger, migration 0016); the
  roll-up remembers the counter it was built at, and a reader ignores a roll-up built at another value
  (answers from feedback instead); the next import rebuilds it.
- SQLite keeps its columnar copy instead (listen/columnar.py) and never writes this table.

Readers use it only for what it can answer exactly: month, quarter or year, source, channel, unit or
org level, at most one attribute, filtered by source or unit only.

Besides the scores it counts every row once (metric 'rows', value 0, whole-row entries only), with or
without a score: the explorer's exact count of all feedback, of a source or of units (`row_count`) is
a sum over it instead of a count over every row (1.1 s at 10M rows, on every new data version).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Connection, Engine, cast, func, select, text

from cxchange.core.period import Period
from cxchange.listen.rollup_tables import feedback_rollup, feedback_rollup_state
from cxchange.listen.tables import feedback_changes, source

WHOLE_ROW = ""  # attr_name of the entries that count the whole row


# Fixed SQL. {rows} is a relation with feedback's columns: one batch's rows, or all of feedback for a
# rebuild. Each answer counts once per metric it has, for the whole row and for
# each of its attributes.
_COUNTS = """
metrics AS (
    SELECT to_char(r.received_at, 'YYYY-MM') AS month, r.source_id, r.org_unit_id, r.channel,
           r.attributes, v.metric, v.value
    FROM {rows} r CROSS JOIN LATERAL (VALUES ('nps', r.nps::float8), ('csat', r.csat::float8),
                                             ('ces', r.ces::float8), ('rating', r.rating),
                                             ('rows', 0::float8)) AS v(metric, value)
    WHERE v.value IS NOT NULL
), grouped AS (
    SELECT month, source_id, org_unit_id, channel, attributes, metric, value, count(*) AS n
    FROM metrics GROUP BY month, source_id, org_unit_id, channel, attributes, metric, value
), entries AS (
    SELECT month, source_id, org_unit_id, channel, '' AS attr_name, NULL::text AS attr_value, metric, value, n
    FROM grouped
    UNION ALL
    SELECT g.month, g.source_id, g.org_unit_id, g.channel, a.key, a.value, g.metric, g.value, g.n
    FROM grouped g
    CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(g.attributes) = 'object'
                                            THEN g.attributes ELSE '{{}}'::jsonb END) AS a
    WHERE g.metric <> 'rows'
), added AS (
    INSERT INTO feedback_rollup (metric, attr_name, month, source_id, org_unit_id, channel, attr_value,
                                 value, n)
    SELECT metric, attr_name, month, source_id, org_unit_id, channel, attr_value, value, sum(n)
    FROM entries
    GROUP BY metric, attr_name, month, source_id, org_unit_id, channel, attr_value, value
    ON CONFLICT ON CONSTRAINT uq_feedback_rollup DO UPDATE SET n = feedback_rollup.n + excluded.n
)"""


def add_batch(conn: Connection, batch_id: int) -> None:
    """Add the rows of one batch (just inserted, in this transaction) to the roll-up, in SQL."""
    rows = "(SELECT * FROM feedback WHERE batch_id = :batch)"
    conn.execute(text("SET LOCAL jit = off"))  # compiling costs more than this statement saves
    conn.execute(text("WITH " + _COUNTS.format(rows=rows).strip() + " SELECT 1"), {"batch": batch_id})


_METRIC_COLUMNS = ("nps", "csat", "ces", "rating")
ROWS = "rows"  # the metric that counts every row (value 0), whole-row entries only
_KEY = ("metric", "attr_name", "month", "source_id", "org_unit_id", "channel", "attr_value", "value")


def partial_counts(rows: pl.DataFrame, source_id: int) -> pl.DataFrame | None:
    """The roll-up entries of validated rows about to be stored (the importer's own frame, counted in
    polars beside the COPY), or None when an attribute holds something other than text (then the
    batch is counted in SQL: PostgreSQL's text form of a JSON number is not always Python's)."""
    place = ("month", "source_id", "org_unit_id", "channel")
    base = rows.select(
        pl.col("received_at").dt.strftime("%Y-%m").alias("month"),
        pl.lit(source_id, dtype=pl.Int64).alias("source_id"),
        pl.col("org_unit_id").cast(pl.Int64),
        pl.col("channel").cast(pl.String),
        pl.col("attributes").cast(pl.String),
        *[pl.col(m).cast(pl.Float64) for m in _METRIC_COLUMNS],
        pl.lit(0.0, dtype=pl.Float64).alias(ROWS),
    )
    long = base.unpivot(
        index=[*place, "attributes"], on=[*_METRIC_COLUMNS, ROWS], variable_name="metric", value_name="value"
    ).drop_nulls("value")
    grouped = long.group_by([*place, "attributes", "metric", "value"]).agg(pl.len().cast(pl.Int64).alias("n"))
    whole = (
        grouped.group_by([*place, "metric", "value"])
        .agg(pl.col("n").sum())
        .with_columns(pl.lit(WHOLE_ROW).alias("attr_name"), pl.lit(None, dtype=pl.String).alias("attr_value"))
    )
    pairs: list[tuple[str, str, str | None]] = []
    for doc in grouped["attributes"].drop_nulls().unique().to_list():  # distinct attribute sets only
        parsed = json.loads(doc)
        if not isinstance(parsed, dict):
            continue  # as jsonb_each_text of a non-object: nothing
        for key, value in parsed.items():
            if value is not None and not isinstance(value, str):
                return None
            pairs.append((doc, key, value))
    keyed = pl.DataFrame(
        pairs, schema={"attributes": pl.String, "attr_name": pl.String, "attr_value": pl.String}, orient="row"
    )
    per = (
        grouped.filter(pl.col("metric") != ROWS)
        .join(keyed, on="attributes")
        .group_by([*place, "attr_name", "attr_value", "metric", "value"])
        .agg(pl.col("n").sum())
    )
    return pl.concat([whole.select(*_KEY, "n"), per.select(*_KEY, "n")], how="vertical_relaxed")


def merge_partials(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """One entry per key (nulls are equal keys, as in the table's NULLS NOT DISTINCT constraint)."""
    return pl.concat(frames, how="vertical_relaxed").group_by(list(_KEY)).agg(pl.col("n").sum())


def add_counts(conn: Connection, counts: pl.DataFrame) -> None:
    """Add counted entries to the roll-up: COPY into a temporary table, one upsert."""
    cols = ", ".join(_KEY)
    conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS feedback_rollup_stage ON COMMIT DROP AS "
            f"SELECT {cols}, n FROM feedback_rollup WITH NO DATA"
        )
    )
    conn.execute(text("TRUNCATE feedback_rollup_stage"))
    # Quoted text, unquoted empty nulls: COPY reads "" as the whole-row marker '' and nothing as NULL.
    buf = io.BytesIO()
    counts.select(*_KEY, "n").write_csv(buf, include_header=False, null_value="", quote_style="non_numeric")
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY feedback_rollup_stage ({cols}, n) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute(
            f"INSERT INTO feedback_rollup ({cols}, n) SELECT {cols}, n FROM feedback_rollup_stage "
            "ON CONFLICT ON CONSTRAINT uq_feedback_rollup DO UPDATE SET n = feedback_rollup.n + excluded.n"
        )


def _changes(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(feedback_changes.c.changes), 0))).scalar() or 0)


def _built_at(conn: Connection) -> int | None:
    state = feedback_rollup_state.c
    return conn.execute(select(state.changes).where(state.id == 1)).scalar()


def current(conn: Connection) -> bool:
    """The roll-up counts exactly the stored feedback (no deletion or edit since it was built)."""
    return _built_at(conn) == _changes(conn)


def rebuild(conn: Connection) -> None:
    """The roll-up from all of feedback (a migration, or an import after deletions or edits)."""
    conn.execute(text("DELETE FROM feedback_rollup"))
    conn.execute(text("WITH " + _COUNTS.format(rows="feedback").strip() + " SELECT 1"))
    conn.execute(text("DELETE FROM feedback_rollup_state"))
    conn.execute(
        text("INSERT INTO feedback_rollup_state (id, changes) VALUES (1, :c)"), {"c": _changes(conn)}
    )


_ROW_COUNTS = """
INSERT INTO feedback_rollup (metric, attr_name, month, source_id, org_unit_id, channel, attr_value, value, n)
SELECT 'rows', '', to_char(received_at, 'YYYY-MM'), source_id, org_unit_id, channel, NULL, 0, count(*)
FROM feedback GROUP BY 3, 4, 5, 6"""


def add_row_counts(conn: Connection) -> None:
    """The 'rows' entries of a current roll-up counted afresh from feedback (one plain GROUP BY, no
    JSON: what `rebuild` would give them, at a fraction of its cost); nothing when the roll-up is
    stale (the next import rebuilds it whole). For a roll-up built before it counted rows."""
    if not current(conn):
        return
    conn.execute(text("DELETE FROM feedback_rollup WHERE metric = 'rows'"))
    conn.execute(text(_ROW_COUNTS))


def ensure_current(conn: Connection) -> None:
    """Called by the PostgreSQL import before it adds rows: rebuild a roll-up deletions made stale."""
    if not current(conn):
        rebuild(conn)


def row_count(
    engine: Engine, *, source_names: Sequence[str] = (), unit_ids: Sequence[int] | None = None
) -> int | None:
    """How many feedback rows there are (of these sources, in these units), from the roll-up; None when
    it is not current or this is not PostgreSQL (the caller counts the rows)."""
    if engine.dialect.name != "postgresql":
        return None
    r = feedback_rollup.c
    stmt = select(func.coalesce(func.sum(r.n), 0)).where(r.metric == ROWS, r.attr_name == WHOLE_ROW)
    if source_names:
        stmt = stmt.where(r.source_id.in_(_source_ids(source_names)))
    if unit_ids is not None:
        stmt = stmt.where(r.org_unit_id.in_(list(unit_ids)))
    with engine.connect() as conn, conn.begin():
        if not current(conn):
            return None
        return int(conn.execute(stmt).scalar() or 0)


TIME_KEYS = ("month", "quarter", "year")
PLAIN_KEYS = ("source", "channel", "unit")


def answers(
    by: Sequence[str], *, period: Period, columns: dict[str, list[str]], attrs: dict[str, list[str]]
) -> bool:
    """Whether a scores query is one the roll-up answers exactly."""
    if period.bounded or attrs:
        return False
    if set(columns) - {"channel"}:
        return False
    if any(k in ("day", "week") for k in by):
        return False
    attr_keys = [k for k in by if k.startswith("attr:")]
    return len(attr_keys) <= 1 and all(
        k in TIME_KEYS or k in PLAIN_KEYS or k.startswith(("org:", "attr:")) for k in by
    )


def counts(
    engine: Engine,
    metric: str,
    by: Sequence[str],
    *,
    source_names: Sequence[str] = (),
    unit_ids: Sequence[int] | None = None,
    channels: Sequence[str] = (),
) -> pl.DataFrame | None:
    """(__time, __unit, source, channel, attr:…, __value, __count) as measure's SQL path returns them,
    from the roll-up; None when the roll-up is not current (the caller answers from feedback)."""
    attr = next((k for k in by if k.startswith("attr:")), None)
    grain = any(k in TIME_KEYS for k in by)
    unit = any(k == "unit" or k.startswith("org:") for k in by)
    r = feedback_rollup.c
    keys: list[Any] = []
    if grain:
        keys.append(r.month.label("__time"))
    if unit:
        keys.append(r.org_unit_id.label("__unit"))
    if "source" in by:
        keys.append(r.source_id.label("__source"))
    if "channel" in by:
        keys.append(r.channel.label("channel"))

    def query(attr_name: str) -> Any:
        cols = [*keys, r.attr_value.label("__attr")] if attr_name else list(keys)
        # sum(bigint) is numeric, which arrives as Decimal: cast back, so the frame takes plain ints.
        count = cast(func.sum(r.n), BigInteger).label("__count")
        stmt = select(*cols, r.value.label("__value"), count).where(
            r.metric == metric, r.attr_name == attr_name
        )
        if source_names:
            stmt = stmt.where(r.source_id.in_(_source_ids(source_names)))
        if unit_ids is not None:
            stmt = stmt.where(r.org_unit_id.in_(list(unit_ids)))
        if channels:
            stmt = stmt.where(r.channel.in_(list(channels)))
        return stmt.group_by(*cols, r.value)

    names = [c.key for c in keys]
    with engine.connect() as conn, conn.begin():
        if not current(conn):
            return None
        whole = _frame(conn.execute(query(WHOLE_ROW)).all(), [*names, "__value", "__count"])
        if attr is not None:
            per = _frame(conn.execute(query(attr[5:])).all(), [*names, "__attr", "__value", "__count"])
        source_map = dict(conn.execute(select(source.c.id, source.c.name)).all()) if "source" in by else {}
    if attr is not None:
        # Rows without the attribute are the whole-row count less those with a value for it.
        group = [*names, "__value"]
        has = (
            per.filter(pl.col("__attr").is_not_null())
            .group_by(group)
            .agg(pl.col("__count").sum().alias("__has"))
        )
        missing = (
            whole.join(has, on=group, how="left", nulls_equal=True)
            .with_columns((pl.col("__count") - pl.col("__has").fill_null(0)).alias("__count"))
            .filter(pl.col("__count") > 0)
            .select(*names, pl.lit(None, dtype=pl.String).alias("__attr"), "__value", "__count")
        )
        valued = per.filter(pl.col("__attr").is_not_null()).select(*names, "__attr", "__value", "__count")
        whole = pl.concat([valued, missing], how="vertical_relaxed").rename({"__attr": attr})
    if "source" in by:
        whole = whole.with_columns(
            pl.col("__source")
            .replace_strict(source_map, default=None, return_dtype=pl.String)
            .alias("source")
        ).drop("__source")
    return whole


def _source_ids(names: Sequence[str]) -> Any:
    return select(source.c.id).where(source.c.name.in_(list(names)))


def _frame(rows: Sequence[Any], columns: list[str]) -> pl.DataFrame:
    """The rows as a frame, built column by column: polars builds a frame from row tuples through a
    path that imports numpy (half a second of a `scores` command's start-up on a busy machine)."""
    schema: dict[str, Any] = {}
    for c in columns:
        if c in ("__unit", "__source", "__count"):
            schema[c] = pl.Int64
        elif c == "__value":
            schema[c] = pl.Float64
        else:
            schema[c] = pl.String
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    return pl.DataFrame(data, schema=schema)
