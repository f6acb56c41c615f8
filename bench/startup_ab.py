"""A/B of two cxchange trees on the same database, whole commands alternating, for a busy machine.

    python bench/startup_ab.py --before-src DIR --db sqlite:///PATH/cx.db [--rounds 10]

`--before-src`: the `src` folder of another checkout (e.g. `git archive c3610b4 src | tar -x -C DIR`);
the other side is the installed package (this tree). Each round runs `cxchange scores --metric nps --by
month --by attr:Region --format json` and `cxchange --help` once per side, the sides alternating, so
both see the same neighbours' load; CPU seconds (user + system of the command, all its threads) move
much less with that load than wall time. Both trees' bytecode is compiled first (as an installed
package has it). The two sides' scores outputs must be byte-identical. Writes
bench/results/startup_ab.json.

`--import-csv FILE --import-rounds N`: also the whole `cxchange import` of FILE into a fresh SQLite
database per run (after an untimed `db upgrade`), the sides alternating: wall, CPU and peak RSS, to
show a change to the read path costs the import nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest import compile_package, cxchange_executable  # noqa: E402

SCORES = ["scores", "--metric", "nps", "--by", "month", "--by", "attr:Region", "--format", "json"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds, stdout) of one whole command."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv[:5])} … failed")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, out.read()


def run_import(cx: str, csv: Path, env: dict[str, str]) -> dict[str, float]:
    """One whole `cxchange import` of `csv` into a fresh database: wall, CPU seconds, peak RSS (MB)."""
    with tempfile.TemporaryDirectory(prefix="cxab-") as work:
        url = f"sqlite:///{work}/cx.db"
        subprocess.run([cx, "--db", url, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        argv = [
            cx,
            "--db",
            url,
            "import",
            str(csv),
            "--source",
            "bench",
            "--kind",
            "survey",
            "--format",
            "json",
        ]
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("cxchange import failed")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before-src", required=True, type=Path)
    ap.add_argument("--db", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "startup_ab.json")
    ap.add_argument("--import-csv", type=Path, help="also A/B the whole import of this export")
    ap.add_argument("--import-rounds", type=int, default=3)
    args = ap.parse_args()

    cx = cxchange_executable()
    before = args.before_src.resolve()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(before / "cxchange")], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    bytecode = compile_package()
    base_env = {**os.environ, "CXCHANGE_COLUMNAR": "true"}
    sides = {"before": {**base_env, "PYTHONPATH": str(before)}, "after": base_env}
    load_start = [round(x, 2) for x in os.getloadavg()]
    samples: dict[str, dict[str, list[float]]] = {
        side: {k: [] for k in ("scores_wall", "scores_cpu", "help_wall", "help_cpu")} for side in sides
    }
    outputs: dict[str, bytes] = {}
    run([cx, "--db", args.db, *SCORES], base_env)  # untimed: the copy is current, the page cache warm
    for _ in range(args.rounds):
        for side, env in sides.items():
            wall, cpu, out = run([cx, "--db", args.db, *SCORES], env)
            samples[side]["scores_wall"].append(wall)
            samples[side]["scores_cpu"].append(cpu)
            outputs[side] = out
            wall, cpu, _ = run([cx, "--help"], env)
            samples[side]["help_wall"].append(wall)
            samples[side]["help_cpu"].append(cpu)
    imports: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    if args.import_csv is not None:
        for _ in range(args.import_rounds):
            for side, env in sides.items():
                imports[side].append(run_import(cx, args.import_csv, env))
    identical = outputs["before"] == outputs["after"]
    results: dict[str, Any] = {
        "command": ["cxchange", "--db", "DB", *SCORES],
        "before_src": str(before),
        "rounds": args.rounds,
        "bytecode": bytecode,
        "load_average_at_start": load_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "outputs_identical": identical,
        "groups": len(json.loads(outputs["after"])),
        **{side: {k: summary(v) for k, v in s.items()} for side, s in samples.items()},
    }
    if args.import_csv is not None:
        results["import"] = {
            "rounds": args.import_rounds,
            **{
                side: {k: summary([r[k] for r in runs]) for k in ("wall", "cpu", "rss_mb")}
                for side, runs in imports.items()
            },
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for side in sides:
        sw, sc = results[side]["scores_wall"], results[side]["scores_cpu"]
        hw, hc = results[side]["help_wall"], results[side]["help_cpu"]
        print(
            f"{side:6s} scores wall median {sw['median']:.3f} s (min {sw['min']:.3f})"
            f"  CPU median {sc['median']:.3f} s (min {sc['min']:.3f})"
            f" | --help wall median {hw['median']:.3f} s  CPU median {hc['median']:.3f} s"
        )
    for side, runs in imports.items():
        if runs:
            imp = results["import"][side]
            print(
                f"{side:6s} import wall median {imp['wall']['median']:.2f} s"
                f"  CPU median {imp['cpu']['median']:.2f} s  peak RSS max {imp['rss_mb']['max']:.0f} MB"
            )
    print(f"outputs identical: {identical}; load {load_start} -> {results['load_average_at_end']}")
    print(f"results: {args.out}")
    if not identical:
        raise SystemExit("the two trees answered differently")


if __name__ == "__main__":
    main()
