"""Where a user's theme session spends its time: `themes discover --save`, then `analyze`, as commands.

    python bench/themes_session.py [--set banking77] [--seed 0] [--profile] [--out FILE]

The same path as eval/themes.py's timed part (issue 15's speed target): a fresh SQLite database, the
texts imported (not timed), then `cxchange themes discover --save --seed S --format json` and
`cxchange analyze --format json`, each a fresh process of this venv's `cxchange`. Wall clock per
command, process start-up included; os.getloadavg() before each. With --profile each command runs a
second time (again on a fresh database) under cProfile, and the functions with the most cumulative
and own time are written out, so the time can be attributed (cProfile slows Python-heavy code, so
the profiled seconds are larger than the plain ones; the shares are what to read). The profiled run
also gives each command's phases (PHASES: the cumulative seconds of the functions that do each part
of the work, and its share of the profiled command), and with --importtime each command runs once more
under `python -X importtime`, whose self times are summed by top-level package (start-up imports).

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


# Per command, "phase | file name | function" lines: the phase's seconds are that function's cumulative
# time in the profile (the largest, if several match). Nested phases are indented in the name.
PHASE_TABLE = {
    "discover": """
imports (all, incl. lazy ones) | <frozen importlib._bootstrap> | _find_and_load
schema check | migrate.py | ensure_schema
discover (read rows + discovery) | discovery.py | discover
  discover_themes | discover.py | discover_themes
    embedding_themes | embedded.py | embedding_themes
      MiniLM embed (onnxruntime) | minilm_onnx.py | embed
      clusters (k-means + merge) | embedded.py | _clusters
        k-means | embedded.py | _kmeans
    matcher fit | relevance.py | fit_model
    naming (describe) | naming.py | describe
  too-broad keyword check | discovery.py | too_broad_keywords
save_discovery | discovery.py | save_discovery
  store vectors | vectors.py | store_vectors
  save matcher | matchers.py | save_matcher
JSON output | output.py | to_json
""",
    "analyze": """
imports (all, incl. lazy ones) | <frozen importlib._bootstrap> | _find_and_load
analyze | analyze.py | analyze
  schema check | migrate.py | ensure_schema
  load matchers | matchers.py | load_matchers
  read rows + stored vectors | analyze.py | _partitions
    load vectors | vectors.py | load_vectors
  analyse_partition | analyze.py | analyse_partition
    sentiment (comments) | lexicon.py | score
    theme matching (matcher.assign) | relevance.py | assign
      embed (texts without a vector) | relevance.py | _embed
    clause sentiment of mentions | clauses.py | score_mentions_batch
  writes | analyze.py | write_partition
  mark matched | taxonomy.py | mark_matched
  planner statistics | planner_stats.py | refresh_tables
  follow-up work (events.complete) | events.py | complete
""",
}
PHASES = {
    command: [tuple(line.split(" | ")) for line in text.strip("\n").splitlines()]
    for command, text in PHASE_TABLE.items()
}


def _cx(args: list[str], db: str, profile: Path | None = None, importtime: Path | None = None) -> float:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    # The CLI ends with os._exit after running atexit handlers (cli._exit_now): the profile is
    # written by one of those, so it covers the whole command.
    prefix = [sys.executable, "-c", PROFILED, str(profile)] if profile else [sys.executable, "-m", "cxchange"]
    if importtime is not None:
        prefix.insert(1, "-Ximporttime")
    t0 = time.perf_counter()
    run = subprocess.run([*prefix, *args], capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"cxchange {' '.join(args)} failed: {run.stderr.strip()[-800:]}")
    if importtime is not None:
        importtime.write_text(run.stderr, encoding="utf-8")
    return seconds


def _phases(path: Path, command: str) -> list[dict]:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = max(cum for (_, _, _, cum, _) in stats.values())
    out = []
    for label, file, func in PHASES[command]:
        cums = [v[3] for (f, _, fn), v in stats.items() if fn == func and Path(f).name == file]
        cum = max(cums, default=0.0)
        out.append({"phase": label, "cum_s": round(cum, 3), "share": round(cum / total, 3) if total else 0.0})
    return out


def _import_self_times(text: str) -> dict:
    """`-X importtime` lines summed by top-level package (self times: each module counted once)."""
    per: dict[str, int] = {}
    for line in text.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, name = line.split(":", 1)[1].split("|")
        root = name.strip().split(".")[0]
        per[root] = per.get(root, 0) + int(self_us)
    top = sorted(per.items(), key=lambda kv: -kv[1])[:12]
    return {
        "total_s": round(sum(per.values()) / 1e6, 3),
        "by_package_s": {k: round(v / 1e6, 3) for k, v in top},
    }


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


def session(
    texts: list[str], seed: int, work: Path, tag: str, profile: bool, importtime: bool = False
) -> dict:
    db = data.fresh_store(texts, work, tag, _cx)  # imported, not timed
    out: dict = {}
    for name, args in (
        ("discover", ["themes", "discover", "--save", "--seed", str(seed), "--format", "json"]),
        ("analyze", ["analyze", "--format", "json"]),
    ):
        load = [round(x, 2) for x in os.getloadavg()]
        prof = work / f"{tag}_{name}.prof" if profile else None
        imp = work / f"{tag}_{name}.importtime" if importtime else None
        out[name] = {"seconds": round(_cx(args, db, prof, imp), 2), "loadavg_before": load}
        if prof is not None:
            out[name]["phases"] = _phases(prof, name)
            out[name].update(_top(prof))
        if imp is not None:
            out[name]["imports"] = _import_self_times(imp.read_text(encoding="utf-8"))
    out["total_seconds"] = round(out["discover"]["seconds"] + out["analyze"]["seconds"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="banking77", choices=sorted(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--importtime", action="store_true", help="one more session under -X importtime")
    parser.add_argument("--plain", type=int, default=1, help="plain (unprofiled) sessions to time")
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
        plain = [session(ds.texts, args.seed, Path(tmp), f"plain{i}", False) for i in range(args.plain)]
        result["plain"] = plain[0] if len(plain) == 1 else plain
        print(json.dumps({"plain": result["plain"]}), flush=True)
        if args.profile:
            result["profiled"] = session(ds.texts, args.seed, Path(tmp), "profiled", True)
            for name in ("discover", "analyze"):
                p = result["profiled"][name]
                print(f"== {name}: {p['seconds']} s profiled")
                for ph in p["phases"]:
                    print(f"  {ph['cum_s']:8.2f} {100 * ph['share']:5.1f} %  {ph['phase']}")
        if args.importtime:
            result["importtime"] = session(ds.texts, args.seed, Path(tmp), "importtime", False, True)
            for name in ("discover", "analyze"):
                print(f"== {name} imports: {result['importtime'][name]['imports']}")
    out = args.out or ROOT / "bench" / "results" / f"themes_session_{args.set}.json"
    result["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
