"""`cxchange analyze` after `themes discover --save`, two source trees A/B, alternating rounds.

    python bench/themes_analyze_ab.py --a OLD/src --b NEW/src [--rounds 5] [--set SET] [--out FILE]

Question: how much of analyze's time goes when discovery stores a vector for every comment (so that
analyze need not load the ONNX session and onnxruntime for the few it did not group)? Per tree: one
fresh SQLite database with the set imported and `themes discover --save --seed 0` run by that tree
(not timed); then per round, each tree in turn (order alternating), `analyze --format json` on a
fresh copy of its database, wall clock of the whole command (this venv's python, PYTHONPATH = the
tree); os.getloadavg() before each. Speed only (the themes are checked by tests/understand/
test_theme_vectors.py). Results: bench/results/themes_analyze_ab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402


def _runner(src: Path):  # type: ignore[no-untyped-def]
    def cx(args: list[str], db: str) -> float:
        env = {**os.environ, "CXCHANGE_DATABASE_URL": db, "NO_COLOR": "1", "PYTHONPATH": str(src)}
        t0 = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "cxchange", *args], capture_output=True, text=True, env=env
        )
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-800:])
        return time.perf_counter() - t0

    return cx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the 'before' tree's src folder")
    parser.add_argument("--b", type=Path, required=True, help="the 'after' tree's src folder")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--set", default="banking77_train", choices=sorted(data.SETS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "themes_analyze_ab.json")
    args = parser.parse_args()
    texts = data.SETS[args.set]().texts
    trees = {"a": args.a.resolve(), "b": args.b.resolve()}
    seconds: dict[str, list[float]] = {"a": [], "b": []}
    loads: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ready = {}
        for name, src in trees.items():
            cx = _runner(src)
            db = data.fresh_store(texts, work, name, cx)
            cx(["themes", "discover", "--save", "--seed", "0", "--format", "json"], db)
            ready[name] = Path(db.removeprefix("sqlite:///"))
        for r in range(args.rounds):
            for name in ("a", "b") if r % 2 == 0 else ("b", "a"):
                copy = work / f"{name}_round{r}.db"
                shutil.copyfile(ready[name], copy)
                loads.append({"round": r, "tree": name, "loadavg": [round(x, 2) for x in os.getloadavg()]})
                seconds[name].append(
                    round(_runner(trees[name])(["analyze", "--format", "json"], f"sqlite:///{copy}"), 3)
                )
    result = {
        "meta": {
            "command": "bench/themes_analyze_ab.py " + " ".join(sys.argv[1:]),
            "set": args.set,
            "texts": len(texts),
            "trees": {k: str(v) for k, v in trees.items()},
            "note": "shared 2-core machine, other helpers' jobs running: see loadavg",
            "loadavg": loads,
        },
        "seconds": seconds,
        "median_s": {k: round(statistics.median(v), 3) for k, v in seconds.items()},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"seconds": seconds, "median_s": result["median_s"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
