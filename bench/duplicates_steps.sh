#!/bin/sh
# Issue 19's duplicates measure at each commit of a range, oldest first: the pairs `duplicates` lists on
# src/ outside migrations (as bench/duplicates_src.sh counts them), and which pairs came or went (named
# by their files: a pair whose lines only moved is the same pair).
# Writes bench/results/duplicates_steps.txt.   bench/duplicates_steps.sh [FROM] (default e52a78a)
set -e
from=${1:-e52a78a}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$root/bench/results/duplicates_steps.txt"
echo "# cd src && duplicates --most 200 --seconds 120 | grep -v migrations, at each commit since $from" > "$out"
prev=""
for rev in "$from" $(git -C "$root" rev-list --reverse "$from"..HEAD); do
  rm -rf "$tmp/src" && git -C "$root" archive "$rev" src | tar -x -C "$tmp"
  pairs=$(cd "$tmp/src" && duplicates --most 200 --seconds 120 | grep -v migrations | grep '^D' | sed 's/^D[0-9]* //')
  {
    echo
    echo "$(git -C "$root" log -1 --format='%h %s' "$rev" | cut -c1-110)"
    echo "  $(echo "$pairs" | grep -c . || true) pairs"
    if [ -n "$prev" ]; then
      # Compared without line numbers: a pair whose lines only moved is the same pair.
      echo "$prev" | sed 's/:[0-9]*-[0-9]*//g' > "$tmp/before"
      echo "$pairs" | sed 's/:[0-9]*-[0-9]*//g' > "$tmp/after"
      grep -vxF -f "$tmp/after" "$tmp/before" | sed 's/^/  gone: /' || true
      grep -vxF -f "$tmp/before" "$tmp/after" | sed 's/^/  new:  /' || true
    fi
  } >> "$out"
  prev=$pairs
done
cat "$out"
