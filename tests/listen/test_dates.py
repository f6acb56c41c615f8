"""Dates: one reading per column (listen/dates.py), over generated columns in every supported format."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError
from cxchange.listen import dates
from cxchange.listen.dryrun import dry_run
from cxchange.listen.models import Feedback
from cxchange.listen.readers import open_table
from cxchange.listen.service import ImportOptions, import_file
from cxchange.listen.validate import normalise_chunk, plan_fields

# (how the column is written, the precision it keeps, its day/month order or None)
FORMATS: list[tuple[str, str, str | None]] = [
    ("%Y-%m-%d", "day", None),
    ("%Y-%m-%dT%H:%M", "minute", None),
    ("%Y-%m-%dT%H:%M:%S", "second", None),
    ("%Y-%m-%d %H:%M:%S", "second", None),
    ("%Y-%m-%dT%H:%M:%S.{ms}Z", "milli", None),
    ("%Y-%m-%dT%H:%M:%S.%fZ", "micro", None),
    ("%Y-%m-%dT%H:%M:%SZ", "second", None),
    ("%Y-%m-%dT%H:%M:%S{+02:00}", "second", None),
    ("%Y-%m-%dT%H:%M:%S{-0530}", "second", None),
    ("%Y-%m-%dT%H:%M:%S.{ms}{+01:00}", "milli", None),
    ("%Y/%m/%d", "day", None),
    ("%d %b %Y", "day", None),
    ("%b %d, %Y", "day", None),
    ("%d-%b-%y", "day", None),
    ("%d %b %y", "day", None),
    ("%d/%m/%Y", "day", dates.DAY_FIRST),
    ("%m/%d/%Y", "day", dates.MONTH_FIRST),
    ("%d.%m.%Y %H:%M", "minute", dates.DAY_FIRST),
    ("%m-%d-%Y %H:%M:%S", "second", dates.MONTH_FIRST),
    ("%d/%m/%y", "day", dates.DAY_FIRST),
    ("%m/%d/%Y %I:%M %p", "minute", dates.MONTH_FIRST),
]
OFFSETS = {
    "{+02:00}": timedelta(hours=2),
    "{-0530}": -timedelta(hours=5, minutes=30),
    "{+01:00}": timedelta(hours=1),
}


def _truncate(t: datetime, precision: str) -> datetime:
    if precision == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == "minute":
        return t.replace(second=0, microsecond=0)
    if precision == "second":
        return t.replace(microsecond=0)
    if precision == "milli":
        return t.replace(microsecond=t.microsecond // 1000 * 1000)
    return t


def _render(t: datetime, fmt: str) -> str:
    """`t` (UTC) as the export writes it: offsets shift the wall time, {ms} is milliseconds."""
    for token, delta in OFFSETS.items():
        if token in fmt:
            local = t + delta
            sign = "+" if delta >= timedelta(0) else "-"
            hours, minutes = divmod(abs(int(delta.total_seconds())) // 60, 60)
            zone = f"{sign}{hours:02d}:{minutes:02d}" if ":" in token else f"{sign}{hours:02d}{minutes:02d}"
            return _render(local, fmt.replace(token, zone))
    return t.strftime(fmt.replace("{ms}", f"{t.microsecond // 1000:03d}"))


moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 12, 31))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FORMATS),
    st.lists(moments, min_size=1, max_size=60),
    st.integers(min_value=1, max_value=25),
)
def test_a_column_gets_one_reading_and_round_trips(
    spec: tuple[str, str, str | None], when: list[datetime], chunk: int
) -> None:
    fmt, precision, order = spec
    column = pl.Series("d", [_render(t, fmt) for t in when])
    rows = np.arange(2, 2 + len(when), dtype=np.int64)
    reading = dates.decide(column, column="d", file="f.csv", rows=rows, whole_column=True)
    depends = order is not None and any(t.day != t.month for t in when)
    if order is not None and all(t.day <= 12 for t in when):
        # every value reads either way: reported, never silently guessed
        assert reading.ambiguous and reading.order is None
        assert reading.notes() and "'d'" in reading.notes()[0]
        with pytest.raises(InputError, match="--date-format"):
            dates.refuse_ambiguous(reading, file="f.csv")
        return
    assert not reading.ambiguous
    assert reading.order == (order if depends else reading.order)
    # the same column in another order of rows (a sample drawn elsewhere) gets the same reading
    again = dates.decide(column.reverse(), column="d", file="f.csv", whole_column=True)
    assert (again.order, again.ambiguous) == (reading.order, reading.ambiguous)
    assert reading.offsets == any(z in fmt for z in ("Z", *OFFSETS))
    # Chunk by chunk, as an import reads it: the same reading everywhere, and the generated times back.
    parts = [
        dates.read(column.slice(i, chunk), reading, rows=rows[i : i + chunk], file="f.csv")
        for i in range(0, len(when), chunk)
    ]
    got = pl.concat(parts).to_list()
    assert got == [_truncate(t, precision) for t in when]


@settings(max_examples=60, deadline=None)
@given(st.lists(moments, min_size=2, max_size=40), st.data())
def test_a_column_written_both_ways_is_refused(when: list[datetime], data: st.DataObject) -> None:
    # 25/03 can only be day-first, 03/25 only month-first, wherever they are in the column
    values = [t.strftime("%d/%m/%Y") for t in when] + ["25/03/2026", "03/25/2026"]
    values = data.draw(st.permutations(values))
    with pytest.raises(InputError, match="written both ways") as err:
        dates.decide(pl.Series("d", values), column="d", file="f.csv", rows=np.arange(2, 2 + len(values)))
    message = str(err.value)
    assert "f.csv" in message and "'d'" in message
    assert re.search(
        r"'\d\d/\d\d/\d{4}' \(row \d+\) can only be day-first, '03/25/2026' \(row \d+\)", message
    )


ISO_EXAMPLES = {
    "2026-01-31T10:00:00Z": datetime(2026, 1, 31, 10),
    "2026-01-31T10:00:00.123Z": datetime(2026, 1, 31, 10, 0, 0, 123000),
    "2026-01-31T10:00:00.123456Z": datetime(2026, 1, 31, 10, 0, 0, 123456),
    "2026-01-31T10:00": datetime(2026, 1, 31, 10),
    "2026-01-31T10:00:00+02:00": datetime(2026, 1, 31, 8),
    "2026-01-31T10:00:00+0200": datetime(2026, 1, 31, 8),
    "2026-01-31T10:00:00.5-01:00": datetime(2026, 1, 31, 11, 0, 0, 500000),
    "2026-01-31": datetime(2026, 1, 31),
    "2026-01-31 10:00:00": datetime(2026, 1, 31, 10),
}


def test_the_iso_examples_of_the_issue_in_one_mixed_column() -> None:
    column = pl.Series("d", list(ISO_EXAMPLES))
    reading = dates.decide(column, column="d", file="f")
    assert reading.offsets and reading.order is None and not reading.ambiguous
    rows = np.arange(2, 2 + column.len())
    assert dates.read(column, reading, rows=rows, file="f").to_list() == list(ISO_EXAMPLES.values())
    assert any("UTC" in n for n in reading.notes())


def test_a_mostly_date_column_reads_its_datetimes_too() -> None:
    values = [f"2026-01-{i % 28 + 1:02d}" for i in range(95)] + ["2026-02-01T09:30:00Z"] * 5
    reading = dates.decide(pl.Series("d", values), column="d", file="f")
    got = dates.read(pl.Series("d", values), reading, rows=np.arange(100), file="f")
    assert got.null_count() == 0 and got[-1] == datetime(2026, 2, 1, 9, 30)
    # a form the sample did not show, further down the file, is still read (same order only)
    late = pl.Series("d", ["2026-03-01 08:15", "01/03/2026"])
    got = dates.read(late, reading, rows=np.array([500, 501]), file="f").to_list()
    assert got[0] == datetime(2026, 3, 1, 8, 15) and got[1] is None  # no order decided: not read


def test_a_later_chunk_of_the_other_order_stops_the_import_naming_both_rows() -> None:
    reading = dates.decide(pl.Series("d", ["01/13/2026", "02/01/2026"]), column="d", file="f.csv")
    assert reading.order == dates.MONTH_FIRST
    chunk = pl.Series("d", ["02/14/2026", "03/04/2026", "25/03/2026"])
    with pytest.raises(InputError) as err:
        dates.read(chunk, reading, rows=np.array([50_001, 50_002, 50_003]), file="f.csv")
    message = str(err.value)
    assert "row 50001" in message and "row 50003" in message and "'25/03/2026'" in message
    assert "column 'd'" in message and "\n" not in message


def test_a_given_format_decides_an_ambiguous_column_and_must_fit() -> None:
    column = pl.Series("d", ["01/02/2026", "03/04/2026"])
    reading = dates.decide(column, column="d", file="f", date_format="%m/%d/%Y")
    assert not reading.ambiguous and reading.order == dates.MONTH_FIRST and reading.origin == "given"
    assert dates.read(column, reading, rows=np.array([2, 3]), file="f")[0] == datetime(2026, 1, 2)
    with pytest.raises(InputError, match="reads none"):
        dates.decide(column, column="d", file="f", date_format="%Y-%m-%d")
    with pytest.raises(InputError, match="can only be day-first"):
        dates.decide(pl.Series("d", ["25/03/2026"]), column="d", file="f", date_format="%m/%d/%Y")
    # the source's stored format gives way to a file that contradicts it
    stored = dates.decide(
        pl.Series("d", ["25/03/2026"]), column="d", file="f", date_format="%m/%d/%Y", origin="stored"
    )
    assert stored.order == dates.DAY_FIRST and stored.origin == "detected"


def test_normalise_chunk_without_a_plan_reading_decides_from_the_frame() -> None:
    frame = pl.DataFrame({"t": ["a", "b", "c"], "when": ["12/31/2025", "01/02/2026", None]})
    plan = plan_fields(frame.columns, {"text": "t", "received_at": "when"}, file="f")
    good, rejects, *_ = normalise_chunk(frame, np.array([2, 3, 4]), plan)
    assert len(rejects) == 0
    assert good["received_at"].to_list()[:2] == [datetime(2025, 12, 31), datetime(2026, 1, 2)]
    ambiguous = frame.with_columns(pl.Series("when", ["01/02/2026", "03/04/2026", None]))
    with pytest.raises(InputError, match="--date-format"):
        normalise_chunk(ambiguous, np.array([2, 3, 4]), plan, file="api")
    given = plan_fields(frame.columns, {"text": "t", "received_at": "when"}, file="f", date_format="%d/%m/%Y")
    good, *_ = normalise_chunk(ambiguous, np.array([2, 3, 4]), given, file="api")
    assert good["received_at"][0] == datetime(2026, 2, 1)


def test_a_large_csv_is_sampled_across_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sorted by date, 1 January first: only windows from the later part of the file show month-first."""
    n = 120_000
    days = np.sort(np.random.default_rng(1).integers(0, 365, n))
    when = pl.Series((np.datetime64("2025-01-01") + days.astype("timedelta64[D]")).astype("datetime64[us]"))
    path = tmp_path / "us.csv"
    pl.DataFrame({"id": range(n), "date": when.dt.to_string("%m/%d/%Y"), "text": ["x" * 40] * n}).write_csv(
        path
    )
    assert path.stat().st_size > 4 << 20  # over the read-whole threshold: windows
    sample = open_table(path).sample_column("date")
    assert not sample.whole and sample.rows is None and sample.values.len() > 10_000
    reading = dates.decide_sample(sample, file=str(path))
    assert reading.order == dates.MONTH_FIRST and not reading.ambiguous


def test_offsets_keep_utc_instants() -> None:
    t = datetime(2026, 6, 1, 12, tzinfo=UTC)
    local = t.astimezone(timezone(timedelta(hours=-7))).isoformat()
    reading = dates.decide(pl.Series("d", [local]), column="d", file="f")
    assert dates.read(pl.Series("d", [local]), reading, rows=np.array([2]), file="f")[0] == datetime(
        2026, 6, 1, 12
    )


FIXTURES = Path(__file__).parent / "fixtures"


def test_xlsx_date_cells_and_parquet_datetimes_are_sampled_whole(tmp_path: Path) -> None:
    sample = open_table(FIXTURES / "survey.xlsx").sample_column("Submitted At")
    assert sample.whole and sample.rows is not None and 4 in sample.rows.tolist()
    reading = dates.decide_sample(sample, file="survey.xlsx")
    got = dates.read(sample.values, reading, rows=sample.rows, file="survey.xlsx").to_list()
    assert got[0] == datetime(2024, 3, 1, 9, 15) and got[1] == datetime(2024, 3, 2)
    path = tmp_path / "p.parquet"
    when = [datetime(2026, 1, 31, 10, 0, 0, 123456), None]
    pl.DataFrame({"id": ["a", "b"], "when": when}).write_parquet(path)
    sample = open_table(path).sample_column("when")
    assert sample.whole and sample.rows.tolist() == [2, 3]  # type: ignore[union-attr]
    reading = dates.decide_sample(sample, file="p.parquet")
    assert dates.read(sample.values, reading, rows=sample.rows, file="p").to_list() == when  # type: ignore[arg-type]


def test_a_contradiction_the_sample_missed_stops_the_import_and_stores_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """A gzipped file is sampled from its head; its tail, day-first, is caught chunk by chunk."""
    head = [f"h{i},01/{13 + i % 15}/2026,8" for i in range(30_000)]  # month-first only
    tail = [f"t{i},{13 + i % 15}/02/2026,8" for i in range(30_000)]  # day-first only
    path = tmp_path / "both.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write("id,date,nps\n" + "\n".join(head + tail) + "\n")
    with pytest.raises(InputError) as err:
        import_file(engine, path, ImportOptions(source="s", chunk_rows=10_000))
    message = str(err.value)
    assert "both ways" in message and "'date'" in message and "row 30002" in message
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 0


def test_a_large_jsonl_is_sampled_across_the_file(tmp_path: Path) -> None:
    n = 60_000
    days = np.sort(np.random.default_rng(2).integers(0, 365, n))
    when = pl.Series((np.datetime64("2025-01-01") + days.astype("timedelta64[D]")).astype("datetime64[us]"))
    path = tmp_path / "d.jsonl"
    frame = pl.DataFrame({"id": range(n), "at": when.dt.to_string("%d.%m.%Y %H:%M"), "text": ["y" * 40] * n})
    frame.write_ndjson(path)
    assert path.stat().st_size > 4 << 20
    sample = open_table(path).sample_column("at")
    assert not sample.whole and sample.values.len() > 10_000
    assert dates.decide_sample(sample, file="d.jsonl").order == dates.DAY_FIRST


def test_a_large_csv_written_both_ways_is_refused_with_real_row_numbers(tmp_path: Path) -> None:
    """The windows see both orders but not their rows: the reader finds them, on this error only."""
    n = 35_000
    first = [f"a{i},01/{13 + i % 15}/2026,{'z' * 60}" for i in range(n)]  # month-first only
    second = [f"b{i},{13 + i % 15}/02/2026,{'z' * 60}" for i in range(n)]  # day-first only
    path = tmp_path / "both.csv"
    path.write_text("id,date,text\n" + "\n".join(first + second) + "\n")
    assert path.stat().st_size > 4 << 20
    reader = open_table(path)
    with pytest.raises(dates.WrittenBothWays) as err, dates.rows_located(reader.find_rows):
        dates.decide_sample(reader.sample_column("date"), file=str(path))
    message = str(err.value)
    day, row = re.search(r"'(\d\d)/02/2026' \(row (\d+)\) can only be day-first", message).groups()  # type: ignore[union-attr]
    assert int(row) == 35_002 + int(day) - 13  # the first row holding that value
    assert "'01/13/2026' (row 2) only month-first" in message


def test_dates_on_the_unix_epoch_are_said_never_changed(engine: Engine, tmp_path: Path) -> None:
    """1970-01-01 is a missing date some exports write as 0 (26 Skytrax reviews): the dry run and the
    import say how many, and the first row, in any format the column is read in; the rows are kept."""
    reading = dates.decide(
        pl.Series("when", ["2015-07-20", "1970-01-01", "2014-03-02", "1970-01-01 00:00:00"]),
        column="when", file="f.csv", rows=np.array([2, 3, 4, 5]), whole_column=True,
    )  # fmt: skip
    assert (reading.epoch, reading.epoch_row) == (2, 3)
    assert reading.notes() == [
        "received_at ('when'): 2 of 4 values are 1970-01-01 (first at row 3), the Unix epoch: usually a "
        "missing date written as 0. Those rows are kept on that day and open every trend in 1970-01; "
        "empty the date in those rows to store them undated"
    ]
    day_first = dates.decide(pl.Series("d", ["25/03/2015", "01/01/1970"]), column="d", file="f.csv")
    assert (
        day_first.epoch == 1
        and "1 of the 2 values sampled are 1970-01-01, the Unix epoch" in day_first.notes()[0]
    )
    assert dates.decide(pl.Series("d", ["2015-07-20", "1971-01-01"]), column="d", file="f").notes() == []
    path = tmp_path / "reviews.csv"
    path.write_text("date,comment,stars\n2015-07-20,fine,4\n1970-01-01,late,1\n2015-07-21,ok,3\n")
    result = import_file(engine, path, ImportOptions(source="r", map_options=("received_at=date",)))
    assert result.imported == 3  # kept, on that day
    assert "1 of 3 values are 1970-01-01 (first at row 3)" in result.as_dict()["dates"]["notes"][0]


def test_amazon_day_month_name_two_digit_year_is_read(engine: Engine, tmp_path: Path) -> None:
    """The Alexa reviews' "31-Jul-18": every one of 2,291 rows was rejected as "not a date"."""
    path = tmp_path / "alexa.csv"
    path.write_text("text,rating,date\nLove my Echo!,5,31-Jul-18\nStopped working,1,16-May-18\n")
    result = import_file(engine, path, ImportOptions(source="alexa"))
    assert (result.imported, result.rejected) == (2, 0)
    with engine.connect() as conn:
        got = sorted(conn.execute(select(Feedback.received_at)).scalars())
    assert got == [datetime(2018, 5, 16), datetime(2018, 7, 31)]


def test_a_date_column_no_value_of_which_reads_stops_the_import_before_storing(
    engine: Engine, tmp_path: Path
) -> None:
    """No format reads any value: the import rejected every row and exited 0 with 0 imported; now one
    line naming the file, the column and a value, and how to say the format. Nothing is stored."""
    path = tmp_path / "odd.csv"
    path.write_text("text,rating,date\nfine,5,31st July 2018\nbroken,1,1st June 2018\n")
    for dry in (True, False):
        with pytest.raises(InputError) as err:
            (dry_run if dry else import_file)(engine, path, ImportOptions(source="odd"))
        message = str(err.value)
        assert "column 'date'" in message and "none of the 2 values reads as a date" in message
        assert "'31st July 2018'" in message and "--date-format" in message
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 0
    # one readable value among them: the others are ordinary rejects, counted by reason
    path.write_text("text,rating,date\nfine,5,31st July 2018\nbroken,1,2018-06-01\n")
    result = import_file(engine, path, ImportOptions(source="odd"))
    assert (result.imported, result.rejected) == (1, 1)
