"""Where a large PostgreSQL import's time goes inside the server (issue 20), statement by statement.

    python bench/pg_import_phases.py [--rows 1000000] [--postgres URL]

Generates the export of `bench/ingest.py`, imports it with `cxchange import` into a fresh database,
keeps the stored rows as an UNLOGGED table `phase_rows` (feedback's columns, in id order: what the
importer COPies) and their CSV in a temporary file, then times on the emptied feedback table, each
experiment in its own transaction rolled back at the end (so each starts from the same empty table,
with the secondary btrees and the foreign keys dropped, as a first load does):

  row_by_row_*: the former first-load path, one INSERT … SELECT from the rows, ON CONFLICT (source_id,
      dedup_key) DO NOTHING, with the search index (GIN) kept in place, then without it, then without
      the ON CONFLICT as well (each under EXPLAIN (ANALYZE, BUFFERS, WAL)): the differences are what
      the GIN upkeep and the speculative insertion cost;
  set_based: the current first-load path (listen/pg_copy.py): COPY of the CSV into feedback with only
      its primary key, then the unique key, the search index, the three btrees and the foreign keys
      built, then ANALYZE, each timed;
  search_expression: the search index's expression alone over every row (its share of the build);
  copy: the same CSV COPied into a temporary table of text columns (parsing only), a temporary table
      of feedback's types, and a logged one (WAL): what a COPY of the importer's rows costs, by part;
  levers: what could make the first load cheaper, each against the set-based step it would replace:
      the search index built with maintenance_work_mem 64MB (the server's default), 256MB (before),
      1GB and 2GB; the btrees with and without parallel maintenance workers; COPY with the ids given
      (no nextval per row), then with the primary key dropped and built after; COPY in binary
      format (the server's parsing only; the rows written by the server itself) against csv.

Each step records its seconds and the WAL it wrote. The machine may be shared: the 1-minute load
average is recorded before and after; compare steps of the same run, not runs. Results:
bench/results/pg_import_phases.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest  # noqa: E402  (bench/ingest.py: the export and the import command)
import scale  # noqa: E402

COLUMNS = (
    "source_id, batch_id, external_id, dedup_key, content_hash, received_at, channel, customer_id, "
    "org_unit_id, attributes, nps, csat, ces, rating, rating_scale, text, customer_value"
)
# The search index's expression (cxchange.listen.search.TSVECTOR_SQL, migration 0013).
SEARCH = "to_tsvector('simple'::regconfig, regexp_replace(coalesce(text, ''), '[^[:alnum:]]+', ' ', 'g'))"
BTREES = ("received_at", "org_unit_id", "batch_id")
FOREIGN_KEYS = (
    ("batch_id", "import_batch"),
    ("org_unit_id", "org_unit"),
    ("source_id", "source"),
)
FIRST_LOAD_DROPS = (
    "DROP INDEX ix_feedback_received_at, ix_feedback_org_unit, ix_feedback_batch_id",
    "ALTER TABLE feedback DROP CONSTRAINT feedback_batch_id_fkey, "
    "DROP CONSTRAINT feedback_org_unit_id_fkey, DROP CONSTRAINT feedback_source_id_fkey",
)


class Steps:
    """Seconds and WAL bytes of each statement, on one connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.out: dict[str, dict[str, float]] = {}

    def run(self, name: str, sql: str) -> None:
        with self.step(name):
            self.conn.execute(sql)

    def explain(self, name: str, sql: str) -> None:
        """Run `sql` under EXPLAIN (ANALYZE, BUFFERS, WAL): what the statement touched, beside its time."""
        with self.step(name):
            plan = self.conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING off, FORMAT json) {sql}")
            top = plan.fetchone()[0][0]["Plan"]
        keys = ("Shared Hit Blocks", "Shared Read Blocks", "Shared Written Blocks", "WAL Records", "WAL FPI")
        self.out[name] |= {k.lower().replace(" ", "_"): top[k] for k in keys if k in top}

    def copy_in(self, name: str, target: str, csv_path: Path, fmt: str = "csv") -> None:
        copy = f"COPY {target} FROM STDIN (FORMAT {fmt})"
        with self.step(name), csv_path.open("rb") as fh, self.conn.cursor().copy(copy) as cp:
            while block := fh.read(1 << 20):
                cp.write(block)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        lsn = self.conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        t = time.perf_counter()
        yield
        seconds = time.perf_counter() - t
        wal = self.conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", (lsn,)).fetchone()[0]
        self.out[name] = {"seconds": round(seconds, 3), "wal_mb": round(float(wal) / 2**20, 1)}
        print(f"  {name}: {seconds:.2f} s, WAL {float(wal) / 2**20:.0f} MB", flush=True)


@contextmanager
def first_load(conn: Any, *, drop_search: bool = False, drop_unique: bool = False) -> Iterator[None]:
    """An empty feedback table as a first load sees it, inside a transaction rolled back afterwards."""
    with conn.transaction(force_rollback=True):
        # A new, empty file for feedback (rolled back with the rest): no dead entries to step over.
        conn.execute("TRUNCATE feedback CASCADE")
        for ddl in FIRST_LOAD_DROPS:
            conn.execute(ddl)
        if drop_search:
            conn.execute("DROP INDEX ix_feedback_text_search")
        if drop_unique:
            conn.execute("ALTER TABLE feedback DROP CONSTRAINT uq_feedback_source_dedup")
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")  # as listen/pg_copy.py
        yield


SEARCH_MEMORY = ("64MB", "256MB", "1GB", "2GB")


def levers(conn: Any, csv_path: Path, tmp: Path) -> dict[str, Any]:
    """Each lever of the first load timed on the same rows (see the module's docstring)."""
    steps = Steps(conn)
    with first_load(conn, drop_search=True, drop_unique=True):
        steps.copy_in("copy_csv_ids_from_sequence", f"feedback ({COLUMNS})", csv_path)
        for memory in SEARCH_MEMORY:
            conn.execute(f"SET LOCAL maintenance_work_mem = '{memory}'")  # fixed values above
            steps.run(f"search_index_{memory}", f"CREATE INDEX ix_search ON feedback USING gin ({SEARCH})")
            conn.execute("DROP INDEX ix_search")
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for workers in (0, 2):
            conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
            steps.run(
                f"unique_key_{workers}_workers", "CREATE UNIQUE INDEX uq ON feedback (source_id, dedup_key)"
            )
            for col in BTREES:
                steps.run(f"btree_{col}_{workers}_workers", f"CREATE INDEX ix_{col} ON feedback ({col})")
            conn.execute("DROP INDEX uq, " + ", ".join(f"ix_{col}" for col in BTREES))
    # The ids given in the CSV (what the importer would send after reserving a block of the sequence).
    with_ids = tmp / "rows_with_ids.csv"
    binary = tmp / "rows.bin"
    cur = conn.cursor()
    with with_ids.open("wb") as fh, cur.copy("COPY phase_rows_ids TO STDOUT (FORMAT csv)") as cp:
        for block in cp:
            fh.write(block)
    with binary.open("wb") as fh, cur.copy("COPY phase_rows_ids TO STDOUT (FORMAT binary)") as cp:
        for block in cp:
            fh.write(block)
    with first_load(conn, drop_search=True, drop_unique=True):
        steps.copy_in("copy_csv_ids_given", f"feedback (id, {COLUMNS})", with_ids)
    with first_load(conn, drop_search=True, drop_unique=True):
        conn.execute("ALTER TABLE feedback DROP CONSTRAINT feedback_pkey CASCADE")
        steps.copy_in("copy_csv_ids_given_no_primary_key", f"feedback (id, {COLUMNS})", with_ids)
        steps.run("primary_key_build", "ALTER TABLE feedback ADD PRIMARY KEY (id)")
    with first_load(conn, drop_search=True, drop_unique=True):
        steps.copy_in("copy_binary_ids_given", f"feedback (id, {COLUMNS})", binary, fmt="binary")
    return steps.out


def measure(url: str, csv_path: Path) -> dict[str, Any]:
    import psycopg

    insert = f"INSERT INTO feedback ({COLUMNS}) SELECT {COLUMNS} FROM phase_rows"
    conflict = " ON CONFLICT (source_id, dedup_key) DO NOTHING"
    results: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE phase_rows AS SELECT {COLUMNS} FROM feedback ORDER BY id")
        with csv_path.open("wb") as fh, conn.cursor().copy("COPY phase_rows TO STDOUT (FORMAT csv)") as cp:
            for block in cp:
                fh.write(block)
        conn.execute(
            f"CREATE UNLOGGED TABLE phase_rows_ids AS SELECT id, {COLUMNS} FROM feedback ORDER BY id"
        )
        conn.execute("VACUUM ANALYZE phase_rows")
        print("row by row (the former path):", flush=True)
        steps = Steps(conn)
        with first_load(conn):
            steps.explain("insert_on_conflict_with_search_index", insert + conflict)
        with first_load(conn, drop_search=True):
            steps.explain("insert_on_conflict_without_search_index", insert + conflict)
        with first_load(conn, drop_search=True):
            steps.explain("plain_insert_without_search_index", insert)
        results["row_by_row"] = steps.out
        print("set-based (the first-load path now):", flush=True)
        steps = Steps(conn)
        with first_load(conn, drop_search=True, drop_unique=True):
            steps.copy_in("copy_into_feedback", f"feedback ({COLUMNS})", csv_path)
            steps.run("unique_key", "ALTER TABLE feedback ADD CONSTRAINT uq UNIQUE (source_id, dedup_key)")
            steps.run("search_index", f"CREATE INDEX ix_search ON feedback USING gin ({SEARCH})")
            for col in BTREES:
                steps.run(f"btree_{col}", f"CREATE INDEX ix_{col} ON feedback ({col})")
            for col, parent in FOREIGN_KEYS:
                steps.run(
                    f"foreign_key_{col}", f"ALTER TABLE feedback ADD FOREIGN KEY ({col}) REFERENCES {parent}"
                )
            steps.run("analyze", "ANALYZE feedback")
        results["set_based"] = steps.out
        # The COPY alone, by what the server does with a row: parse text only (a temporary table of text
        # columns, no WAL), parse feedback's types (jsonb, timestamp, numbers), then a logged table.
        steps = Steps(conn)
        with conn.transaction(force_rollback=True):
            text_columns = ", ".join(f"{c} text" for c in COLUMNS.split(", "))
            conn.execute(f"CREATE TEMP TABLE copy_text ({text_columns})")
            conn.execute(f"CREATE TEMP TABLE copy_typed AS SELECT {COLUMNS} FROM feedback WITH NO DATA")
            conn.execute(f"CREATE TABLE copy_logged AS SELECT {COLUMNS} FROM feedback WITH NO DATA")
            for name in ("copy_text", "copy_typed", "copy_logged"):
                steps.copy_in(f"{name}_table", name, csv_path)
        results["copy"] = steps.out
        steps = Steps(conn)
        steps.run("search_expression", f"SELECT count({SEARCH}) FROM phase_rows")
        results["search_expression"] = steps.out["search_expression"]
        print("levers:", flush=True)
        results["levers"] = levers(conn, csv_path, csv_path.parent)
    row = results["row_by_row"]
    results["derived"] = {
        "search_index_upkeep_seconds": row["insert_on_conflict_with_search_index"]["seconds"]
        - row["insert_on_conflict_without_search_index"]["seconds"],
        "on_conflict_seconds": row["insert_on_conflict_without_search_index"]["seconds"]
        - row["plain_insert_without_search_index"]["seconds"],
        "set_based_total_seconds": round(sum(s["seconds"] for s in results["set_based"].values()), 3),
    }
    return results


def main() -> None:
    args = ingest.arguments(__doc__).parse_args()
    if not ingest.postgres_reachable(args.postgres):
        raise SystemExit(f"PostgreSQL is not reachable at {args.postgres}")
    cx = ingest.cxchange_executable()
    out: dict[str, Any] = {"rows": args.rows, "cpus": os.cpu_count(), "load_before": scale.load()}
    with tempfile.TemporaryDirectory() as tmp, scale.databases(args.postgres, "phases") as (url,):
        export = Path(tmp) / "export.csv"
        ingest.make_export(export, args.rows)
        imported = ingest.cxchange_import(cx, url, export, dict(os.environ))
        out["import"] = {k: imported[k] for k in ("wall_seconds", "imported", "timings")}
        print(f"imported {imported['imported']:,} rows in {imported['wall_seconds']:.1f} s", flush=True)
        out |= measure(url, Path(tmp) / "rows.csv")
    out["load_after"] = scale.load()
    d = out["derived"]
    print(
        f"row by row: search index upkeep {d['search_index_upkeep_seconds']:.1f} s, ON CONFLICT "
        f"{d['on_conflict_seconds']:.1f} s; set-based first load {d['set_based_total_seconds']:.1f} s "
        f"(search index {out['set_based']['search_index']['seconds']:.1f} s, its expression alone "
        f"{out['search_expression']['seconds']:.1f} s); "
        f"load average {out['load_before']} -> {out['load_after']}"
    )
    path = HERE / "results" / "pg_import_phases.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
