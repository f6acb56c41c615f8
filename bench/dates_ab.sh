#!/bin/sh
# Whole-command A/B of `cxchange import` on the ingest bench's 200,000-row export: the code before
# "one reading per column" (commit 61d2073, from `git archive`) against this checkout, alternating,
# each run in a fresh SQLite file. Prints one JSON line per run (read / validate / total seconds).
#     sh bench/dates_ab.sh [ROWS] [RUNS]
set -e
ROWS=${1:-200000}; RUNS=${2:-4}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$(dirname "$0")/.."
mkdir "$TMP/old" && git archive 61d2073 src | tar -x -C "$TMP/old"
.venv/bin/python -c "import sys; sys.path.insert(0, 'bench'); from ingest import make_export; make_export('$TMP/x.csv', $ROWS)"
for i in $(seq "$RUNS"); do
  for v in old new; do
    rm -rf "$TMP"/x.db*
    if [ $v = old ]; then PP="$TMP/old/src"; else PP=; fi
    PYTHONPATH=$PP .venv/bin/python -m cxchange --db "sqlite:///$TMP/x.db" import "$TMP/x.csv" --source s --format json > "$TMP/out.json"
    .venv/bin/python -c "import json; d=json.load(open('$TMP/out.json')); t=d['timings']; print(json.dumps({'code': '$v', 'imported': d['imported'], 'read': t['read'], 'validate': t['validate'], 'total': t['total']}))"
  done
done
