from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select

from cxchange.core.errors import InputError
from cxchange.core.period import ALL_TIME, Period, parse_date


def test_parse_date_reads_iso_dates_and_names_the_option_otherwise() -> None:
    assert parse_date("2025-01-31", "--since") == date(2025, 1, 31)
    assert parse_date(None, "--since") is None
    with pytest.raises(InputError, match=r"^--until wants a date like 2025-01-31, got '31/01/2025'$"):
        parse_date("31/01/2025", "--until")


def test_bounds_are_day_starts_and_until_is_exclusive() -> None:
    p = Period(date(2025, 1, 1), date(2025, 2, 1))
    assert (p.start, p.end) == (datetime(2025, 1, 1), datetime(2025, 2, 1))
    assert p.bounded and Period(until=date(2025, 1, 1)).bounded and not ALL_TIME.bounded
    frame = pl.DataFrame(
        {
            "at": [
                datetime(2024, 12, 31, 23, 59),
                datetime(2025, 1, 1),
                datetime(2025, 1, 31, 23),
                datetime(2025, 2, 1),
            ]
        }
    )
    kept = frame.filter(*p.conditions(pl.col("at")))["at"].to_list()
    assert kept == [datetime(2025, 1, 1), datetime(2025, 1, 31, 23)]
    assert ALL_TIME.conditions(pl.col("at")) == []


def test_where_filters_a_select_the_same_way() -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    stamps = [datetime(2024, 12, 31, 12), datetime(2025, 1, 1), datetime(2025, 1, 15), datetime(2025, 2, 1)]
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "at": at} for i, at in enumerate(stamps)])
        ids = lambda p: conn.scalars(p.where(select(table.c.id), table.c.at).order_by(table.c.id)).all()  # noqa: E731
        assert ids(Period(date(2025, 1, 1), date(2025, 2, 1))) == [1, 2]
        assert ids(Period(since=date(2025, 1, 15))) == [2, 3]
        assert ids(ALL_TIME) == [0, 1, 2, 3]


def test_words_and_previous() -> None:
    p = Period(date(2025, 3, 1), date(2025, 3, 31))
    assert p.words() == ["since 2025-03-01", "before 2025-03-31"]
    assert ALL_TIME.words() == []
    assert p.previous() == Period(date(2025, 1, 30), date(2025, 3, 1))
    with pytest.raises(ValueError, match="both ends"):
        Period(since=date(2025, 1, 1)).previous()
