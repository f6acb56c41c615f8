#!/bin/sh
# Issue 19 part 5, "mypy passes in CI": `make lint` type-checks only the files listed in pyproject's
# [tool.mypy] (strict). This counts what plain (non-strict) mypy finds over all of src/cxchange, to size
# what lies outside that list. Writes bench/results/mypy_src.txt.   bench/mypy_src.sh
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[mypy]\npython_version = 3.11\nignore_missing_imports = True\nfollow_imports = silent\n' > "$tmp/mypy.ini"
out="$root/bench/results/mypy_src.txt"
{
  echo "# $root/.venv/bin/mypy --config-file (python 3.11, ignore_missing_imports, follow_imports=silent, not strict) src/cxchange"
  echo "# tree $(git -C "$root" rev-parse --short HEAD); load before: $(uptime)"
} > "$out"
(cd "$root" && .venv/bin/mypy --config-file "$tmp/mypy.ini" --cache-dir "$tmp/cache" src/cxchange > "$tmp/log" 2>&1) || true
{
  echo "# load after: $(uptime)"
  echo "files listed in [tool.mypy] files (checked strictly by make lint): $(grep -c '^  "src/cxchange/.*\.py",$' "$root/pyproject.toml")"
  tail -1 "$tmp/log"
  echo
  echo "## errors per file"
  grep 'error:' "$tmp/log" | cut -d: -f1 | sort | uniq -c | sort -rn
  echo
  echo "## errors per code"
  grep -o '\[[a-z-]*\]$' "$tmp/log" | sort | uniq -c | sort -rn
} >> "$out"
tail -1 "$tmp/log"
