"""One reading per date column: decided once from the whole column (or a sample spread across the file)
before any row is stored, then applied to every chunk.

A "03/04/2026" means March or April depending on the writer, and nothing in the value says which. So:

* every candidate format is tried on the sample; values that only one order can read ("25/03/2026" is
  day-first, "03/25/2026" month-first) are the evidence. Both kinds in one column: the file is refused,
  naming a row of each. Neither kind, while some values depend on the order: the column is *ambiguous*,
  reported by the dry run and refused by the import unless ``--date-format`` (or the source's stored
  format) says which;
* the formats that cover the sample (a column may mix dates and datetimes) are applied to each chunk:
  the most common to every row, the others only to the rows it did not read. A row that only the other
  order reads stops the import (the transaction rolls back: nothing half-written);
* ISO 8601 with ``T`` or a space, minutes-only, fractions, ``Z`` and offsets (``+02:00``, ``+0200``) are
  read; offsets are converted to UTC and the result stored naive (UTC).

Everything per row is a polars expression (chrono's parser); Python only loops over formats.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.listen.readers import ColumnSample

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
# Without fractions before with: on a tie the plain form wins, and polars reads it about 5x faster.
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S%.f", " %I:%M %p", " %I:%M:%S %p")
# Formats whose meaning does not depend on a day/month order. %#z reads Z, +02:00 and +0200.
ORDER_FREE: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    # Two-digit years beside a month name (Amazon's review exports: "31-Jul-18"); %Y would read "18" as
    # the year 18, which _four_digit drops, so every row was rejected as "not a date".
    "%d-%b-%y",
    "%d %b %y",
    "%d %b %Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d, %Y %H:%M",
    "%b %d, %Y %I:%M %p",
)


def numeric_formats(order: str) -> tuple[str, ...]:
    """Day/month/year formats of one order: separators / . -, two- then four-digit years (chrono's %Y
    also reads "26", so %y must come first to win the tie), with or without a time."""
    first, second = ("%d", "%m") if order == DAY_FIRST else ("%m", "%d")
    return tuple(
        f"{first}{sep}{second}{sep}{year}{time}" for sep in "/.-" for year in ("%y", "%Y") for time in _TIMES
    )


CANDIDATES = {
    None: ORDER_FREE,
    DAY_FIRST: numeric_formats(DAY_FIRST),
    MONTH_FIRST: numeric_formats(MONTH_FIRST),
}


def order_of(fmt: str) -> str | None:
    """The day/month order a strftime-like format states, or None when it states none (ISO, %b)."""
    d, m = fmt.find("%d"), fmt.find("%m")
    y = fmt.find("%Y") if "%Y" in fmt else fmt.find("%y")
    if d < 0 or m < 0 or 0 <= y < min(d, m):
        return None  # year first (ISO, Y/M/D) or a named month: no order to decide
    return DAY_FIRST if d < m else MONTH_FIRST


@dataclass(frozen=True)
class DateReading:
    """How one column's dates are read, and why (recorded with the batch)."""

    column: str
    formats: tuple[str, ...]  # the most common first; the others read only what it did not
    order: str | None  # DAY_FIRST, MONTH_FIRST, or None when no value depends on it
    ambiguous: bool  # values depend on the order and nothing decides it: a guess, refused by an import
    origin: str  # "given" (--date-format), "stored" (the source's, from an earlier import), "detected"
    sampled: int  # values the decision looked at
    whole_column: bool  # the sample is the whole column (else spread across the file, or its head)
    evidence: str  # one line: what decided it
    examples: tuple[str, ...] = ()  # values that read either way (ambiguous columns)
    offsets: bool = False  # some values carry a UTC offset, converted to UTC
    example_value: str | None = None  # a value only `order` reads, and its row when known
    example_row: int | None = None
    epoch: int = 0  # sampled values on 1970-01-01, and the first one's row when known
    epoch_row: int | None = None
    unread: int = 0  # sampled values no format of the reading reads, and the first of them
    unread_value: str | None = None

    def notes(self) -> list[str]:
        """What the dry run and the import report say about the column."""
        out = []
        if self.ambiguous:
            shown = ", ".join(repr(v) for v in self.examples)
            out.append(
                f"received_at ({self.column!r}): every date could be day-first or month-first "
                f"(e.g. {shown}); the import needs --date-format '%d/%m/%Y' or '%m/%d/%Y' "
                "(the dry run read them day-first)"
            )
        if self.offsets:
            out.append(
                f"received_at ({self.column!r}): times with a UTC offset or Z are stored converted to UTC"
            )
        if self.epoch:
            of = f"{self.sampled:,} values" if self.whole_column else f"the {self.sampled:,} values sampled"
            at = f" (first at row {self.epoch_row})" if self.epoch_row is not None else ""
            out.append(
                f"received_at ({self.column!r}): {self.epoch:,} of {of} are 1970-01-01{at}, the Unix "
                "epoch: usually a missing date written as 0. Those rows are kept on that day and open every "
                "trend in 1970-01; empty the date in those rows to store them undated"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        keys = ("column", "formats", "order", "ambiguous", "origin", "sampled", "whole_column", "evidence")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(self, k)) for k in keys)}


def parse_expr(values: pl.Expr, fmt: str) -> pl.Expr:
    """`values` (stripped strings) read with one format: naive UTC datetimes (us), null where it fails."""
    if "%z" in fmt or "%#z" in fmt or "%:z" in fmt:
        parsed = values.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC", cache=False)
        return parsed.dt.replace_time_zone(None)
    # cache=False: export timestamps are nearly all distinct, so the cache of unique values only costs.
    return values.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


# chrono's %Y also reads "26" (year 26): a year-first or d/m/Y format must not take a two-digit year,
# which %y reads. Checked per value where it is cheap (the sample, the rows the main format missed),
# and by one minimum over the whole chunk otherwise (wrapping the parse in a condition halves its speed).
_FIRST_YEAR = datetime(1000, 1, 1)


def _four_digit(parsed: pl.Expr, fmt: str) -> pl.Expr:
    return pl.when(parsed.dt.year() >= 1000).then(parsed) if "%Y" in fmt else parsed


def parse(values: pl.Series, fmt: str) -> pl.Series:
    return pl.select(_four_digit(parse_expr(pl.lit(values), fmt), fmt)).to_series().alias(values.name)


def _read_by(values: pl.Series, formats: Sequence[str]) -> pl.DataFrame:
    """One boolean column per format (named by its index): does it read the value? One polars query
    for all formats: ~90 small queries cost more than the parsing."""
    v = pl.col("v")
    exprs = [_four_digit(parse_expr(v, f), f).is_not_null().alias(str(i)) for i, f in enumerate(formats)]
    return pl.DataFrame({"v": values}).select(exprs)


SNIFF_VALUES = 200  # values of a column looked at to say it holds dates
SNIFF_SHARE = 0.9  # ... and the share of them some date format must read


def looks_like_dates(values: pl.Series) -> bool:
    """Whether a column's first non-empty values read as dates (any format, either day/month order):
    for telling the user which unmapped column may be the date, never for mapping it unasked."""
    head = values.cast(pl.String).str.strip_chars().drop_nulls()
    head = head.filter(head != "").head(SNIFF_VALUES)
    if head.len() == 0 or bool(head.str.contains(r"^[+-]?\d+(?:\.\d+)?$").to_numpy().mean() > 0.5):
        return False  # numbers (counts, scores, Unix times) are not written dates
    formats = ORDER_FREE + CANDIDATES[DAY_FIRST] + CANDIDATES[MONTH_FIRST]
    read = _masks(head, formats)
    hit = np.zeros(head.len(), dtype=bool)
    for mask in read.values():
        hit |= mask
    return bool(hit.mean() >= SNIFF_SHARE)


_LEADING_DAY_OR_MONTH = re.compile(r"^%-?[dme][^%\d]")


def _masks(values: pl.Series, formats: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Which values each format reads. Only formats that read one of a few values of some shape (digits
    as 9: "99/99/9999") are tried on the whole sample, with their other-order twins (the evidence);
    the rest read nothing, without trying ~90 formats on 20,000 values."""
    none = np.zeros(values.len(), dtype=bool)
    # A format opening with a day or month (1-2 digits) then a separator cannot read a value opening
    # with three digits (a year-first date): when every value does, those formats read nothing and
    # are not tried (77 of the 96; most of the cost of a survey answer's import).
    if values.len() and bool(values.str.contains(r"^\d{3}").all()):
        hopeless = {f for f in formats if _LEADING_DAY_OR_MONTH.match(f)}
        formats_tried = tuple(f for f in formats if f not in hopeless)
        tried = _masks_of(values, formats_tried) if formats_tried else {}
        return {**dict.fromkeys(formats, none), **tried}
    return _masks_of(values, formats)


def _masks_of(values: pl.Series, formats: tuple[str, ...]) -> dict[str, np.ndarray]:
    # Shapes of every value of a small sample, of ~2,000 spread across a large one (a rarer form the
    # sample holds is still read: dates.read tries every format of the order on what is left).
    spread = values.gather_every(max(values.len() // 2000, 1))
    shapes = pl.DataFrame({"v": spread, "s": spread.str.replace_all(r"\d", "9")})
    few = _read_by(shapes.group_by("s").head(8)["v"], formats).select(pl.all().any()).row(0)
    hit = {f for f, any_read in zip(formats, few, strict=True) if any_read}
    for f in list(hit):
        if order_of(f):
            hit.add(f.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m"))
    tried = [f for f in formats if f in hit]
    full = _read_by(values, tried)
    none = np.zeros(values.len(), dtype=bool)
    masks = {f: full[str(i)].to_numpy() for i, f in enumerate(tried)}
    return {f: masks.get(f, none) for f in formats}


def _cover(masks: dict[str, np.ndarray], allowed: tuple[str, ...], todo: np.ndarray) -> list[str]:
    """Greedy: the format reading most of what is left, until nothing more is read (ties: list order)."""
    chosen: list[str] = []
    while todo.any():
        gains = [int((masks[f] & todo).sum()) for f in allowed]
        best = int(np.argmax(gains)) if gains else 0
        if not gains or gains[best] == 0:
            break
        chosen.append(allowed[best])
        todo = todo & ~masks[allowed[best]]
    return chosen


def _where(values: np.ndarray, rows: np.ndarray | None, i: int) -> str:  # for a message
    at = f"row {int(rows[i])}" if rows is not None else "a sampled row"
    return f"{values[i]!r} ({at})"


def decide(
    sample: pl.Series,
    *,
    column: str,
    file: str,
    rows: np.ndarray | None = None,
    whole_column: bool = False,
    date_format: str | None = None,
    origin: str = "given",
) -> DateReading:
    """Decide the reading of a date column from `sample` (its values, whole or spread across the file;
    `rows`: their row numbers when known). `date_format`: the user's (origin "given", must fit) or the
    source's from an earlier import (origin "stored", dropped if this file contradicts it)."""
    stripped = sample.cast(pl.String).str.strip_chars()
    keep = (stripped.is_not_null() & (stripped != "")).to_numpy()
    values = stripped.filter(pl.Series(keep))
    row_numbers = np.asarray(rows)[keep] if rows is not None else None
    values_np = values.to_numpy()
    n = values.len()
    given = parse(values, date_format).is_not_null().to_numpy() if date_format else None
    if given is not None and given.all():
        # The given format reads every value: the order-free formats would only cover what it leaves
        # (nothing), so only the day/month ones are tried, for the evidence of an order.
        masks = _masks(values, CANDIDATES[DAY_FIRST] + CANDIDATES[MONTH_FIRST])
    else:
        masks = _masks(values, ORDER_FREE + CANDIDATES[DAY_FIRST] + CANDIDATES[MONTH_FIRST])
    if date_format and given is not None and (date_format not in masks or given.all()):
        masks[date_format] = given  # when it reads all: the same as its sampled mask would be
    day = np.zeros(n, dtype=bool)
    month = np.zeros(n, dtype=bool)
    for f in CANDIDATES[DAY_FIRST]:
        day |= masks[f]
    for f in CANDIDATES[MONTH_FIRST]:
        month |= masks[f]
    day_only, month_only, both = day & ~month, month & ~day, day & month
    if day_only.any() and month_only.any():
        d, m = int(np.argmax(day_only)), int(np.argmax(month_only))
        at = (lambda i: int(row_numbers[i])) if row_numbers is not None else (lambda i: None)
        both_ways = [(str(values_np[d]), at(d), DAY_FIRST), (str(values_np[m]), at(m), MONTH_FIRST)]
        raise WrittenBothWays(both_ways, file=file, column=column)
    evidence_order = DAY_FIRST if day_only.any() else MONTH_FIRST if month_only.any() else None
    only = day_only if evidence_order == DAY_FIRST else month_only
    example = int(np.argmax(only)) if evidence_order else None
    ex_value = str(values_np[example]) if example is not None else None
    ex_row = int(row_numbers[example]) if example is not None and row_numbers is not None else None
    given_order = order_of(date_format) if date_format else None
    if date_format and given_order and evidence_order and given_order != evidence_order:
        if origin == "given":
            raise InputError(
                f"--date-format {date_format!r} is {given_order}, but "
                f"{_where(values_np, row_numbers, example or 0)} can only be {evidence_order}",
                file=file,
                column=column,
            )
        date_format = None
    if date_format and n and not masks[date_format].any():
        if origin == "given":
            raise InputError(
                f"--date-format {date_format!r} reads none of the {n:,} values looked at "
                f"(e.g. {values_np[0]!r})",
                file=file,
                column=column,
            )
        date_format = None  # the source's stored format does not fit this file: decide afresh
    order = (given_order or evidence_order) if date_format else evidence_order
    ambiguous = order is None and bool(both.any())
    read_as = order or DAY_FIRST  # an ambiguous column is only read (day-first) by a dry run
    allowed = ORDER_FREE + CANDIDATES[read_as]
    todo = np.ones(n, dtype=bool)
    formats: list[str] = []
    if date_format:
        formats.append(date_format)
        todo &= ~masks[date_format]
    formats += [f for f in _cover(masks, allowed, todo) if f not in formats]
    if not formats:
        formats = [date_format or ORDER_FREE[0]]
    offsets = any("z" in f and masks[f].any() for f in formats)
    if date_format:
        by = "--date-format" if origin == "given" else "the format stored on the source"
        evidence = f"{by} {date_format!r}"
    elif evidence_order:
        count = int(only.sum())
        evidence = f"{count:,} of {n:,} values read only {evidence_order} (e.g. {ex_value!r})"
    elif ambiguous:
        evidence = f"all {n:,} values read either way"
    else:
        evidence = f"{n:,} values; none depends on a day/month order"
    examples = tuple(dict.fromkeys(str(v) for v in values_np[both][:200]))[:3]
    # 1970-01-01: a missing date some exports write as 0 (26 Skytrax reviews opened the trend 37 years
    # early, silently): said, never changed.
    read = pl.DataFrame({"v": values}).select(
        pl.coalesce([_four_digit(parse_expr(pl.col("v"), f), f) for f in formats]).dt.date().alias("d")
    )["d"]
    epoch_mask = (read == date(1970, 1, 1)).fill_null(False).to_numpy()
    epoch_at = np.flatnonzero(epoch_mask)
    unread_at = np.flatnonzero(read.is_null().to_numpy())
    return DateReading(
        column=column,
        sampled=n,
        whole_column=whole_column,
        formats=tuple(formats),
        order=order,
        ambiguous=ambiguous,
        origin=origin if date_format else "detected",
        evidence=evidence,
        examples=examples,
        offsets=offsets,
        example_value=ex_value,
        example_row=ex_row,
        epoch=int(epoch_mask.sum()),
        epoch_row=int(row_numbers[epoch_at[0]]) if row_numbers is not None and epoch_at.size else None,
        unread=int(unread_at.size),
        unread_value=str(values_np[unread_at[0]]) if unread_at.size else None,
    )


def decide_sample(
    sample: ColumnSample, *, file: str, date_format: str | None = None, origin: str = "given"
) -> DateReading:
    """`decide` over a reader's sample of the column (TableReader.sample_column)."""
    return decide(
        sample.values,
        column=sample.values.name,
        file=file,
        rows=sample.rows,
        whole_column=sample.whole,
        date_format=date_format,
        origin=origin,
    )


def refuse_ambiguous(reading: DateReading, *, file: str) -> None:
    """An import never stores a guess that may swap day and month."""
    if reading.ambiguous:
        shown = ", ".join(repr(v) for v in reading.examples)
        raise InputError(
            f"every date could be day-first or month-first (e.g. {shown}): give --date-format "
            "'%d/%m/%Y' or '%m/%d/%Y' (it is remembered for the source)",
            file=file,
            column=reading.column,
        )


def refuse_unreadable(reading: DateReading, *, file: str) -> None:
    """A date column of which no value reads as a date is a format this module does not know, not a
    file of bad rows: the import stopped before storing, instead of rejecting every row and exiting 0
    ("31-Jul-18" before two-digit years with month names were read: 2,291 of 2,291 rows rejected)."""
    if reading.sampled and reading.unread == reading.sampled:
        of = f"the {reading.sampled:,} values" + ("" if reading.whole_column else " sampled")
        raise InputError(
            f"received_at: none of {of} reads as a date (e.g. {reading.unread_value!r}): give "
            "--date-format with how it is written, strftime-like ('%d-%b-%y' reads 31-Jul-18), or map "
            "received_at to another column with --map received_at=COLUMN",
            file=file,
            column=reading.column,
        )


def read(values: pl.Series, reading: DateReading, *, rows: np.ndarray, file: str) -> pl.Series:
    """The column's datetimes (naive UTC, null where no format of the reading fits). A value that only
    the other day/month order reads means the file is written both ways: InputError naming both rows."""
    raw = values.str.strip_chars()
    fmt = reading.formats[0]
    out = pl.select(parse_expr(pl.lit(raw), fmt)).to_series()
    low = out.min()
    if "%Y" in fmt and isinstance(low, datetime) and low < _FIRST_YEAR:
        out = pl.select(_four_digit(pl.lit(out), fmt)).to_series()
    failed = raw.is_not_null() & out.is_null()
    if not failed.any():  # the usual case: one pass of one format
        return out
    idx = failed.arg_true()
    rest = raw.gather(idx)
    # The reading's other formats first, then those the sample did not show (a rare form further down
    # the file), of the same order only.
    # No order decided: a d/m value the sample did not show is not read (it would be a guess); the dry
    # run of an ambiguous column reads day-first, as it says.
    numeric = CANDIDATES[reading.order or DAY_FIRST] if reading.order or reading.ambiguous else ()
    extra = list(reading.formats[1:])
    extra += [f for f in ORDER_FREE + numeric if f not in reading.formats]
    fixed = pl.select(pl.coalesce([parse(rest, f) for f in extra])).to_series()
    out = out.scatter(idx, fixed)
    if reading.order and not reading.ambiguous:
        _check_other_order(rest, fixed, reading, rows[idx.to_numpy()], raw, out, rows, file)
    return out


def _check_other_order(
    rest: pl.Series,
    fixed: pl.Series,
    reading: DateReading,
    rest_rows: np.ndarray,
    raw: pl.Series,
    out: pl.Series,
    rows: np.ndarray,
    file: str,
) -> None:
    unread = fixed.is_null().to_numpy()
    if not unread.any():
        return
    other = MONTH_FIRST if reading.order == DAY_FIRST else DAY_FIRST
    candidates = rest.filter(pl.Series(unread))
    other_read = pl.select(pl.coalesce([parse(candidates, f) for f in CANDIDATES[other]])).to_series()
    hits = other_read.is_not_null().to_numpy()
    if not hits.any():
        return  # not a date either way: an ordinary reject
    i = int(np.argmax(hits))
    bad_value, bad_row = candidates[i], int(rest_rows[unread][i])
    # A row of this chunk that only the decided order reads; else the decision's own example.
    mine = (
        out.is_not_null()
        & pl.select(
            pl.coalesce([parse(raw, f) for f in CANDIDATES[other]]).is_null()
            & pl.coalesce([parse(raw, f) for f in CANDIDATES[reading.order or DAY_FIRST]]).is_not_null()
        ).to_series()
    )
    if mine.any():
        j = int(mine.arg_true()[0])
        good: tuple[str, int | None, str] = (str(raw[j]), int(rows[j]), reading.order or DAY_FIRST)
    else:
        good = (reading.example_value or "", reading.example_row, reading.order or DAY_FIRST)
    raise WrittenBothWays([good, (str(bad_value), bad_row, other)], file=file, column=reading.column)


class WrittenBothWays(InputError):
    """Values only day-first reads and values only month-first reads, in one column: (value, row or
    None when a windowed sample does not know it, order) of each."""

    def __init__(self, examples: list[tuple[str, int | None, str]], *, file: str, column: str) -> None:
        self.examples = examples
        (v1, r1, o1), (v2, r2, o2) = examples

        def at(row: int | None) -> str:
            return f"row {row}" if row is not None else "a sampled row"

        message = (
            f"dates are written both ways: {v1!r} ({at(r1)}) can only be {o1}, {v2!r} ({at(r2)}) only {o2}; "
            "fix the file or split it"
        )
        super().__init__(message, file=file, column=column)


@contextlib.contextmanager
def rows_located(find_rows: Callable[[str, list[str]], dict[str, int]]) -> Iterator[None]:
    """Name the rows of a WrittenBothWays found in a windowed sample: `find_rows(column, values)` (the
    reader's) reads the file until it has seen each value. Only on this error, so no pass otherwise."""
    try:
        yield
    except WrittenBothWays as exc:
        missing = [v for v, row, _ in exc.examples if row is None]
        if not missing or exc.column is None:
            raise
        found = find_rows(exc.column, missing)
        examples = [(v, row if row is not None else found.get(v), o) for v, row, o in exc.examples]
        raise WrittenBothWays(examples, file=exc.file or "", column=exc.column) from None
