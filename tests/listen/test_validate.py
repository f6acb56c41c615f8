"""Validation of raw string chunks: scores, dates, rejects with reasons, hashes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxchange.core.errors import InputError
from cxchange.listen.validate import (
    check_scale,
    content_hashes,
    detect_date_format,
    normalise_chunk,
    plan_fields,
)


def _frame(**cols: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(cols, schema={k: pl.String for k in cols})


def test_scores_dates_and_reasons() -> None:
    df = _frame(
        id=["a", "b", "c", "d", "e", "f"],
        when=["2025-01-02", "2025-01-03", "yesterday", "2025-01-05", "2025-01-06", None],
        score=["9", "eleven", "7", "10.5", None, "3"],
        comment=["great", "meh", "fine", None, None, "bad"],
        region=["N", "S", "N", "S", "N", "S"],
    )
    plan = plan_fields(
        df.columns,
        {"external_id": "id", "received_at": "when", "nps": "score", "text": "comment"},
        file="f.csv",
    )
    good, rejects = normalise_chunk(df, np.arange(2, 8), plan)
    assert good["external_id"].to_list() == ["a", "f"]
    assert good["nps"].to_list() == [9, 3]
    assert good["received_at"][1] is None  # a missing date is allowed; an unreadable one is not
    by_row = dict(zip(rejects.row_numbers, rejects.reasons, strict=True))
    assert set(by_row) == {3, 4, 5, 6}
    assert "eleven" in by_row[3] and "0 to 10" in by_row[3]
    assert "yesterday" in by_row[4]
    assert "10.5" in by_row[5]
    assert by_row[6].startswith("no feedback")
    assert dict(zip(rejects.row_numbers, rejects.columns, strict=True))[3] == "score"
    assert rejects.raws[0].startswith("b,2025-01-03,eleven")
    assert good["attributes"].to_list()[0] == '{"region":"N"}'


def test_dedup_key_prefers_external_id() -> None:
    df = _frame(id=["x1", None], t=["hello", "hello"])
    plan = plan_fields(df.columns, {"external_id": "id", "text": "t"}, file="f")
    good, _ = normalise_chunk(df, np.array([2, 3]), plan)
    keys = good["dedup_key"].to_list()
    assert keys[0] == "x:x1" and keys[1].startswith("h:")


def test_mapping_errors_name_file_and_column() -> None:
    with pytest.raises(InputError) as err:
        plan_fields(["a", "b"], {"nps": "Score"}, file="survey.csv")
    assert "survey.csv" in str(err.value) and "'Score'" in str(err.value)
    with pytest.raises(InputError, match="no feedback field"):
        plan_fields(["a", "b"], {"external_id": "a"}, file="survey.csv")


def test_wrong_scale_is_fatal_with_row_and_column() -> None:
    df = _frame(stars=["7", "8", "9", "10", "6", "2"])
    plan = plan_fields(df.columns, {"rating": "stars"}, file="r.csv", rating_scale=5)
    with pytest.raises(InputError) as err:
        check_scale(df, plan, file="r.csv", row_numbers=np.arange(2, 8))
    assert "row 2" in str(err.value) and "'stars'" in str(err.value) and "--rating-scale 10" in str(err.value)
    check_scale(
        df,
        plan_fields(df.columns, {"rating": "stars"}, file="r.csv", rating_scale=10),
        file="r.csv",
        row_numbers=np.arange(2, 8),
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-03-15", "2024-12-01"], "%Y-%m-%d"),
        (["2024-03-15T10:11:12Z", "2024-03-16T00:00:00+01:00"], "%Y-%m-%dT%H:%M:%S%.f%z"),
        (["15/03/2024", "01/12/2024"], "%d/%m/%Y"),
        (["03/15/2024", "12/01/2024"], "%m/%d/%Y"),
        (["15.03.2024 10:30", "16.03.2024 11:00"], "%d.%m.%Y %H:%M"),
    ],
)
def test_detect_date_format(values: list[str], expected: str) -> None:
    assert detect_date_format(pl.Series(values)) == expected


def test_timezones_become_utc() -> None:
    df = _frame(t=["x"], when=["2024-03-16T01:00:00+01:00"])
    plan = plan_fields(df.columns, {"text": "t", "received_at": "when"}, file="f")
    good, _ = normalise_chunk(df, np.array([2]), plan)
    assert str(good["received_at"][0]) == "2024-03-16 00:00:00"


@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=5)),
            min_size=2,
            max_size=2,
        ),
        max_size=20,
    )
)
def test_content_hash_is_stable_and_distinguishes_null_from_empty(rows: list[list[str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String}, orient="row")
    assert content_hashes(frame) == content_hashes(frame.clone())
    hashes = content_hashes(frame)
    for r1, h1 in zip(rows, hashes, strict=True):
        for r2, h2 in zip(rows, hashes, strict=True):
            if r1 != r2:
                assert h1 != h2
