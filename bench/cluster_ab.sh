#!/bin/sh
# A/B of `bench/ingest.py --mode cluster` (analyze: one process against 2 single-threaded Dask workers,
# with the CPU seconds of every part): the code of commit BASE (from `git archive`, on PYTHONPATH, so
# the commands and the Dask workers run it) against this checkout, alternating in the order given by
# ORDER, each run on fresh databases. Collects every run into bench/results/ingest_cluster_ab.json.
#     sh bench/cluster_ab.sh [BASE] [ROWS] [ORDER]      (defaults: 14de328 167000 "new old old new")
set -e
BASE=${1:-14de328}; ROWS=${2:-167000}; ORDER=${3:-new old old new}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$(dirname "$0")/.."
mkdir "$TMP/old" && git archive "$BASE" src | tar -x -C "$TMP/old"
n=0
for v in $ORDER; do
  n=$((n + 1))
  if [ "$v" = old ]; then PP="$TMP/old/src"; else PP=; fi
  PYTHONPATH=$PP .venv/bin/python bench/ingest.py --mode cluster --rows "$ROWS"
  cp bench/results/ingest_cluster.json "$TMP/run$n-$v.json"
done
.venv/bin/python - "$TMP" "$BASE" <<'PY'
import json, pathlib, statistics, sys
tmp, base = pathlib.Path(sys.argv[1]), sys.argv[2]
runs = []
for path in sorted(tmp.glob("run*.json"), key=lambda p: int(p.stem[3:].split("-")[0])):
    code = path.stem.split("-")[1]
    runs.append({"code": base if code == "old" else "this checkout", **json.loads(path.read_text())})
def stats(values):
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
summary = {}
for code in sorted({r["code"] for r in runs}):
    mine = [r for r in runs if r["code"] == code]
    summary[code] = {
        "runs": len(mine),
        "ratio_cluster_vs_single": stats([r["ratio_cluster_vs_single"] for r in mine]),
        "cpu_single_total": stats([r["cpu_seconds"]["single_process"]["total"] for r in mine]),
        "cpu_cluster_total": stats([r["cpu_seconds"]["cluster"]["total"] for r in mine]),
        "identical_results": all(r["identical_results"] for r in mine),
    }
out = pathlib.Path("bench/results/ingest_cluster_ab.json")
out.write_text(json.dumps({"order": [r["code"] for r in runs], "summary": summary, "runs": runs}, indent=2))
print(json.dumps(summary, indent=2))
print(f"results: {out}")
PY
