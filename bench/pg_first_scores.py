"""The first `scores` on an existing PostgreSQL database (issue 20: < 1.5 s as a whole command at 10M rows).

    python bench/pg_first_scores.py --existing URL [--rounds 5] [--profile]

Times whole commands as the user waits them, interleaved round by round so the neighbours' load falls
on all of them alike: `cxchange --help` (the interpreter and the command line: the floor of any
command), then `cxchange scores --metric nps --by month --by attr:Region` twice (the first and the
second of the round). Each with its wall and CPU seconds, peak RSS and the 1-minute load average
before it. On a busy machine the CPU seconds of the command and the wall of `--help` beside it say
more than the wall of `scores` alone.

--profile: the same command once more, in this process's child, with every SQL statement it sends
timed, each SELECT run again under EXPLAIN (ANALYZE, BUFFERS), and cProfile's top functions (by
cumulative time): what, if anything, grows with the table.

Results: bench/results/pg_first_scores_<rows>.json (rows: the planner's count of feedback, in millions
above a million: _10m).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest  # noqa: E402  (timed whole commands, the installed CLI)

SCORES = ("scores", "--metric", "nps", "--by", "month", "--by", "attr:Region", "--format", "json")

# Run in a child: the command in process, its statements recorded by SQLAlchemy's cursor events,
# cProfile over the whole of it; one JSON line on stdout at exit (the CLI ends with os._exit after
# the atexit handlers, so the report is an atexit handler too).
_PROFILE = """
import atexit, cProfile, io, json, pstats, sys, time
argv = json.loads(sys.argv[1])
sys.argv = ["cxchange", *argv]  # the CLI mounts only the command it runs, as the installed script does
start = time.perf_counter()
from sqlalchemy import event
from sqlalchemy.engine import Engine
sent = []

@event.listens_for(Engine, "before_cursor_execute")
def _before(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("cx_started", []).append(time.perf_counter())

@event.listens_for(Engine, "after_cursor_execute")
def _after(conn, cursor, statement, parameters, context, executemany):
    began = conn.info["cx_started"].pop()
    sent.append({"at": time.perf_counter() - start, "seconds": time.perf_counter() - began,
                 "sql": statement, "parameters": parameters if isinstance(parameters, dict) else None})

profile = cProfile.Profile()

def report():
    profile.disable()
    total = time.perf_counter() - start
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(30)
    sys.stdout.write("\\n" + json.dumps({"seconds": total, "statements": sent,
                                         "profile": text.getvalue()}, default=str) + "\\n")
    sys.stdout.flush()

atexit.register(report)
profile.enable()
from cxchange.cli import main
main()
"""


def planner_rows(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'feedback'").fetchone()
    return int(row[0]) if row else 0


def explain(url: str, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each SELECT again under EXPLAIN (ANALYZE, BUFFERS), with the parameters it was sent with (as
    SQLAlchemy's psycopg dialect sent it: %(name)s placeholders, straight to psycopg)."""
    import psycopg

    out = []
    with psycopg.connect(url) as conn:
        for s in statements:
            if not s["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + s["sql"], s["parameters"] or None).fetchall()
            out.append({"sql": s["sql"], "plan": [r[0] for r in rows]})
        conn.rollback()
    return out


def profile(cx: str, url: str, env: dict[str, str]) -> dict[str, Any]:
    argv = ["--db", url, *SCORES]
    proc = subprocess.run(
        [sys.executable, "-c", _PROFILE, json.dumps(argv)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    statements = [{k: s[k] for k in ("at", "seconds", "sql")} for s in found["statements"]]
    return {
        "seconds_in_process": found["seconds"],
        "statements": statements,
        "statement_seconds": sum(s["seconds"] for s in statements),
        "explain": explain(url, found["statements"]),
        "cprofile_top": found["profile"].splitlines()[:60],
    }


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "median": statistics.median(values),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--existing", required=True, help="URL of a PostgreSQL database holding an import")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="also profile one scores command (statements)")
    args = ap.parse_args()

    cx = ingest.cxchange_executable()
    env = dict(os.environ)
    bytecode = ingest.compile_package()
    rows = planner_rows(args.existing)
    keys = ("wall_seconds", "cpu_seconds", "rss_mb")
    rounds: list[dict[str, Any]] = []
    for i in range(args.rounds):
        one: dict[str, Any] = {}
        for name, argv in (("help", [cx, "--help"]), ("scores_first", [cx, "--db", args.existing, *SCORES]),
                           ("scores_second", [cx, "--db", args.existing, *SCORES])):  # fmt: skip
            load = round(os.getloadavg()[0], 2)
            res = ingest.timed(argv, env, parse=name != "help")
            one[name] = {k: res[k] for k in keys} | {"load_before": load}
        rounds.append(one)
        print(
            f"round {i + 1}: --help {one['help']['wall_seconds']:.2f} s, scores first "
            f"{one['scores_first']['wall_seconds']:.2f} s (CPU {one['scores_first']['cpu_seconds']:.2f}), "
            f"second {one['scores_second']['wall_seconds']:.2f} s (CPU "
            f"{one['scores_second']['cpu_seconds']:.2f}); load {one['help']['load_before']}"
        )
    stats = {
        name: {k: summary([r[name][k] for r in rounds]) for k in ("wall_seconds", "cpu_seconds")}
        for name in ("help", "scores_first", "scores_second")
    }
    out: dict[str, Any] = {
        "rows": rows,
        "command": ["cxchange", "--db", "URL", *SCORES],
        "bytecode": bytecode,
        "cpus": os.cpu_count(),
        "note": "whole commands, interleaved per round: --help, scores, scores; load = 1-minute average",
        "rounds": rounds,
        "summary": stats,
        "scores_first_minus_help_wall": summary(
            [r["scores_first"]["wall_seconds"] - r["help"]["wall_seconds"] for r in rounds]
        ),
        "target_first_scores_seconds": 1.5,
    }
    if args.profile:
        out["profile"] = profile(cx, args.existing, env)
        slow = sorted(out["profile"]["statements"], key=lambda s: -s["seconds"])[:5]
        print(f"profile: {out['profile']['seconds_in_process']:.2f} s in process; slowest statements:")
        for s in slow:
            print(f"  {s['seconds']:.3f} s  {' '.join(s['sql'].split())[:150]}")
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    f, s = stats["scores_first"]["wall_seconds"], stats["help"]["wall_seconds"]
    print(
        f"{rows:,} rows: scores first {f['mean']:.2f} ± {f['sd']:.2f} s (median {f['median']:.2f}; target "
        f"< 1.5 s), --help {s['mean']:.2f} ± {s['sd']:.2f} s; load at end {out['load_average_at_end']}"
    )
    label = f"{round(rows / 1e6)}m" if rows >= 1_000_000 else str(rows)
    path = HERE / "results" / f"pg_first_scores_{label}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
