"""A theme's impact interval is the same on SQLite and PostgreSQL for the same store content.

The interval resamples stores by position; PostgreSQL's hash aggregate hands the stores back in
another order than SQLite's sorted GROUP BY, which gave other intervals (the PostgreSQL tour:
`themes` ci_low -0.08 on SQLite, -0.07 on PostgreSQL, for the same hotels)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cxchange.core.db import get_engine
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.understand.service import theme_stats

STORES = 40


def _load(engine: Engine) -> None:
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    units = [{"code": "HQ", "name": "HQ", "parent": "", "level": "company"}]
    units += [
        {"code": f"S-{i:02d}", "name": f"Store {i}", "parent": "HQ", "level": "store"} for i in range(STORES)
    ]
    import_org_rows(engine, units, [])
    add_theme(engine, "Queue", keywords=["queue"])
    rng = np.random.default_rng(7)
    rows = []
    for i in range(STORES):
        for k in range(25):
            queue = rng.random() < 0.1 + 0.01 * (i % 20)
            stars = int(rng.integers(1, 4) if queue else rng.integers(2, 6))
            at = datetime(2026, 5, 1) + timedelta(hours=i * 25 + k)
            rows.append({"external_id": f"{i}-{k}", "received_at": at, "rating": stars,
                         "text": "the queue was long" if queue else "nice visit",
                         "org_unit": f"S-{(i * 17) % STORES:02d}"})  # fmt: skip
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    import_frame(engine, frame, ImportOptions(source="reviews", kind="review", map_options=maps))
    analyze(engine, backend="fast")


def test_theme_impact_interval_is_the_same_on_sqlite_and_postgresql(
    sqlite_engine: Engine, postgres_url: str, truncate_all
) -> None:  # type: ignore[no-untyped-def]
    pg = get_engine(postgres_url)
    truncate_all(pg)
    answers = []
    for engine in (sqlite_engine, pg):
        _load(engine)
        (row,) = theme_stats(engine, n_boot=400)
        keys = ("count", "score_with", "score_without", "impact", "ci_low", "ci_high")
        answers.append({k: row[k] for k in keys})
    assert answers[0]["count"] > 100 and answers[0]["ci_low"] < answers[0]["impact"] < answers[0]["ci_high"]
    assert answers[0] == answers[1]
