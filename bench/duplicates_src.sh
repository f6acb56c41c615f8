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
# The same tree with migrations/ taken out before the tool reads it: a `left out:` line above (a run in
# more than 8 places, unnamed) is then shown to be the migrations' own, or is listed here.
mkdir "$tmp/now" && git -C "$root" ls-files -z src | (cd "$root" && xargs -0 tar -c) | tar -x -C "$tmp/now"
rm -rf "$tmp/now/src/cxchange/migrations"
bare=$(cd "$tmp/now/src" && duplicates --most 200 --seconds 120)
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
  echo
  echo "## this tree, migrations/ removed before reading (tracked files as they are in the working tree)"
  echo "$bare"
} > "$root/bench/results/duplicates_src.txt"
head -3 "$root/bench/results/duplicates_src.txt"
