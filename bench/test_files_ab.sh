#!/bin/bash
# Before/after wall time of test files: runs pytest on TESTS with SWAPPED (a file) as at BASE, then as at
# HEAD, alternating, ROUNDS times; prints one line per run with the 1-minute load average before and
# after (timings under load are noisy). The working copy of SWAPPED is restored from HEAD at the end.
# Usage: bench/test_files_ab.sh BASE SWAPPED ROUNDS TESTS... (e.g. c3610b4 tests/conftest.py 2 tests/auth)
set -u
base=$1 swapped=$2 rounds=$3
shift 3
cd "$(dirname "$0")/.."
trap 'git checkout -q HEAD -- "$swapped"' EXIT
for _ in $(seq "$rounds"); do
  for v in before after; do
    if [ "$v" = before ]; then git show "$base:$swapped" > "$swapped"; else git checkout -q HEAD -- "$swapped"; fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    result=$(.venv/bin/python -m pytest -q "$@" 2>&1 | tail -1)
    echo "$swapped $v load=$load->$(cut -d' ' -f1 /proc/loadavg) :: $result"
  done
done
