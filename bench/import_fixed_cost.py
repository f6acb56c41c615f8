"""The fixed cost of one small import (a group of survey answers, issue 21): `import_frame` of N rows
on a fresh SQLite file, the answer writer's options, timed in this process (wall and CPU).

    python bench/import_fixed_cost.py [--rows 1] [--repeat 20] [--profile]

--profile prints cProfile's top functions by cumulative time (the import's own thread only).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

from cxchange.core.db import get_engine
from cxchange.listen.service import ImportOptions, ImportResult, import_frame
from cxchange.listen.surveys.service import create_survey
from cxchange.listen.surveys.spec import SurveySpec
from cxchange.listen.surveys.writer import DATE_FORMAT
from cxchange.org.tree import import_org_rows

UNITS = [{"code": "CO", "name": "Company", "parent": ""}] + [
    {"code": f"U{i}", "name": f"Unit {i}", "parent": "CO"} for i in range(1, 9)
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    engine = get_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'fixed.db'}")
    import_org_rows(engine, UNITS, [])
    create_survey(engine, SurveySpec(name="bench", kind="nps", units=[u["code"] for u in UNITS[1:]]))

    def once() -> ImportResult:
        now = datetime.utcnow().strftime(DATE_FORMAT.replace("%.f", ".%f"))
        columns = {
            "external_id": [secrets.token_hex(8) for _ in range(args.rows)],
            "received_at": [now] * args.rows,
            "nps": [str(i % 11) for i in range(args.rows)],
            "text": ["the queue was long"] * args.rows,
            "org_unit": [f"U{1 + i % 8}" for i in range(args.rows)],
        }
        frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
        options = ImportOptions(
            source="survey:bench",
            map_options=tuple(f"{c}={c}" for c in columns),
            date_format=DATE_FORMAT,
        )
        return import_frame(engine, frame, options, name="survey:bench")

    for _ in range(3):  # warm: modules, statement caches, the source and its columnar copy
        once()
    profile = cProfile.Profile() if args.profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    for _ in range(args.repeat):
        result = once()
    if profile:
        profile.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"rows per import {args.rows}: {1000 * wall / args.repeat:.1f} ms wall, "
        f"{1000 * cpu / args.repeat:.1f} ms CPU per import; last timings {result.timings}"
    )
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
