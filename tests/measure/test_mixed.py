"""Ratings on different scales are never one mean (measure/mixed.py): the rule, on counts."""

from __future__ import annotations

import polars as pl
import pytest

from cxchange.measure.mixed import (
    MixedScalesError,
    answers_by_scale,
    check_one_scale,
    group_scale,
    rows_by_scale,
    split_by_scale,
)

SCALES = {"hotels": 5, "airline": 10, "motels": 5}


def _counts(rows: list[tuple[str, str, float, int]]) -> pl.DataFrame:
    """(month, source, value, count) rows as grouped_counts counts them by source."""
    return pl.DataFrame(rows, schema=["month", "source", "__value", "__count"], orient="row")


FRAME = _counts([
    ("2026-05", "hotels", 4.0, 3), ("2026-05", "motels", 4.0, 1), ("2026-05", "airline", 4.0, 2),
    ("2026-06", "hotels", 5.0, 1), ("2026-06", "airline", 9.0, 4),
])  # fmt: skip


def test_answers_are_grouped_by_their_sources_scale_smallest_first() -> None:
    got = answers_by_scale({"motels": 1, "airline": 6, "hotels": 4, "empty": 0}, SCALES)
    assert got == {5: {"hotels": 4, "motels": 1}, 10: {"airline": 6}}
    assert list(got) == [5, 10]


def test_one_scale_in_scope_keeps_the_keys_asked_and_adds_the_sources_up() -> None:
    one = FRAME.filter(pl.col("source") != "airline")
    frame, keys, by_scale = split_by_scale(one, ["month"], SCALES, split=False, scope="all feedback")
    assert keys == ["month"] and by_scale == {5: {"hotels": 4, "motels": 1}}
    assert frame.sort("month").rows() == [("2026-05", 4.0, 4), ("2026-06", 5.0, 1)]


def test_two_scales_are_refused_with_the_sources_their_scales_and_the_way_out() -> None:
    with pytest.raises(MixedScalesError) as err:
        split_by_scale(FRAME, [], SCALES, split=False, scope="unit=H1")
    message = str(err.value)
    assert "rating answers in scope (unit=H1) are on 2 scales" in message
    assert "1-5 (hotels: 4, motels: 1); 1-10 (airline: 6)" in message
    assert "--where source=hotels" in message and "\n" not in message


def test_two_scales_split_into_one_group_per_scale_never_their_mean() -> None:
    frame, keys, _ = split_by_scale(FRAME, ["month"], SCALES, split=True, scope="all feedback")
    assert keys == ["month", "scale"]
    rows = {(r["month"], r["scale"], r["__value"]): r["__count"] for r in frame.to_dicts()}
    assert rows == {
        ("2026-05", "1-5", 4.0): 4, ("2026-05", "1-10", 4.0): 2, ("2026-06", "1-5", 5.0): 1,
        ("2026-06", "1-10", 9.0): 4,
    }  # fmt: skip
    # 1-5 before 1-10 (as numbers, not as text) within each month
    assert frame.filter(pl.col("month") == "2026-05")["scale"].to_list() == ["1-5", "1-10"]


def test_grouping_by_source_is_never_refused_each_source_being_one_scale() -> None:
    frame, keys, by_scale = split_by_scale(FRAME, ["source"], SCALES, split=False, scope="all feedback")
    assert keys == ["source"] and len(by_scale) == 2 and frame["__count"].sum() == 11


def test_rows_carry_their_own_scale_for_the_simulator_and_its_check() -> None:
    rows = pl.DataFrame({"source": ["a", "a", "b", "c"], "rating_scale": [5, 5, 10, None]})
    assert rows_by_scale(rows) == {5: {"a": 2, "c": 1}, 10: {"b": 1}}  # no scale stored: 1-5
    check_one_scale(rows_by_scale(rows.filter(pl.col("source") == "a")), "all feedback")
    with pytest.raises(MixedScalesError, match="1-10 \\(b: 1\\)"):
        check_one_scale(rows_by_scale(rows), "all feedback")


def test_a_groups_interval_is_bounded_by_its_own_scale() -> None:
    assert group_scale({"scale": "1-10"}, SCALES, 5) == 10
    assert group_scale({"source": "hotels"}, SCALES, 10) == 5
    assert group_scale({"month": "2026-05"}, SCALES, 10) == 10
