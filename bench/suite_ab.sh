#!/bin/bash
# Serial against `-n 2 --dist loadgroup` on the same tests, alternating, ROUNDS times: one line per run
# with pytest's summary and the 1-minute load average before and after (timings under load are noisy).
# Usage: bench/suite_ab.sh ROUNDS TESTS... (e.g. bench/suite_ab.sh 2 tests/faults)
set -u
rounds=$1
shift
cd "$(dirname "$0")/.."
for _ in $(seq "$rounds"); do
  for workers in 0 2; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    result=$(CI=true .venv/bin/python -m pytest -q -n "$workers" --dist loadgroup "$@" 2>&1 | tail -1)
    echo "-n $workers load=$load->$(cut -d' ' -f1 /proc/loadavg) :: $result"
  done
done
