#!/bin/sh
# Issue 19 part 5, "mypy passes in CI": what plain (non-strict) mypy finds over all of src/cxchange,
# excluding nothing, per file and per error code: the files pyproject's [tool.mypy] `exclude` keeps out
# of `make lint` and how much work each holds. Writes bench/results/mypy_src.txt.   bench/mypy_src.sh
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
  echo "modules make lint checks strictly (pyproject's mypy override): $(grep -c '^  "cxchange\.' "$root/pyproject.toml")"
  echo "files make lint leaves out (pyproject's mypy exclude): $(grep -c "^  '^src/cxchange/" "$root/pyproject.toml")"
  tail -1 "$tmp/log"
  echo
  echo "## errors per file"
  grep 'error:' "$tmp/log" | cut -d: -f1 | sort | uniq -c | sort -rn
  echo
  echo "## errors per code"
  grep -o '\[[a-z-]*\]$' "$tmp/log" | sort | uniq -c | sort -rn
} >> "$out"
tail -1 "$tmp/log"
