"""The test suite's time grouped by file, from the `--durations=0` lines of saved pytest outputs.

Each argument is a file holding a run's output (`pytest -q --durations=0 ...`); the table gives, per test
file, the seconds of setup + call + teardown summed over its tests and the share of the run's sum (under
`-n 2` the sum is about twice the wall time: two workers). Further outputs' columns sit beside the
first's, files in the first's order. Writes markdown to stdout.
Usage: python bench/suite_files.py BEFORE.txt [AFTER.txt ...] [--top 15]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+?\.py)::")
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed).*) in (\d+(?:\.\d+)?)s")


def by_file(text: str) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if m := LINE.match(line):
            totals[m.group(3)] += float(m.group(1))
    return dict(totals)


def summary(text: str) -> str:
    """pytest's last line, and the `start ... load ...` / `end ... load ...` lines the runner wrote."""
    lines = text.splitlines()
    loads = [" ".join(line.split()[:4]) for line in lines if line.startswith(("start ", "end "))]
    for line in reversed(lines):
        if m := SUMMARY.match(line):
            return f"{m.group(1)} in {float(m.group(2)):.0f} s" + "".join(f"; {x}" for x in loads)
    return "no pytest summary line"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    texts = []
    for path in args.outputs:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
            return 1
    tables = [by_file(t) for t in texts]
    for path, table in zip(args.outputs, tables, strict=True):
        if not table:
            print(f"{path}: no `--durations=0` lines (run pytest with --durations=0)", file=sys.stderr)
            return 1
    sums = [sum(t.values()) for t in tables]
    for path, text, total in zip(args.outputs, texts, sums, strict=True):
        print(f"- {path}: {summary(text)}; test time summed {total:.0f} s over {len(by_file(text))} files")
    print()
    head = "| file | " + " | ".join(f"{p.name} s (share)" for p in args.outputs) + " |"
    print(head)
    print("|---|" + "---|" * len(tables))
    first = sorted(tables[0].items(), key=lambda kv: -kv[1])[: args.top]
    for name, _ in first:
        cells = [f"{t.get(name, 0.0):.1f} ({100 * t.get(name, 0.0) / s:.1f}%)"
                 for t, s in zip(tables, sums, strict=True)]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
