"""Decide page benchmark: the first load of /decide as a user waits for it, with 1,000,000 feedback rows
in SQLite. Whole HTTP requests (signed in with a bearer token) against a `cxchange serve` subprocess;
the import is a `cxchange import` subprocess. Same run, same machine.

    python bench/decide.py [--rows 1000000] [--db bench/out/web1m.db] [--import-rows 1000] [--no-compute]

Measured, in this order:
1. cold: a server just started (no in-memory cache), figures stored by the database's last write;
2. after an import: `cxchange import` of a small new file (timed as a whole command, which stores the
   figures of the new data version), then the first load on the same running server;
3. warm: the next load (in-memory cache);
4. compute (unless --no-compute): stored figures removed, server restarted: the first reader computes
   everything (what every first load cost before the figures were stored).
Anchor: the first /api/health of each server (the floor any page pays). Each load also reports the
server's CPU seconds for it (from /proc), and the import its CPU: on a shared machine the wall time is
mostly the queue for a core. Target (issue 14): first load
of /decide < 3 s at 1,000,000 rows. Results: bench/results/decide.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from web import ensure_db, start_server, tokens  # noqa: E402  (bench/web.py: same database and server)

TARGET_S = 3.0


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far: on a shared, busy machine the wall time
    mostly measures the queue for a core, this what the request itself cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(base: str, path: str, token: str) -> tuple[int, float, int]:
    started = time.perf_counter()
    r = httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=600)
    return r.status_code, round(time.perf_counter() - started, 3), len(r.content)


def _first_loads(url: str, token: str, label: str, results: dict[str, object]) -> None:
    proc, base = start_server(url, 1)
    try:
        status, health, _ = _get(base, "/api/health", token)
        cpu = _cpu(proc.pid)
        status, seconds, size = _get(base, "/decide", token)
        cpu = round(_cpu(proc.pid) - cpu, 2)
        load = {"status": status, "seconds": seconds, "server_cpu_s": cpu, "bytes": size}
        results[label] = {**load, "health_anchor_s": health}
        print(f"{label:28s} /decide {seconds:7.2f} s  (server CPU {cpu:.2f} s)  HTTP {status}  "
              f"(anchor /api/health {health:.3f} s)")  # fmt: skip
        if label == "cold":
            _after_import(url, base, token, results, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _after_import(url: str, base: str, token: str, results: dict[str, object], server: int) -> None:
    rows = int(results["import_rows"])  # type: ignore[call-overload]
    stamp = time.strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "decide-bench.csv"
        comments = ("the queue was long", "lovely staff, quick refund", "billing error again", "great app")
        body = "".join(f"db{stamp}-{i},{i % 11},{comments[i % 4]}\n" for i in range(rows))
        path.write_text("id,NPS,Comment\n" + body)
        started = time.perf_counter()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "cxchange", "import", str(path), "--source", "bench-decide",
             "--format", "json", "--db", url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        took = round(time.perf_counter() - started, 3)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        import_cpu = round(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime, 2)
    reported = json.loads(done.stdout).get("seconds")
    results["import_command_s"], results["import_reported_s"] = took, reported
    results["import_cpu_s"] = import_cpu
    print(f"{'import (whole command)':28s} {took:7.2f} s  (CPU {import_cpu:.2f} s; reported {reported} s)")
    for label in ("after_import", "warm"):
        cpu = _cpu(server)
        status, seconds, _ = _get(base, "/decide", token)
        cpu = round(_cpu(server) - cpu, 2)
        results[label] = {"status": status, "seconds": seconds, "server_cpu_s": cpu}
        print(f"{label:28s} /decide {seconds:7.2f} s  (server CPU {cpu:.2f} s)  HTTP {status}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=HERE / "out" / "web1m.db")
    ap.add_argument("--import-rows", type=int, default=1_000)
    ap.add_argument("--no-compute", action="store_true", help="skip the run without stored figures")
    args = ap.parse_args()

    url = ensure_db(args.db, args.rows)
    token = tokens(url)["admin"]
    with sqlite3.connect(args.db) as conn:
        stored_rows = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
    results: dict[str, object] = {"rows": stored_rows, "import_rows": args.import_rows, "target_s": TARGET_S}
    # How busy the machine was (1, 5, 15 minute load averages): on a shared one, wall times follow it.
    results["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    print(f"{stored_rows:,} feedback rows in {args.db}")
    _first_loads(url, token, "cold", results)
    if not args.no_compute:
        with sqlite3.connect(args.db) as conn:
            conn.execute("DELETE FROM decide_snapshot")
        _first_loads(url, token, "compute_nothing_stored", results)
    cold = results["cold"]["seconds"]  # type: ignore[index]
    after = results["after_import"]["seconds"]  # type: ignore[index]
    results["target_met"] = cold < TARGET_S and after < TARGET_S
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average {results['load_average_at_start']} -> {results['load_average_at_end']}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "decide.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'decide.json'}")


if __name__ == "__main__":
    main()
