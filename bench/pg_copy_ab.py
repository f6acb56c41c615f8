"""The first load's COPY, three ways, alternated round by round on the same rows (issue 20): how much
binary COPY and dropping the primary key during the COPY save, with a spread, on a shared machine.

    python bench/pg_copy_ab.py [--rows 200000] [--rounds 5] [--postgres URL]

Imports the export of `bench/ingest.py` with `cxchange import` into a fresh database, keeps its stored
rows (with their ids), then in each round, each in its own rolled-back transaction on the emptied
feedback table (as `bench/pg_import_phases.py`'s first load: secondary btrees and foreign keys
dropped), in a rotating order so no variant always runs first:

  csv_with_primary_key: COPY … (FORMAT csv) into feedback with its primary key (the former path);
  binary_with_primary_key: the same rows in COPY's binary format;
  binary_then_primary_key: binary, the primary key dropped, then built after the COPY (the path now).

Prints and records mean ± sd seconds of each and the load average before and after. Results:
bench/results/pg_copy_ab.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest  # noqa: E402
import pg_import_phases as phases  # noqa: E402
import scale  # noqa: E402

TARGET = f"feedback (id, {phases.COLUMNS})"


def _copy(conn: Any, path: Path, fmt: str) -> float:
    t = time.perf_counter()
    with path.open("rb") as fh, conn.cursor().copy(f"COPY {TARGET} FROM STDIN (FORMAT {fmt})") as cp:
        while block := fh.read(1 << 20):
            cp.write(block)
    return time.perf_counter() - t


def csv_with_primary_key(conn: Any, files: dict[str, Path]) -> float:
    with phases.first_load(conn, drop_search=True, drop_unique=True):
        return _copy(conn, files["csv"], "csv")


def binary_with_primary_key(conn: Any, files: dict[str, Path]) -> float:
    with phases.first_load(conn, drop_search=True, drop_unique=True):
        return _copy(conn, files["binary"], "binary")


def binary_then_primary_key(conn: Any, files: dict[str, Path]) -> float:
    with phases.first_load(conn, drop_search=True, drop_unique=True):
        conn.execute("ALTER TABLE feedback DROP CONSTRAINT feedback_pkey CASCADE")
        seconds = _copy(conn, files["binary"], "binary")
        t = time.perf_counter()
        conn.execute("ALTER TABLE feedback ADD PRIMARY KEY (id)")
        return seconds + time.perf_counter() - t


VARIANTS = (csv_with_primary_key, binary_with_primary_key, binary_then_primary_key)


def main() -> None:
    ap = ingest.arguments(__doc__)
    ap.set_defaults(rows=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not ingest.postgres_reachable(args.postgres):
        raise SystemExit(f"PostgreSQL is not reachable at {args.postgres}")
    import psycopg

    cx = ingest.cxchange_executable()
    out: dict[str, Any] = {"rows": args.rows, "rounds": args.rounds, "cpus": os.cpu_count()}
    out["load_before"] = scale.load()
    times: dict[str, list[float]] = {v.__name__: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp, scale.databases(args.postgres, "copyab") as (url,):
        export = Path(tmp) / "export.csv"
        ingest.make_export(export, args.rows)
        ingest.cxchange_import(cx, url, export, dict(os.environ))
        files = {"csv": Path(tmp) / "rows.csv", "binary": Path(tmp) / "rows.bin"}
        with psycopg.connect(url, autocommit=True) as conn:
            query = f"SELECT id, {phases.COLUMNS} FROM feedback ORDER BY id"
            for fmt, path in files.items():
                with (
                    path.open("wb") as fh,
                    conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT {fmt})") as cp,
                ):
                    for block in cp:
                        fh.write(block)
            for r in range(args.rounds):
                for i in range(len(VARIANTS)):
                    variant = VARIANTS[(r + i) % len(VARIANTS)]
                    seconds = variant(conn, files)
                    times[variant.__name__].append(seconds)
                    print(f"round {r + 1} {variant.__name__}: {seconds:.2f} s", flush=True)
    out["seconds"] = {
        name: {"mean": round(statistics.mean(v), 3), "sd": round(statistics.stdev(v), 3), "all": v}
        for name, v in times.items()
    }
    out["load_after"] = scale.load()
    base = out["seconds"]["csv_with_primary_key"]["mean"]
    for name, s in out["seconds"].items():
        print(f"{name:26s} {s['mean']:.2f} ± {s['sd']:.2f} s ({s['mean'] / base:.2f}x of csv with the key)")
    print(f"load average {out['load_before']} -> {out['load_after']}")
    path = HERE / "results" / "pg_copy_ab.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
