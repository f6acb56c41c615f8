"""A/B of the whole `cxchange import` between another revision and this tree, rounds interleaved.

    python bench/import_ab.py --before REV [--rows 1000000] [--rounds 3] [--no-pandas] [--out FILE]

`--before REV`: a git revision of this repository; its `src` is exported to a temporary folder and run
with PYTHONPATH pointing there (the installed package, this tree, is the other side). Each round runs,
in an order that alternates between rounds (A B P, then P B A, ...), one whole import per side into a
fresh SQLite file (after an untimed `db upgrade`), then the first `cxchange scores` on it, and pandas'
read_csv + to_sql over sqlite3 (bench/ingest.py's anchor) on the same export, so all sides meet the same
neighbours' load. Recorded per run: wall and CPU seconds, peak RSS, the import's own timings, the load
average. Both sides must store the same rows (a digest of every feedback column with its SQLite type),
the same search index and the same `scores` answer, or the script fails.

Writes bench/results/import_ab.json (mean ± sd per side, ratios to pandas per round).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest import RUN_PANDAS, compile_package, cxchange_executable  # noqa: E402

SCORES = ["scores", "--metric", "nps", "--by", "month", "--by", "attr:Region", "--format", "json"]
_COLUMNS = (
    "source_id, batch_id, external_id, dedup_key, content_hash, received_at, channel, customer_id, "
    "org_unit_id, attributes, nps, csat, ces, rating, rating_scale, text, language, customer_value"
)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one whole command."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv[:5])} … failed:\n{err.read().decode()[-3000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def digest(db: Path) -> dict[str, Any]:
    """What an import stored: every feedback column's value and SQLite type, the search index's
    answers to a few words, the rejected rows."""
    con = sqlite3.connect(db)
    try:
        h = hashlib.sha256()
        quoted = " || '|' || ".join(f"quote({c.strip()})" for c in _COLUMNS.split(","))
        cur = con.execute(f"SELECT {quoted} FROM feedback ORDER BY id")
        while rows := cur.fetchmany(50_000):
            for (row,) in rows:
                h.update(row.encode())
        words = ("refund", "queue", "manager", "call")
        match = "SELECT count(*) FROM feedback_fts WHERE feedback_fts MATCH ?"
        fts = {w: con.execute(match, [w]).fetchone()[0] for w in words}
        return {
            "rows": con.execute("SELECT count(*) FROM feedback").fetchone()[0],
            "feedback_sha256": h.hexdigest(),
            "search_counts": fts,
            "rejected": con.execute("SELECT count(*) FROM rejected_row").fetchone()[0],
        }
    finally:
        con.close()


def cx_run(cx: str, csv: Path, env: dict[str, str], work: Path) -> dict[str, Any]:
    db = work / "cx.db"
    url = f"sqlite:///{db}"
    subprocess.run([cx, "--db", url, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    load = os.getloadavg()[0]
    argv = [cx, "--db", url, "import", str(csv), "--source", "bench", "--kind", "survey", "--format", "json"]
    wall, cpu, rss, out = run(argv, env)
    answer = json.loads(out.strip().splitlines()[-1])
    s_wall, s_cpu, _, scores = run([cx, "--db", url, *SCORES], env)
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_mb": rss,
        "load_1min": round(load, 2),
        "reported_seconds": answer["seconds"],
        "timings": answer.get("timings"),
        "imported": answer["imported"],
        "scores_wall": s_wall,
        "scores_cpu": s_cpu,
        "scores_sha256": hashlib.sha256(scores.encode()).hexdigest(),
        "stored": digest(db),
    }


def pandas_run(csv: Path, work: Path) -> dict[str, Any]:
    load = os.getloadavg()[0]
    argv = [sys.executable, "-c", RUN_PANDAS, str(csv), str(work / "pandas.db")]
    wall, cpu, rss, _ = run(argv, dict(os.environ))
    return {"wall": wall, "cpu": cpu, "rss_mb": rss, "load_1min": round(load, 2)}


def mean_sd(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="git revision of the other side")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "import_ab.json")
    args = ap.parse_args()

    cx = cxchange_executable()
    with tempfile.TemporaryDirectory(prefix="cximportab-") as tmp:
        root = Path(tmp)
        before = root / "before"
        before.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", args.before, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        src = before / "src"
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "cxchange")], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        bytecode = compile_package()
        git = ["git", "-C", str(HERE.parent)]
        after_rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "src"], check=True, capture_output=True)
        csv = root / "survey.csv"
        make = (
            f"import sys; sys.path.insert(0, {str(HERE)!r}); import ingest; ingest.make_export(*sys.argv[1:])"
        )
        subprocess.run([sys.executable, "-c", make, str(csv), str(args.rows)], check=True)
        env = {**os.environ, "CXCHANGE_COLUMNAR": "true"}
        sides: dict[str, Any] = {"before": {**env, "PYTHONPATH": str(src)}, "after": env}
        order = ["before", "after"] + ([] if args.no_pandas else ["pandas"])
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in order}
        load_start = [round(x, 2) for x in os.getloadavg()]
        for r in range(args.rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                work = root / f"{name}-{r}"
                work.mkdir()
                res = pandas_run(csv, work) if name == "pandas" else cx_run(cx, csv, sides[name], work)
                runs[name].append(res)
                print(
                    f"round {r} {name:6s} wall {res['wall']:6.2f} s  CPU {res['cpu']:6.2f} s  "
                    f"RSS {res['rss_mb']:4.0f} MB  load {res['load_1min']}",
                    flush=True,
                )
                subprocess.run(["rm", "-rf", str(work)], check=True)
    stored = {n: {json.dumps(r["stored"], sort_keys=True) for r in runs[n]} for n in ("before", "after")}
    scores = {name: {r["scores_sha256"] for r in runs[name]} for name in ("before", "after")}
    same = stored["before"] == stored["after"] and len(stored["after"]) == 1
    same_scores = scores["before"] == scores["after"] and len(scores["after"]) == 1
    summary: dict[str, Any] = {}
    for name, rs in runs.items():
        summary[name] = {k: mean_sd([x[k] for x in rs]) for k in ("wall", "cpu", "rss_mb")}
        if name != "pandas":
            summary[name]["scores_wall"] = mean_sd([x["scores_wall"] for x in rs])
            steps = sorted({k for x in rs for k in (x["timings"] or {})})
            summary[name]["timings_mean"] = {
                k: round(statistics.fmean([(x["timings"] or {}).get(k, 0.0) for x in rs]), 3) for k in steps
            }
    if "pandas" in runs:  # rows/s ratio within each round: both met the same neighbours
        for name in ("before", "after"):
            per_round = [p["wall"] / c["wall"] for c, p in zip(runs[name], runs["pandas"], strict=True)]
            summary[name]["vs_pandas_per_round"] = per_round
            summary[name]["vs_pandas"] = mean_sd(per_round)
    results = {
        "rows": args.rows,
        "rounds": args.rounds,
        "before": args.before,
        "after": after_rev.stdout.decode().strip()
        + (" + uncommitted changes" if dirty.stdout.strip() else ""),
        "bytecode": bytecode,
        "load_average_at_start": load_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "same_rows_search_and_rejects": same,
        "same_scores": same_scores,
        "stored": json.loads(next(iter(stored["after"]))),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for name, s in summary.items():
        line = f"{name:6s} wall {s['wall']['mean']:.2f} ± {s['wall']['sd']:.2f} s  "
        line += f"CPU {s['cpu']['mean']:.2f} ± {s['cpu']['sd']:.2f} s  RSS max {s['rss_mb']['max']:.0f} MB"
        if "vs_pandas" in s:
            line += f"  vs pandas {s['vs_pandas']['mean']:.2f} ± {s['vs_pandas']['sd']:.2f}x"
        if "scores_wall" in s:
            line += f"  first scores {s['scores_wall']['mean']:.2f} s"
        print(line)
    print(f"same rows, search and rejects: {same}; same scores: {same_scores}; load {load_start} -> "
          f"{results['load_average_at_end']}")  # fmt: skip
    print(f"results: {args.out}")
    if not (same and same_scores):
        raise SystemExit("the two sides stored or answered differently")


if __name__ == "__main__":
    main()
