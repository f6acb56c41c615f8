#!/bin/sh
# Issue 19's measure, "`duplicates` on src/ lists no pair outside migrations", for a base revision and
# for this tree (its working files), side by side. Writes bench/results/duplicates_src.txt.
#   bench/duplicates_src.sh [BASE]   (default c3610b4)
set -e
base=${1:-c3610b4}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive "$base" src | tar -x -C "$tmp"
listing() { (cd "$1" && duplicates --most 200 --seconds 120 | grep -v migrations); }
rows() { grep -c '^D' || true; }
before=$(listing "$tmp/src")
after=$(listing "$root/src")
{
  echo "# cd src && duplicates --most 200 --seconds 120 | grep -v migrations"
  echo "base $base: $(echo "$before" | rows) pairs outside migrations"
  echo "this tree ($(git -C "$root" rev-parse --short HEAD)): $(echo "$after" | rows) pairs outside migrations"
  echo
  echo "## base $base"
  echo "$before"
  echo
  echo "## this tree"
  echo "$after"
} > "$root/bench/results/duplicates_src.txt"
head -3 "$root/bench/results/duplicates_src.txt"
