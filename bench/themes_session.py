"""Where a user's theme session spends its time: `themes discover --save`, then `analyze`, as commands.

    python bench/themes_session.py [--set banking77] [--seed 0] [--profile] [--out FILE]

The same path as eval/themes.py's timed part (issue 15's speed target): a fresh SQLite database, the
texts imported (not timed), then `cxchange themes discover --save --seed S --format json` and
`cxchange analyze --format json`, each a fresh process of this venv's `cxchange`. Wall clock per
command, process start-up included; os.getloadavg() before each. With --profile each command runs a
second time (again on a fresh database) under cProfile, and the functions with the most cumulative
and own time are written out, so the time can be attributed (cProfile slows Python-heavy code, so
the profiled seconds are larger than the plain ones; the shares are what to read).

Speed only: no theme is scored here, so the held-out set banking77 may be used (the question is how
long 3,080 short requests take, not which settings group them best). Results: bench/results/
themes_session_<set>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

SETS = data.SETS
TOP = 30
PROFILED = (
    "import atexit, cProfile, sys\n"
    "out = sys.argv[1]\n"
    "sys.argv = ['cxchange', *sys.argv[2:]]\n"
    "p = cProfile.Profile()\n"
    "atexit.register(lambda: (p.disable(), p.dump_stats(out)))\n"
    "p.enable()\n"
    "from cxchange.cli import main\n"
    "main()\n"
)


def _cx(args: list[str], db: str, profile: Path | None = None) -> float:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    # The CLI ends with os._exit after running atexit handlers (cli._exit_now): the profile is
    # written by one of those, so it covers the whole command.
    prefix = [sys.executable, "-c", PROFILED, str(profile)] if profile else [sys.executable, "-m", "cxchange"]
    t0 = time.perf_counter()
    run = subprocess.run([*prefix, *args], capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"cxchange {' '.join(args)} failed: {run.stderr.strip()[-800:]}")
    return seconds


def _top(path: Path) -> dict[str, list[dict]]:
    stats = pstats.Stats(str(path))
    rows = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(file).name}:{line}({func})" if line else func
        rows.append(
            {"function": where, "calls": ncalls, "own_s": round(tottime, 3), "cum_s": round(cumtime, 3)}
        )
    by_cum = sorted(rows, key=lambda r: -r["cum_s"])[:TOP]
    by_own = sorted(rows, key=lambda r: -r["own_s"])[:TOP]
    return {"by_cumulative": by_cum, "by_own_time": by_own}


def session(texts: list[str], seed: int, work: Path, tag: str, profile: bool) -> dict:
    db = data.fresh_store(texts, work, tag, _cx)  # imported, not timed
    out: dict = {}
    for name, args in (
        ("discover", ["themes", "discover", "--save", "--seed", str(seed), "--format", "json"]),
        ("analyze", ["analyze", "--format", "json"]),
    ):
        load = [round(x, 2) for x in os.getloadavg()]
        prof = work / f"{tag}_{name}.prof" if profile else None
        out[name] = {"seconds": round(_cx(args, db, prof), 2), "loadavg_before": load}
        if prof is not None:
            out[name].update(_top(prof))
    out["total_seconds"] = round(out["discover"]["seconds"] + out["analyze"]["seconds"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="banking77", choices=sorted(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    ds = SETS[args.set]()
    result: dict = {
        "meta": {
            "command": "bench/themes_session.py " + " ".join(sys.argv[1:]),
            "set": args.set,
            "texts": len(ds.texts),
            "seed": args.seed,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "shared 2-core machine, other helpers' jobs running: see loadavg_before",
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        result["plain"] = session(ds.texts, args.seed, Path(tmp), "plain", False)
        print(json.dumps({"plain": result["plain"]}), flush=True)
        if args.profile:
            result["profiled"] = session(ds.texts, args.seed, Path(tmp), "profiled", True)
            for name in ("discover", "analyze"):
                p = result["profiled"][name]
                print(f"== {name}: {p['seconds']} s profiled")
                for r in p["by_cumulative"][:TOP]:
                    print(f"  {r['cum_s']:8.2f} {r['own_s']:8.2f} {r['calls']:>8} {r['function']}")
    out = args.out or ROOT / "bench" / "results" / f"themes_session_{args.set}.json"
    result["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
