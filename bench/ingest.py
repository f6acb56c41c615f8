"""Import benchmark, whole commands as the user runs them: `cxchange import` and `cxchange scores` as
subprocesses of the installed CLI, next to pandas (read_csv + to_sql over sqlite3, and through
SQLAlchemy in chunks) and DuckDB, all in the same run.

    python bench/ingest.py [--rows 1000000] [--postgres URL | --no-postgres] [--keep] [--no-floor]
    python bench/ingest.py --mode postgres|cluster [--rows N]   (the team path: bench/scale.py)

Generates a realistic survey export (10 columns, 60 % of rows with a comment, a little personal data
to redact), imports it into fresh SQLite files, each command in its own process: wall time as the
user waits (from the parent), peak RSS of that process alone (`os.wait4`). Then the first and the
second `cxchange scores --metric nps --by month --by attr:Region` after the import, as whole commands,
against DuckDB's GROUP BY on the same rows. Prints ratios (absolute seconds on a shared machine are
noise) and writes everything to bench/results/ingest.json.
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
from typing import Any

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


def make_export(path: Path | str, rows: int | str, seed: int = 7) -> None:
    """Write the survey export in blocks with polars (vectorised; ~1M rows in a few seconds)."""
    import polars as pl

    path, rows = Path(path), int(rows)
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


# Anchors: each runs in a fresh interpreter (imports included, as a user's script would) and prints one
# JSON line with its own numbers; the parent adds the wall time and peak RSS of the whole process.
RUN_PANDAS = """
import json, sqlite3, sys, time
import pandas as pd
df = pd.read_csv(sys.argv[1])
con = sqlite3.connect(sys.argv[2])
df.to_sql("feedback", con, index=False)
con.commit()
print(json.dumps({"imported": len(df)}))
"""
RUN_PANDAS_SQLALCHEMY = """
import json, sys
import pandas as pd
from sqlalchemy import create_engine
engine = create_engine("sqlite:///" + sys.argv[2])
n = 0
with engine.begin() as conn:
    for chunk in pd.read_csv(sys.argv[1], chunksize=50_000):
        chunk.to_sql("feedback", conn, if_exists="append", index=False)
        n += len(chunk)
print(json.dumps({"imported": n}))
"""
RUN_DUCKDB = """
import json, sys, time
import duckdb
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE feedback AS SELECT * FROM read_csv(?)", [sys.argv[1]])
print(json.dumps({"imported": con.execute("SELECT count(*) FROM feedback").fetchone()[0]}))
"""
# DuckDB's answer to the same question as `scores --metric nps --by month --by attr:Region`: the
# query alone (best of three, in process) and the whole command (interpreter, import, connect, query).
RUN_DUCKDB_QUERY = """
import json, sys, time
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = '''SELECT strftime("Submitted At", '%Y-%m') AS month, "Region",
          count(*) FILTER (WHERE nps >= 9) AS p, count(*) FILTER (WHERE nps BETWEEN 7 AND 8) AS pa,
          count(*) FILTER (WHERE nps <= 6) AS d
       FROM (SELECT *, "How likely are you to recommend us to a friend?" AS nps FROM feedback)
       WHERE nps IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2'''
times = []
for _ in range(3):
    t = time.perf_counter(); rows = con.execute(q).fetchall(); times.append(time.perf_counter() - t)
print(json.dumps({"query_seconds": min(times), "groups": len(rows)}))
"""

# SQLite's own limit: the rows cxchange stored (already parsed, validated, redacted) are copied into a
# staging table in another file (not timed); then a fresh cxchange schema, with its real indexes and
# the importer's connection settings, takes them with one INSERT ... SELECT ... ON CONFLICT DO NOTHING,
# all in C. Timed as the importer does it: drop the received_at index, insert, rebuild the index,
# commit ("floor"); then the search-index catch-up `cxchange import` also runs, with the WAL checkpoint
# beside it in a second connection ("+ search index").
RUN_FLOOR = """
import json, os, resource, sys, threading, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
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
    t, c = time.perf_counter(), cpu()
    con.execute("BEGIN IMMEDIATE")
    con.execute("DROP INDEX ix_feedback_received_at")
    con.execute(f"INSERT INTO feedback (source_id, batch_id, {cols}) SELECT 1, 1, {cols} FROM st.stage "
                "WHERE true ON CONFLICT (source_id, dedup_key) DO NOTHING")
    n = con.execute("SELECT changes()").fetchone()[0]
    t_insert = time.perf_counter() - t
    con.execute("CREATE INDEX ix_feedback_received_at ON feedback (received_at)")
    con.execute("COMMIT")
    s, s_cpu = time.perf_counter() - t, cpu() - c
    t, c = time.perf_counter(), cpu()
    checkpoint = threading.Thread(target=sqlite_checkpoint, args=(engine,))
    checkpoint.start()
    sync_search_index(engine)  # the importer's own catch-up
    checkpoint.join()
    fts, fts_cpu = time.perf_counter() - t, cpu() - c
    con.execute("DETACH st")
    con.isolation_level = ""
os.remove(stage)
print(json.dumps({"seconds": s, "insert_seconds": t_insert, "fts_seconds": fts, "imported": n,
                  "cpu_seconds_in_sqlite": s_cpu, "fts_cpu_seconds": fts_cpu}))
"""


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


def compile_package() -> str:
    """Bytecode for the cxchange package, as `pip install` leaves an installed package. An editable
    install has none until a first run writes it, and under PYTHONDONTWRITEBYTECODE=1 (set on some
    machines) never does: every command would then compile cxchange's own modules from source, a
    cost no installed user's command pays. Returns what the timed commands ran with."""
    import importlib.util

    spec = importlib.util.find_spec("cxchange")
    if spec is None or not spec.submodule_search_locations:
        return "cxchange not importable here: bytecode as found"
    package = next(iter(spec.submodule_search_locations))
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True, stdout=subprocess.DEVNULL)
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return f"compiled before timing, as an installed package has it (PYTHONDONTWRITEBYTECODE={flag!r})"


def cxchange_executable() -> str:
    """The CLI installed beside this interpreter (`make bench` runs the venv's python)."""
    beside = Path(sys.executable).parent / "cxchange"
    found = str(beside) if beside.exists() else shutil.which("cxchange")
    if not found:
        raise SystemExit("cxchange is not installed beside this python: run `make venv` first")
    return found


def timed(argv: list[str], env: dict[str, str] | None = None, *, parse: bool = True) -> dict[str, Any]:
    """Run a whole command; wall seconds as its user waits, peak RSS of that process (MB), its JSON."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} … failed ({proc.returncode}):\n{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    parsed = json.loads(lines[-1]) if parse and lines else None  # the last line: its answer
    # CPU seconds (all threads) too: on a shared, busy machine wall time swings with the neighbours'
    # load from one command to the next, CPU time much less (it over-counts cxchange's two threads).
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_seconds": wall, "cpu_seconds": cpu, "rss_mb": usage.ru_maxrss / 1024, "json": parsed}


def python_runner(code: str, *args: str) -> dict[str, Any]:
    res = timed([sys.executable, "-c", code, *args])
    return {k: res[k] for k in ("wall_seconds", "cpu_seconds", "rss_mb")} | res["json"]


def count_cases(db: Path) -> int | None:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM cx_case").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        con.close()


def cxchange_import(cx: str, url: str, export: Path, env: dict[str, str]) -> dict[str, Any]:
    """`cxchange db upgrade` first (untimed: the schema a user's first command creates), then the import."""
    timed([cx, "--db", url, "db", "upgrade"], env, parse=False)
    res = timed([cx, "--db", url, "import", str(export), "--source", "bench", "--kind", "survey",
                 "--format", "json"], env)  # fmt: skip
    out = res["json"]
    return {
        "wall_seconds": res["wall_seconds"],
        "cpu_seconds": res["cpu_seconds"],
        "rss_mb": res["rss_mb"],
        "reported_seconds": out["seconds"],
        "timings": out.get("timings"),
        "imported": out["imported"],
        "rejected": out["rejected"],
        "redacted": out["redacted"],
        "cases_opened": out.get("cases_opened"),
    }


def cxchange_scores(cx: str, url: str, env: dict[str, str]) -> dict[str, Any]:
    res = timed([cx, "--db", url, "scores", "--metric", "nps", "--by", "month", "--by", "attr:Region",
                 "--format", "json"], env)  # fmt: skip
    return {k: res[k] for k in ("wall_seconds", "cpu_seconds", "rss_mb")} | {"groups": len(res["json"])}


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """The options every PostgreSQL bench shares: --rows, --postgres."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--postgres",
        default=os.environ.get("CXCHANGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    return ap


def main() -> None:
    ap = arguments(__doc__)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-floor", action="store_true", help="skip SQLite's INSERT ... SELECT floor")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument(
        "--mode",
        choices=("sqlite", "postgres", "cluster"),
        default="sqlite",
        help="sqlite: the default run (PostgreSQL import too, if reachable); postgres: import vs psql \\copy "
        "and first/second scores; cluster: analyze on 2 Dask workers vs one process "
        "(--rows rows, 60 %% with a comment)",
    )
    args = ap.parse_args()

    cx = cxchange_executable()
    work = Path(tempfile.mkdtemp(prefix="cxbench-"))
    export = work / "survey.csv"
    t = time.perf_counter()
    # In a child process: a child's peak RSS (os.wait4) starts from its parent's size at the fork, so
    # this process must never hold the export's frames.
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import ingest; ingest.make_export(*sys.argv[1:])"
    subprocess.run([sys.executable, "-c", code, str(export), str(args.rows)], check=True)
    print(
        f"generated {args.rows:,} rows ({export.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - t:.1f} s; commands run one at a time, each in its own process"
    )
    env = {**os.environ, "CXCHANGE_COLUMNAR": "true"}
    if args.mode != "sqlite":
        team_mode(args, cx, work, export, env)
        return
    url = f"sqlite:///{work / 'cx.db'}"
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    bytecode = compile_package()
    help_runs = [timed([cx, "--help"], env, parse=False)["wall_seconds"] for _ in range(3)]
    imp = cxchange_import(cx, url, export, env)
    imp["cases_in_database"] = count_cases(work / "cx.db")
    first = cxchange_scores(cx, url, env)
    second = cxchange_scores(cx, url, env)
    pd_ = python_runner(RUN_PANDAS, str(export), str(work / "pandas.db"))
    pd_sa = python_runner(RUN_PANDAS_SQLALCHEMY, str(export), str(work / "pandas_sa.db"))
    duck = python_runner(RUN_DUCKDB, str(export), str(work / "duck.duckdb"))
    duck_q = python_runner(RUN_DUCKDB_QUERY, str(work / "duck.duckdb"))
    floor = None if args.no_floor else python_runner(RUN_FLOOR, str(work / "cx.db"), str(work / "floor.db"))

    rate = {
        name: res["imported"] / res["wall_seconds"]
        for name, res in (("cxchange", imp), ("pandas", pd_), ("pandas_sqlalchemy", pd_sa), ("duckdb", duck))
    }
    print()
    head = f"{'import into SQLite (whole command)':<40}{'seconds':>9}{'CPU s':>8}"
    print(f"{head}{'rows/s':>12}{'peak RSS MB':>13}")
    for name, res in (
        ("cxchange import (validate+dedup+redact)", imp),
        ("pandas read_csv + to_sql (sqlite3)", pd_),
        ("pandas chunks + to_sql (SQLAlchemy)", pd_sa),
        ("duckdb read_csv (own file)", duck),
    ):
        print(
            f"{name[:39]:<40}{res['wall_seconds']:>9.2f}{res['cpu_seconds']:>8.2f}"
            f"{res['imported'] / res['wall_seconds']:>12,.0f}{res['rss_mb']:>13.0f}"
        )
    if floor is not None:
        with_fts = floor["seconds"] + floor["fts_seconds"]
        print(f"{'SQLite floor (INSERT..SELECT, in process)':<40}{floor['seconds']:>9.2f}")
        print(f"{'  + search index, as cxchange':<40}{with_fts:>9.2f}")
        floor_cpu = floor["cpu_seconds_in_sqlite"] + floor["fts_cpu_seconds"]
        print(
            f"SQLite's own CPU for cxchange's rows (insert, indexes, search index, checkpoint): "
            f"{floor_cpu:.2f} s, against pandas' whole command {pd_['cpu_seconds']:.2f} s"
        )
    print(
        f"cxchange: imported {imp['imported']:,}, rejected {imp['rejected']:,}, "
        f"redacted {imp['redacted']:,}, cases opened {imp['cases_opened']} "
        f"(cases in the database: {imp['cases_in_database']})"
    )
    print(f"cxchange timings: {imp['timings']}")
    print()
    ratios = {
        "import_vs_pandas": rate["cxchange"] / rate["pandas"],
        "import_vs_pandas_sqlalchemy": rate["cxchange"] / rate["pandas_sqlalchemy"],
        "import_vs_duckdb": rate["cxchange"] / rate["duckdb"],
        "reported_vs_wall": imp["reported_seconds"] / imp["wall_seconds"],
        "first_scores_vs_bound": first["wall_seconds"] / (3 * duck_q["query_seconds"] + 0.5),
        "import_vs_pandas_cpu": pd_["cpu_seconds"] / imp["cpu_seconds"],
    }
    if floor is not None:  # the best CPU ratio any importer storing these rows this way could reach
        ratios["sqlite_floor_vs_pandas_cpu"] = pd_["cpu_seconds"] / (
            floor["cpu_seconds_in_sqlite"] + floor["fts_cpu_seconds"]
        )
    print(
        f"ratio cxchange / pandas rows/s           : {ratios['import_vs_pandas']:.2f}x  "
        "(target >= 0.6x, aim 0.8x)"
    )
    print(
        f"same by CPU seconds (busy machine)       : {ratios['import_vs_pandas_cpu']:.2f}x "
        "(pandas CPU / cxchange CPU; cxchange's read-ahead thread counts too)"
    )
    print(f"ratio cxchange / pandas via SQLAlchemy   : {ratios['import_vs_pandas_sqlalchemy']:.2f}x")
    print(f"ratio cxchange / duckdb rows/s           : {ratios['import_vs_duckdb']:.2f}x")
    print(
        f"import seconds reported / wall           : {imp['reported_seconds']:.2f} / "
        f"{imp['wall_seconds']:.2f} s = {ratios['reported_vs_wall']:.2f} (target within 15 %)"
    )
    print(f"cxchange import peak RSS                 : {imp['rss_mb']:.0f} MB (target < 400 MB)")
    print(f"cxchange --help (start-up), best of 3    : {min(help_runs):.2f} s")
    print(
        f"scores nps by month x region, whole cmd  : first {first['wall_seconds']:.2f} s "
        f"(CPU {first['cpu_seconds']:.2f}), second {second['wall_seconds']:.2f} s "
        f"(CPU {second['cpu_seconds']:.2f}), {first['groups']} rows; duckdb query "
        f"{duck_q['query_seconds']:.3f} s ({duck_q['groups']} groups), "
        f"whole command {duck_q['wall_seconds']:.2f} s"
    )
    print(
        f"first scores / (3 x duckdb query + 0.5 s): {ratios['first_scores_vs_bound']:.2f} "
        "(target <= 1, and < 1 s)"
    )
    results: dict[str, Any] = {
        "rows": args.rows,
        "note": "whole commands, one at a time, on whatever else the machine was running",
        "bytecode": bytecode,
        "load_average_at_start": load_at_start,
        # 1, 5 and 15 minute load averages at the end: how busy "whatever else" was.
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cxchange_help_seconds": help_runs,
        "cxchange_import": imp,
        "scores_first": first,
        "scores_second": second,
        "pandas_to_sql_sqlite3": pd_,
        "pandas_to_sql_sqlalchemy_chunks": pd_sa,
        "duckdb_read_csv": duck,
        "duckdb_query": duck_q,
        "sqlite_floor": floor,
        "ratios": ratios,
    }

    if not args.no_postgres and postgres_reachable(args.postgres):
        import psycopg

        name = f"cxbench_{os.getpid()}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = args.postgres.rpartition("/")
        try:
            pg = cxchange_import(cx, f"{base}/{name}", export, env)
            psc = cxchange_scores(cx, f"{base}/{name}", env)
            print(
                f"PostgreSQL (COPY) import, whole command : {pg['wall_seconds']:.2f} s, "
                f"{pg['imported'] / pg['wall_seconds']:,.0f} rows/s, {pg['rss_mb']:.0f} MB; "
                f"ratio vs pandas->SQLite {pg['imported'] / pg['wall_seconds'] / rate['pandas']:.2f}x; "
                f"scores {psc['wall_seconds']:.2f} s"
            )
            results["postgres"] = {"import": pg, "scores": psc}
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2))
    print(f"results: {out / 'ingest.json'}")
    if not args.keep:
        shutil.rmtree(work)
    else:
        print(f"kept: {work}")


def team_mode(args: argparse.Namespace, cx: str, work: Path, export: Path, env: dict[str, str]) -> None:
    """--mode postgres | cluster (bench/scale.py); results in bench/results/ingest_<mode>.json."""
    sys.path.insert(0, str(HERE))
    import scale

    if not postgres_reachable(args.postgres):
        raise SystemExit(f"PostgreSQL is not reachable at {args.postgres}")
    try:
        if args.mode == "postgres":
            res = scale.postgres_mode(cx, export, args.postgres, env, timed, cxchange_import, cxchange_scores)
        else:
            res = scale.cluster_mode(cx, export, args.postgres, env, timed)
    finally:
        if not args.keep:
            shutil.rmtree(work)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    res = {"rows": args.rows, "cpus": os.cpu_count(), **res}
    # The PostgreSQL import at 10M rows has a file of its own (ingest_postgres_10m.json), so the 1M run
    # of `make bench` never overwrites it.
    suffix = "_10m" if args.mode == "postgres" and args.rows == 10_000_000 else ""
    path = out / f"ingest_{args.mode}{suffix}.json"
    path.write_text(json.dumps(res, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
