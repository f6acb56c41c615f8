"""Import benchmark: cxchange vs pandas (read_csv + to_sql) vs DuckDB (read_csv) vs SQLite's own floor.

    python bench/ingest.py [--rows 1000000] [--postgres URL | --no-postgres] [--keep]

Generates a realistic survey export (10 columns, 60 % of rows with a comment, a little personal data
to redact), imports it into fresh SQLite files three ways, each in its own process so that peak RSS
is that import's own, then times `scores --metric nps --by month --by attr:region` against the same
GROUP BY in DuckDB. Prints ratios; absolute seconds on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

OPENERS = ["", "Honestly, ", "Overall ", "To be fair ", "Well, ", "As a long-time customer, "]
CLAUSES = [
    "the staff were lovely",
    "the queue was endless",
    "delivery took three weeks",
    "great value for money",
    "the app keeps crashing",
    "I was on hold for 2 hours",
    "billing was wrong again",
    "the store was spotless",
    "refund still not received",
    "the manager sorted it quickly",
    "prices went up without notice",
    "product quality is excellent",
    "checkout was confusing",
    "the agent was rude",
    "fast and friendly",
]
CONNECT = [" but ", " and ", ", although ", ". Also ", "; "]
REGIONS = ["North", "South", "East", "West"]
SEGMENTS = ["consumer", "small business", "premium"]
PRODUCTS = ["mobile", "broadband", "tv", "bundle"]
CHANNELS = ["store", "phone", "chat", "email", "web", "app"]


def make_export(path: Path, rows: int, seed: int = 7) -> None:
    """Write the survey export in blocks with polars (vectorised; ~1M rows in a few seconds)."""
    import polars as pl

    rng = np.random.default_rng(seed)
    block = 200_000
    with path.open("w", encoding="utf-8", newline="") as out:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ids = np.arange(start, start + n)
            secs = rng.integers(0, 730 * 86400, n)
            a = rng.integers(0, len(CLAUSES), n)
            b = rng.integers(0, len(CLAUSES), n)
            comment = [
                OPENERS[i % len(OPENERS)] + CLAUSES[x] + CONNECT[i % len(CONNECT)] + CLAUSES[y] + "."
                for i, x, y in zip(ids.tolist(), a.tolist(), b.tolist(), strict=True)
            ]
            has = rng.random(n) < 0.6
            pii = rng.random(n) < 0.02
            comment = [
                (c + (" Call me on 020 7946 0958" if p else "")) if h else None
                for c, h, p in zip(comment, has.tolist(), pii.tolist(), strict=True)
            ]
            region = rng.integers(0, 4, n)
            frame = pl.DataFrame(
                {
                    "Response ID": [f"R{i:08d}" for i in ids.tolist()],
                    "Submitted At": (
                        np.datetime64("2024-11-01T00:00:00") + secs.astype("timedelta64[s]")
                    ).astype("datetime64[us]"),
                    "How likely are you to recommend us to a friend?": rng.choice(
                        11, n, p=[0.03, 0.02, 0.03, 0.04, 0.05, 0.07, 0.08, 0.14, 0.18, 0.18, 0.18]
                    ),
                    "Comment": comment,
                    "Region": np.array(REGIONS)[region],
                    "Store": [
                        f"S-{r}-{s:02d}"
                        for r, s in zip(region.tolist(), rng.integers(0, 10, n).tolist(), strict=True)
                    ],
                    "Segment": np.array(SEGMENTS)[rng.integers(0, 3, n)],
                    "Product": np.array(PRODUCTS)[rng.integers(0, 4, n)],
                    "Channel": np.array(CHANNELS)[rng.integers(0, 6, n)],
                    "Customer ID": [f"C{x:07d}" for x in rng.integers(0, 400_000, n).tolist()],
                }
            )
            out.write(frame.write_csv(include_header=start == 0, datetime_format="%Y-%m-%d %H:%M:%S"))


# Each runner executes in a fresh interpreter and prints one JSON line: its numbers and peak RSS (MB).
RUN_CXCHANGE = """
import json, resource, sys, time
from cxchange.core.db import get_engine
from cxchange.listen.service import ImportOptions, import_file
engine = get_engine(sys.argv[2])
t = time.perf_counter()
r = import_file(engine, sys.argv[1], ImportOptions(source="bench", kind="survey", close_loop=False))
s = time.perf_counter() - t
print(json.dumps({"seconds": s, "imported": r.imported, "rejected": r.rejected, "redacted": r.redacted,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
RUN_PANDAS = """
import json, resource, sqlite3, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
con = sqlite3.connect(sys.argv[2])
df.to_sql("feedback", con, index=False)
con.commit()
s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": s, "imported": len(df), "rss_mb": rss}))
"""
RUN_DUCKDB = """
import json, resource, sys, time
import duckdb
t = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE feedback AS SELECT * FROM read_csv(?)", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM feedback").fetchone()[0]
s = time.perf_counter() - t
q = '''SELECT strftime("Submitted At", '%Y-%m') AS month, "Region",
          count(*) FILTER (WHERE nps >= 9) AS p, count(*) FILTER (WHERE nps BETWEEN 7 AND 8) AS pa,
          count(*) FILTER (WHERE nps <= 6) AS d
       FROM (SELECT *, "How likely are you to recommend us to a friend?" AS nps FROM feedback)
       WHERE nps IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2'''
times = []
for _ in range(3):
    t = time.perf_counter(); rows = con.execute(q).fetchall(); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": s, "imported": n, "query_seconds": min(times), "groups": len(rows),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# SQLite's own limit: the rows cxchange stored (already parsed, validated, redacted) are copied into a
# staging table in another file (not timed); then a fresh cxchange schema, with its real indexes and
# the importer's connection settings, takes them with one INSERT ... SELECT ... ON CONFLICT DO NOTHING,
# all in C. Timed as the importer does it: drop the received_at index, insert, rebuild the index,
# commit ("floor"); then the search-index catch-up `cxchange import` also runs, with the WAL checkpoint
# beside it in a second connection ("+ search index").
RUN_FLOOR = """
import json, os, sys, threading, time
from cxchange.core.db import get_engine
from cxchange.listen.search import sync_search_index
from cxchange.listen.store import FEEDBACK_COLUMNS, sqlite_checkpoint, sqlite_import_session
cols = ", ".join(c for c in FEEDBACK_COLUMNS if c not in ("source_id", "batch_id"))
stage, dst = sys.argv[2] + ".stage", sys.argv[2]
engine = get_engine("sqlite:///" + dst)
with engine.connect() as conn, sqlite_import_session(conn):
    con = conn.connection.driver_connection
    con.isolation_level = None
    con.execute("ATTACH ? AS cx", [sys.argv[1]])
    con.execute("ATTACH ? AS st", [stage])
    con.execute(f"CREATE TABLE st.stage AS SELECT {cols} FROM cx.feedback ORDER BY id")
    con.execute("INSERT INTO source (id, name, kind, mapping, rating_scale, created_at) "
                "SELECT id, name, kind, mapping, rating_scale, created_at FROM cx.source")
    con.execute("INSERT INTO import_batch (id, source_id, file_name, status, rows_read, rows_imported, "
                "rows_duplicate, rows_rejected, rows_redacted, mapping, started_at) "
                "SELECT 1, 1, 'floor', 'running', 0, 0, 0, 0, 0, '{}', '2024-01-01' FROM cx.source LIMIT 1")
    con.execute("DETACH cx")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.execute("DROP INDEX ix_feedback_received_at")
    con.execute(f"INSERT INTO feedback (source_id, batch_id, {cols}) SELECT 1, 1, {cols} FROM st.stage "
                "WHERE true ON CONFLICT (source_id, dedup_key) DO NOTHING")
    n = con.execute("SELECT changes()").fetchone()[0]
    t_insert = time.perf_counter() - t
    con.execute("CREATE INDEX ix_feedback_received_at ON feedback (received_at)")
    con.execute("COMMIT")
    s = time.perf_counter() - t
    t = time.perf_counter()
    checkpoint = threading.Thread(target=sqlite_checkpoint, args=(engine,))
    checkpoint.start()
    sync_search_index(engine)  # the importer's own catch-up
    checkpoint.join()
    fts = time.perf_counter() - t
    con.execute("DETACH st")
    con.isolation_level = ""
os.remove(stage)
print(json.dumps({"seconds": s, "insert_seconds": t_insert, "fts_seconds": fts, "imported": n}))
"""
RUN_SCORES = """
import json, sys, time
from cxchange.core.db import get_engine
from cxchange.measure.service import ScoreQuery, scores
engine = get_engine(sys.argv[1])
times = []
for _ in range(4):
    t = time.perf_counter()
    rows = scores(engine, ScoreQuery(metric="nps", by=("month", "attr:Region")))
    times.append(time.perf_counter() - t)
# The first call on SQLite also builds the columnar copy (once per import); the rest are warm.
print(json.dumps({"query_seconds": min(times[1:]), "first_seconds": times[0], "groups": len(rows)}))
"""


def run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"runner failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--postgres",
        default=os.environ.get("CXCHANGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cxbench-"))
    export = work / "survey.csv"
    t = time.perf_counter()
    make_export(export, args.rows)
    print(
        f"generated {args.rows:,} rows ({export.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - t:.1f} s"
    )

    cx = run(RUN_CXCHANGE, str(export), f"sqlite:///{work / 'cx.db'}")
    pd_ = run(RUN_PANDAS, str(export), str(work / "pandas.db"))
    duck = run(RUN_DUCKDB, str(export), str(work / "duck.duckdb"))
    sc = run(RUN_SCORES, f"sqlite:///{work / 'cx.db'}")
    floor = run(RUN_FLOOR, str(work / "cx.db"), str(work / "floor.db"))

    rate = {k: v["imported"] / v["seconds"] for k, v in (("cxchange", cx), ("pandas", pd_), ("duckdb", duck))}
    print()
    print(f"{'import into SQLite':<34}{'seconds':>9}{'rows/s':>12}{'peak RSS MB':>13}")
    for name, res in (
        ("cxchange import (validate+dedup+redact)", cx),
        ("pandas read_csv+to_sql", pd_),
        ("duckdb read_csv (own file)", duck),
    ):
        print(
            f"{name[:33]:<34}{res['seconds']:>9.2f}"
            f"{res['imported'] / res['seconds']:>12,.0f}{res['rss_mb']:>13.0f}"
        )
    print(
        f"{'SQLite floor (INSERT..SELECT)':<34}{floor['seconds']:>9.2f}"
        f"{floor['imported'] / floor['seconds']:>12,.0f}{'':>13}"
    )
    with_fts = floor["seconds"] + floor["fts_seconds"]
    print(
        f"{'  + search index, as cxchange':<34}{with_fts:>9.2f}{floor['imported'] / with_fts:>12,.0f}{'':>13}"
    )
    print(f"cxchange: imported {cx['imported']:,}, rejected {cx['rejected']:,}, redacted {cx['redacted']:,}")
    print()
    print(f"ratio cxchange / pandas rows/s : {rate['cxchange'] / rate['pandas']:.2f}x  (target >= 2x)")
    print(f"ratio cxchange / duckdb rows/s : {rate['cxchange'] / rate['duckdb']:.2f}x")
    floor_rate = floor["imported"] / floor["seconds"]
    print(
        f"ratio SQLite floor / pandas    : {floor_rate / rate['pandas']:.2f}x insert+index+commit only "
        f"(insert alone {floor['imported'] / floor['insert_seconds'] / rate['pandas']:.2f}x; "
        f"with the search index {floor['imported'] / with_fts / rate['pandas']:.2f}x)"
    )
    fts_rate = floor["imported"] / with_fts
    print(f"ratio cxchange / SQLite floor  : {rate['cxchange'] / fts_rate:.2f}x (both with the search index)")
    print(f"cxchange peak RSS              : {cx['rss_mb']:.0f} MB (target < 500 MB)")
    print(
        f"scores nps by month x region   : cxchange {sc['query_seconds']:.3f} s ({sc['groups']} groups), "
        f"duckdb {duck['query_seconds']:.3f} s ({duck['groups']} groups)"
    )
    print(
        f"ratio scores cxchange / duckdb : {sc['query_seconds'] / duck['query_seconds']:.1f}x  "
        f"(target < 2 s and within 3x)"
    )
    print(f"first scores call after import : {sc['first_seconds']:.2f} s (builds the columnar copy)")

    if not args.no_postgres and postgres_reachable(args.postgres):
        import psycopg

        name = f"cxbench_{os.getpid()}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = args.postgres.rpartition("/")
        try:
            pg = run(RUN_CXCHANGE, str(export), f"{base}/{name}")
            psc = run(RUN_SCORES, f"{base}/{name}")
            print(
                f"PostgreSQL (COPY) import        : {pg['seconds']:.2f} s, "
                f"{pg['imported'] / pg['seconds']:,.0f} rows/s, {pg['rss_mb']:.0f} MB; "
                f"ratio vs pandas->SQLite {pg['imported'] / pg['seconds'] / rate['pandas']:.2f}x; "
                f"scores {psc['query_seconds']:.3f} s"
            )
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
