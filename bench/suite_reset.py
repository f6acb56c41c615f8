"""The test suite's PostgreSQL reset between tests (tests/conftest.py `_truncate_all`): a TRUNCATE of every
table (before) against a TRUNCATE of only the tables holding rows or with a used id sequence (after), on
an empty migrated database and after a small import, median of 15 each. Writes
bench/results/suite_reset.json. Usage: python bench/suite_reset.py (needs the PostgreSQL of the tests)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import _truncate_all, throwaway_postgres_database
from cxchange.core.base import Base, register_models
from cxchange.core.db import get_engine
from cxchange.listen.service import ImportOptions, import_frame

RUNS = 15


def truncate_every_table(engine: Engine) -> None:
    register_models()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def timed(engine: Engine, reset: object, fill: bool) -> float:
    times = []
    for _ in range(RUNS):
        if fill:
            opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
            import_frame(engine, pl.DataFrame({"id": ["a", "b"], "nps": ["10", "0"]}), opts)
        started = time.perf_counter()
        reset(engine)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    out: dict[str, object] = {"load_average_1m": os.getloadavg()[0], "runs": RUNS}
    with throwaway_postgres_database("cx_bench_reset_") as url:
        engine = get_engine(url)
        for fill in (False, True):
            case = "after_a_small_import" if fill else "empty"
            out[case] = {
                "truncate_every_table_ms": timed(engine, truncate_every_table, fill),
                "truncate_used_tables_ms": timed(engine, _truncate_all, fill),
            }
        engine.dispose()
    out["load_average_1m_after"] = os.getloadavg()[0]
    text_out = json.dumps(out, indent=2)
    print(text_out)
    (Path(__file__).parent / "results" / "suite_reset.json").write_text(text_out + "\n")


if __name__ == "__main__":
    main()
