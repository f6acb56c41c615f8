"""The date step of an import, before and after "one reading per column" (issue 16, part 3).

    python bench/dates.py [--rows 1000000] [--chunk 50000] [--repeat 3]

Before: each 50,000-row chunk guessed its own format from its first 500 values (the code that was in
listen/validate.py, kept below verbatim as the baseline). After: the reading is decided once from a
20,000-value sample spread across the column (dates.decide), then every chunk is read with it
(dates.read). Best of `--repeat` runs per column kind; writes bench/results/dates.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from cxchange.listen import dates

HERE = Path(__file__).resolve().parent

# The former per-chunk detection (listen/validate.py before this change), the baseline.
OLD_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)


def _old_parse(values: pl.Series, fmt: str) -> pl.Series:
    if "%z" in fmt:
        parsed = values.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC", cache=False)
        return parsed.dt.replace_time_zone(None)
    return values.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


def _old_detect(values: pl.Series) -> str | None:
    sample = values.drop_nulls().str.strip_chars().head(500)
    best, best_ok = None, 0
    for fmt in OLD_FORMATS:
        ok = _old_parse(sample, fmt).is_not_null().sum()
        if ok > best_ok:
            best, best_ok = fmt, ok
        if ok == sample.len():
            break
    return best


def before(column: pl.Series, chunk: int) -> int:
    read = 0
    for start in range(0, column.len(), chunk):
        part = column.slice(start, chunk)
        fmt = _old_detect(part)
        if fmt is not None:
            read += int(_old_parse(part.str.strip_chars(), fmt).is_not_null().sum())
    return read


def after(column: pl.Series, chunk: int) -> int:
    # What sample_column hands over for a large CSV: ~20,000 values from windows across the file.
    step = max(column.len() // 20_000, 1)
    reading = dates.decide(column.gather_every(step), column="d", file="bench")
    read = 0
    for start in range(0, column.len(), chunk):
        part = column.slice(start, chunk)
        rows = np.arange(start + 2, start + 2 + part.len(), dtype=np.int64)
        read += int(dates.read(part, reading, rows=rows, file="bench").is_not_null().sum())
    return read


def columns(rows: int) -> dict[str, pl.Series]:
    rng = np.random.default_rng(7)
    secs = np.sort(rng.integers(0, 730 * 86400, rows))
    when = pl.Series((np.datetime64("2024-11-01") + secs.astype("timedelta64[s]")).astype("datetime64[us]"))
    return {
        "iso space (the ingest bench's)": when.dt.to_string("%Y-%m-%d %H:%M:%S"),
        "iso T Z millis": when.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ"),
        "iso offset +02:00": when.dt.to_string("%Y-%m-%dT%H:%M:%S+02:00"),
        "us month-first": when.dt.to_string("%m/%d/%Y"),
        "eu day-first datetime": when.dt.to_string("%d/%m/%Y %H:%M"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    results = []
    for name, column in columns(args.rows).items():
        row: dict[str, object] = {"column": name, "rows": args.rows}
        for label, fn in (("before", before), ("after", after)):
            best, read = float("inf"), 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                read = fn(column, args.chunk)
                best = min(best, time.perf_counter() - t)
            row[f"{label}_s"], row[f"{label}_read"] = round(best, 3), read
        row["ratio"] = round(float(row["after_s"]) / float(row["before_s"]), 3)  # type: ignore[arg-type]
        print(json.dumps(row))
        results.append(row)
    out = HERE / "results" / "dates.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": args.rows, "chunk": args.chunk, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
