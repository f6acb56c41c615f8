"""The Parquet copy answers exactly what SQL answers, and follows imports and deletions."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine, delete

from cxchange.demo.generate import generate
from cxchange.demo.load import load_demo
from cxchange.listen import columnar
from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.measure.service import ScoreQuery, grouped_counts

QUERIES = [
    ScoreQuery(metric="nps"),
    ScoreQuery(metric="nps", by=("month", "attr:region")),
    ScoreQuery(metric="nps", by=("week",), since=date(2026, 1, 1), until=date(2026, 3, 1)),
    ScoreQuery(metric="nps", by=("org:region", "quarter"), where=("attr:segment=premium",)),
    ScoreQuery(metric="csat", by=("source", "channel")),
    ScoreQuery(metric="ces", by=("org:store",), where=("unit=R-NORTH",)),
    ScoreQuery(metric="rating", by=("year", "attr:nonexistent")),
    ScoreQuery(metric="nps", by=("unit",), where=("source=nps_survey", "channel=phone", "channel=store")),
    ScoreQuery(metric="nps", where=("attr:nonexistent=x",)),
]


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from cxchange.core.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('col') / 'demo.db'}")
    load_demo(engine, generate(rows=6_000, seed=3))
    return engine


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(sorted(frame.columns), nulls_last=True)


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.metric}-{'-'.join(q.by) or 'all'}")
def test_columnar_equals_sql(demo_engine: Engine, query: ScoreQuery) -> None:
    sql = grouped_counts(demo_engine, query, path="sql").frame
    col = grouped_counts(demo_engine, query, path="columnar").frame
    assert _sorted(sql).equals(_sorted(col)), (sql, col)


def test_copy_follows_new_rows_and_deletions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cxchange.core.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'cx.db'}")
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    frame = pl.DataFrame({"id": ["a", "b"], "nps": ["10", "0"], "region": ["N", "S"]})
    import_frame(engine, frame, opts)

    def total() -> int:
        return int(grouped_counts(engine, ScoreQuery(), path="columnar").frame["__count"].sum())

    assert total() == 2
    import_frame(engine, pl.DataFrame({"id": ["c"], "nps": ["9"], "region": ["N"]}), opts)
    assert total() == 3
    assert len(list(columnar.cache_dir(engine).glob("part-*.parquet"))) == 2  # type: ignore[union-attr]
    with engine.begin() as conn:
        conn.execute(delete(Feedback).where(Feedback.external_id == "a"))
    assert total() == 2
    assert len(list(columnar.cache_dir(engine).glob("part-*.parquet"))) == 1  # type: ignore[union-attr]


def test_no_copy_for_postgres_or_memory() -> None:
    from sqlalchemy import create_engine

    assert columnar.cache_dir(create_engine("sqlite://")) is None
    assert columnar.cache_dir(create_engine("postgresql+psycopg://x@localhost/db")) is None


def test_ids_are_not_reused_after_deleting_the_newest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cxchange.core.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'cx.db'}")
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    import_frame(engine, pl.DataFrame({"id": ["a", "b"], "nps": ["10", "10"]}), opts)
    assert grouped_counts(engine, ScoreQuery(), path="columnar").frame["__value"].to_list() == [10.0]
    with engine.begin() as conn:
        conn.execute(delete(Feedback).where(Feedback.external_id == "b"))
    import_frame(engine, pl.DataFrame({"id": ["c"], "nps": ["0"]}), opts)
    frame = grouped_counts(engine, ScoreQuery(), path="columnar").frame.sort("__value")
    assert frame["__value"].to_list() == [0.0, 10.0]


def test_in_place_update_rebuilds_the_copy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from cxchange.core.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'cx.db'}")
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    import_frame(engine, pl.DataFrame({"id": ["a"], "nps": ["10"]}), opts)
    assert grouped_counts(engine, ScoreQuery(), path="columnar").frame["__value"].to_list() == [10.0]
    with engine.begin() as conn:
        conn.execute(update(Feedback).values(nps=3))
    assert grouped_counts(engine, ScoreQuery(), path="columnar").frame["__value"].to_list() == [3.0]
