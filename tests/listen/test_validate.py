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
    good, rejects, warnings, _, _ = normalise_chunk(df, np.arange(2, 8), plan)
    assert good["external_id"].to_list() == ["a", "b", "f"]
    assert good["nps"].to_list() == [9, None, 3]  # b's score is unreadable: kept for its comment
    assert good["received_at"][2] is None  # a missing date is allowed; an unreadable one is not
    by_row = dict(zip(rejects.row_numbers, rejects.reasons, strict=True))
    assert set(by_row) == {4, 5, 6}
    assert "yesterday" in by_row[4]
    assert "10.5" in by_row[5] and "0 to 10" in by_row[5]  # a bad score and nothing else: rejected
    assert by_row[6].startswith("no feedback")
    assert dict(zip(rejects.row_numbers, rejects.columns, strict=True))[5] == "score"
    assert rejects.raws[0].startswith("c,yesterday,7")
    assert rejects.keys == ["received_at: not a date", "nps: not a whole number from 0 to 10", by_row[6]]
    assert warnings.row_numbers == [3, 7] and warnings.columns == ["score", "when"]  # f: kept undated, said
    assert "eleven" in warnings.reasons[0] and "kept without it" in warnings.reasons[0]
    assert warnings.raws[0].startswith("b,2025-01-03,eleven")
    assert good["attributes"].to_list()[0] == '{"region":"N"}'


def test_dates_that_are_misreadings_are_rejected_with_why() -> None:
    """A 0 read as Unix time (1970), milliseconds read as seconds (year 50970) and placeholder years are
    not feedback dates: rejected with the reading named, never stored (the old code stored them)."""
    df = _frame(
        when=["0", "1546300800", "1546300800123", "0001-01-01", "9999-12-31", "1700000000"],
        score=["9", "8", "7", "6", "5", "4"],
    )
    plan = plan_fields(df.columns, {"received_at": "when", "nps": "score"}, file="f.csv", date_format="%s")
    good, rejects, _, _, _ = normalise_chunk(df, np.arange(2, 8), plan)
    assert [str(d.date()) for d in good["received_at"].to_list()] == ["2019-01-01", "2023-11-14"]
    by_row = dict(zip(rejects.row_numbers, rejects.reasons, strict=True))
    assert set(by_row) == {2, 4, 5, 6}
    assert "Unix time 1970-01-01 00:00:00" in by_row[2] and "missing date" in by_row[2]
    assert "50970" in by_row[4] and "outside 1900-2199" in by_row[4] and "milliseconds" in by_row[4]
    # Without --date-format %s a run of 10 digits is not read, and the reason says what it may be.
    iso = plan_fields(df.columns, {"received_at": "when", "nps": "score"}, file="f.csv")
    _, rejects, _, _, _ = normalise_chunk(df.slice(1, 1), np.arange(3, 4), iso)
    assert rejects.reasons == [
        "received_at: cannot read '1546300800' as a date (Unix seconds? --date-format %s)"
    ]


def test_placeholder_years_are_rejected() -> None:
    df = _frame(when=["0001-01-01", "9999-12-31", "2024-02-29"], score=["1", "2", "3"])
    plan = plan_fields(df.columns, {"received_at": "when", "nps": "score"}, file="f.csv")
    good, rejects, _, _, _ = normalise_chunk(df, np.arange(2, 5), plan)
    assert good["nps"].to_list() == [3]
    # Year 1 is not read as a four-digit year at all; year 9999 is read, and refused as a placeholder.
    assert rejects.keys == ["received_at: not a date", "received_at: outside 1900-2199"]


def test_bad_score_is_dropped_when_another_score_is_left() -> None:
    df = _frame(nps=["12", "12", "7"], csat=["4", None, "9"])
    plan = plan_fields(df.columns, {"nps": "nps", "csat": "csat"}, file="f")
    good, rejects, warnings, _, _ = normalise_chunk(df, np.arange(2, 5), plan)
    assert good["nps"].to_list() == [None, 7] and good["csat"].to_list() == [4, None]
    assert warnings.row_numbers == [2, 4] and warnings.columns == ["nps", "csat"]
    assert rejects.row_numbers == [3] and rejects.keys == ["nps: not a whole number from 0 to 10"]


def test_structured_rows_kept_for_complaints_only() -> None:
    df = _frame(
        narrative=[None, None, "billing is wrong", None],
        product=["Mortgage", None, "Card", None],
        issue=["Late fee", "Fraud", None, None],
    )
    complaint = plan_fields(df.columns, {"text": "narrative"}, file="f", kind="complaint")
    good, rejects, _, _, structured = normalise_chunk(df, np.arange(2, 6), complaint)
    assert good.height == 3 and structured == 2
    assert rejects.row_numbers == [5] and rejects.reasons[0].startswith("no feedback")
    survey = plan_fields(df.columns, {"text": "narrative"}, file="f", kind="survey")
    good, rejects, _, _, structured = normalise_chunk(df, np.arange(2, 6), survey)
    assert good.height == 1 and structured == 0 and rejects.row_numbers == [2, 3, 5]
    # A complaint export without any narrative column at all is still an import of complaints.
    plan_fields(["product", "issue"], {}, file="f", kind="ticket")
    with pytest.raises(InputError, match="no feedback field"):
        plan_fields(["product", "issue"], {}, file="f", kind="review")


def test_unknown_units_counted_and_kept_only_where_unknown() -> None:
    df = _frame(t=["a", "b", "c", "d", "e"], store=["S1", "S9", "s9", None, "Nowhere"], region=list("NSNSN"))
    plan = plan_fields(df.columns, {"text": "t", "org_unit": "store"}, file="f")
    good, _, _, unknown, _ = normalise_chunk(df, np.arange(2, 7), plan, unit_lookup={"S1": 1})
    assert good["org_unit_id"].to_list() == [1, None, None, None, None]
    assert good["attributes"].to_list() == [
        '{"region":"N"}',
        '{"region":"S","org_unit":"S9"}',
        '{"region":"N","org_unit":"s9"}',
        '{"region":"S"}',
        '{"region":"N","org_unit":"Nowhere"}',
    ]
    assert dict(unknown.iter_rows()) == {"S9": 1, "s9": 1, "Nowhere": 1}


def test_dedup_key_prefers_external_id() -> None:
    df = _frame(id=["x1", None], t=["hello", "hello"])
    plan = plan_fields(df.columns, {"external_id": "id", "text": "t"}, file="f")
    good, *_ = normalise_chunk(df, np.array([2, 3]), plan)
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


def test_timezones_become_utc() -> None:
    df = _frame(t=["x"], when=["2024-03-16T01:00:00+01:00"])
    plan = plan_fields(df.columns, {"text": "t", "received_at": "when"}, file="f")
    good, *_ = normalise_chunk(df, np.array([2]), plan)
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


def test_an_old_date_written_as_digits_is_not_called_unix_time() -> None:
    """The "Unix time before 1971" check is for readings by %s only: 19650301 read by %Y%m%d is a date."""
    df = _frame(when=["19650301", "20240229"], score=["1", "2"])
    plan = plan_fields(
        df.columns, {"received_at": "when", "nps": "score"}, file="f.csv", date_format="%Y%m%d"
    )
    good, rejects, _, _, _ = normalise_chunk(df, np.arange(2, 4), plan)
    assert len(rejects) == 0 and [str(d.date()) for d in good["received_at"].to_list()] == [
        "1965-03-01",
        "2024-02-29",
    ]
