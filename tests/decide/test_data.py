"""The respondent frame the decide stage reads (cxchange.decide.data.load_respondents)."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from cxchange.decide.data import load_respondents


def test_comments_and_attributes_load_only_when_asked(demo_engine: Engine) -> None:
    lean = load_respondents(demo_engine, where=("attr:region=North",))
    full = load_respondents(demo_engine, where=("attr:region=North",), attrs=["segment"], text=True)
    assert lean.frame.height == full.frame.height > 0
    assert lean.frame["text"].null_count() == lean.frame.height  # not fetched
    assert full.frame["text"].drop_nulls().len() > 0.3 * full.frame.height
    assert "attr:segment" not in lean.frame.columns
    assert set(full.frame["attr:segment"].drop_nulls().unique()) >= {"consumer"}
    # Everything else is the same frame.
    same = [c for c in lean.frame.columns if c != "text"]
    assert lean.frame.select(same).equals(full.frame.select(same))
    assert lean.themes == full.themes and lean.analysed and full.analysed
    assert full.frame.filter(pl.col("attr:segment").is_null()).height < full.frame.height
