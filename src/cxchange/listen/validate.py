"""Turn a chunk of raw string columns into canonical feedback rows, or rejected rows with a reason.

Everything here is a polars column expression: a million rows are validated without a Python
loop per row. The only per-row Python is the content hash (hashlib), about a microsecond a row.

Nothing of value is thrown away: a bad score on a row that still says something (a comment, another
score, or, for complaint and ticket sources, its categorised fields) only loses that score, with a
warning; a row is rejected when nothing usable would be left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.listen.dates import DateReading, refuse_ambiguous
from cxchange.listen.dates import decide as decide_dates
from cxchange.listen.dates import read as read_dates

SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SCORE_FIELDS = ("nps", "csat", "ces", "rating")
CONTENT_FIELDS = ("text", *SCORE_FIELDS)
# Sources whose records are the signal even without a comment or score: a complaint filed under a
# product and an issue, a ticket with a category. Surveys, reviews and the rest need text or a score.
STRUCTURED_KINDS = frozenset({"complaint", "ticket"})
NO_FEEDBACK = "no feedback: text and every score are empty"
NO_FEEDBACK_STRUCTURED = "no feedback: text, every score and every other column are empty"
# The fields of a feedback row that validation produces; store.FEEDBACK_COLUMNS writes them with the ids.
FEEDBACK_FIELDS = (
    "external_id",
    "dedup_key",
    "content_hash",
    "received_at",
    "channel",
    "customer_id",
    "org_unit_id",
    "attributes",
    "nps",
    "csat",
    "ces",
    "rating",
    "text",
    "customer_value",
)
OUTPUT_COLUMNS = ("row_number", *FEEDBACK_FIELDS)
# The canonical rows also carry each attribute as a text column of this prefix and its name (what the
# `attributes` JSON holds), so the columnar copy need not decode the JSON it was just encoded from.
ATTRIBUTE_PREFIX = "attr:"


@dataclass(frozen=True)
class FieldPlan:
    """What to do with a file's columns: field -> column, and everything else kept as attributes."""

    mapping: Mapping[str, str]
    rating_scale: int = 5
    # Where rating_scale came from: "declared" (--rating-scale), "source" (the scale of the source's
    # stored ratings), "read" (neither: 1-5, said in the import's output).
    rating_origin: str = "read"
    date_format: str | None = None
    attribute_columns: Sequence[str] = ()
    # A row with no text or score but some other field (product, issue...) is kept (STRUCTURED_KINDS).
    keep_structured: bool = False
    # Import a column that mixes rating scales, leaving the out-of-scale values empty (scales.py).
    allow_mixed_scales: bool = False
    # How received_at is read, decided once for the whole column before the import (dates.py); None:
    # each frame given to normalise_chunk decides from itself (a caller holding the whole column).
    dates: DateReading | None = None

    def score_ranges(self) -> dict[str, tuple[int, int]]:
        """(low, high) of every mapped score field, the rating on the source's scale."""
        ranges = {**SCORE_RANGES, "rating": (1, self.rating_scale)}
        return {f: ranges[f] for f in SCORE_FIELDS if f in self.mapping}


@dataclass
class Rejects:
    """Rows rejected (or, used for warnings, kept with a note): where, why, and the raw row.

    `keys` is the reason without the row's own value ("nps: not a whole number from 0 to 10"), so
    the summary can group thousands of rejects into a few lines."""

    row_numbers: list[int] = field(default_factory=list)
    columns: list[str | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add(self, row_number: int, column: str | None, reason: str, raw: str, key: str | None = None) -> None:
        self.row_numbers.append(row_number)
        self.columns.append(column)
        self.reasons.append(reason)
        self.raws.append(raw)
        self.keys.append(key or reason)

    def extend(self, other: Rejects) -> None:
        self.row_numbers += other.row_numbers
        self.columns += other.columns
        self.reasons += other.reasons
        self.raws += other.raws
        self.keys += other.keys

    def __len__(self) -> int:
        return len(self.row_numbers)

    def sort(self) -> None:
        """In file order, whichever check (reader or validation) rejected the row."""
        order = sorted(range(len(self)), key=self.row_numbers.__getitem__)
        self.row_numbers = [self.row_numbers[i] for i in order]
        self.columns = [self.columns[i] for i in order]
        self.reasons = [self.reasons[i] for i in order]
        self.raws = [self.raws[i] for i in order]
        self.keys = [self.keys[i] for i in order]


class Normalised(NamedTuple):
    """One validated chunk: what is stored, what is not, and what the summary must say about it."""

    good: pl.DataFrame  # canonical rows: OUTPUT_COLUMNS, then the attribute columns (ATTRIBUTE_PREFIX)
    rejects: Rejects
    warnings: Rejects  # rows kept, but not as they were (a bad score left empty)
    unknown_units: pl.DataFrame  # value, rows: org_unit values that name no known unit
    structured_only: int  # rows kept with no text or score (STRUCTURED_KINDS)


def plan_fields(
    columns: Sequence[str],
    mapping: Mapping[str, str],
    *,
    file: str,
    rating_scale: int = 5,
    date_format: str | None = None,
    kind: str | None = None,
    allow_mixed_scales: bool = False,
) -> FieldPlan:
    """Check a mapping against a header; the errors name the file and the column."""
    for fld, col in mapping.items():
        if col not in columns:
            raise InputError(
                f"mapping {fld}={col} names a column that does not exist (columns: {', '.join(columns)})",
                file=file,
                row=1,
                column=col,
            )
    used = set(mapping.values())
    attribute_columns = [c for c in columns if c not in used]
    keep_structured = kind in STRUCTURED_KINDS
    if not any(f in mapping for f in CONTENT_FIELDS) and not (keep_structured and attribute_columns):
        raise InputError(
            "no feedback field mapped: map at least one of text, nps, csat, ces, rating with --map "
            f"FIELD=COLUMN (columns: {', '.join(columns)})",
            file=file,
            row=1,
        )
    if rating_scale not in (5, 10):
        raise InputError(f"rating scale must be 5 or 10, not {rating_scale}", file=file)
    return FieldPlan(
        mapping=dict(mapping),
        rating_scale=rating_scale,
        date_format=date_format,
        attribute_columns=attribute_columns,
        keep_structured=keep_structured,
        allow_mixed_scales=allow_mixed_scales,
    )


def check_scale(frame: pl.DataFrame, plan: FieldPlan, *, file: str, row_numbers: np.ndarray) -> None:
    """A column that is mostly out of range is a wrong mapping or scale, not a batch of bad rows."""
    ranges = dict(SCORE_RANGES)
    ranges["rating"] = (1, plan.rating_scale)
    for fld, (low, high) in ranges.items():
        col = plan.mapping.get(fld)
        if col is None:
            continue
        nums = frame[col].str.strip_chars().cast(pl.Float64, strict=False)
        present = nums.drop_nulls()
        if present.len() < 5:
            continue
        out = (present < low) | (present > high)
        if out.to_numpy().mean() > 0.5:
            first = int(np.flatnonzero(((nums < low) | (nums > high)).fill_null(False).to_numpy())[0])
            hint = " (use --rating-scale 10 if the ratings run to 10)" if fld == "rating" else ""
            top = present.to_numpy().max()
            raise InputError(
                f"most values of {fld} are outside {low}-{high} (max {top:g}): wrong column or scale{hint}",
                file=file,
                row=int(row_numbers[first]),
                column=col,
            )


class _Check(NamedTuple):
    """One validation: the column it reads, whether a row fails it, why (per row), why (grouped)."""

    column: str
    bad: pl.Expr
    reason: pl.Expr
    key: str


KEPT_WITHOUT_SCORE = "; the row is kept without it"
KEPT_KEY = " (row kept without the score)"
UNDATED = "received_at: empty; the row is kept undated (in no trend or period)"
UNDATED_KEY = "received_at: empty (row kept undated)"


def _score_check(col: str, fld: str, low: float, high: float, *, whole: bool) -> _Check:
    raw = pl.col(col).str.strip_chars()
    num = raw.cast(pl.Float64, strict=False)
    bad = raw.is_not_null() & (
        num.is_null() | (num < low) | (num > high) | ((num != num.round(0)) if whole else pl.lit(False))
    )
    kind = "a whole number" if whole else "a number"
    reason = pl.format(f"{fld}: '{{}}' is not {kind} from {low:g} to {high:g}", raw)
    return _Check(col, bad, reason, f"{fld}: not {kind} from {low:g} to {high:g}")


# A feedback date outside these bounds is a misreading, not a date: Unix milliseconds read as seconds
# (year 50970), a 0 or small number read as Unix time (1970), a two-digit year gone wrong.
EARLIEST_DATE, LATEST_DATE = datetime(1900, 1, 1), datetime(2200, 1, 1)
# Unix time before 1971 is nearly always a missing date written as 0 (or a small count), not feedback.
_UNIX_FLOOR = datetime(1971, 1, 1)
_UNIX_SECONDS = r"^\d{9,10}$"  # 1973-03 to 2286-11 as Unix seconds


def _date_checks(col: str, unix: bool) -> list[_Check]:
    """received_at's checks, given `__received_at` (what the column's reading made of each value):
    unreadable; read, but outside EARLIEST_DATE..LATEST_DATE; with `unix` (a reading by %s), a number
    read as Unix time before 1971."""
    raw = pl.col(col).str.strip_chars()
    when = pl.col("__received_at")
    hint = pl.when(raw.str.contains(_UNIX_SECONDS)).then(pl.lit(" (Unix seconds? --date-format %s)"))
    unread = _present(col) & when.is_null()  # a blank (or all-space) date is no date: kept, undated
    reason = pl.concat_str(
        [pl.format("received_at: cannot read '{}' as a date", raw), hint.otherwise(pl.lit(""))]
    )
    span = f"{EARLIEST_DATE.year}-{LATEST_DATE.year - 1}"
    far = when.is_not_null() & ((when < EARLIEST_DATE) | (when >= LATEST_DATE))
    ms = pl.when(raw.str.contains(r"^\d{12,13}$")).then(pl.lit(" (Unix milliseconds? divide by 1000)"))
    far_reason = pl.concat_str(
        [
            pl.format(
                f"received_at: '{{}}' reads as {{}}, outside {span}", raw, when.dt.strftime("%Y-%m-%d")
            ),
            ms.otherwise(pl.lit("")),
        ]
    )
    zero = pl.lit(unix) & when.is_not_null() & raw.str.contains(r"^-?\d+$") & (when < _UNIX_FLOOR)
    zero_reason = pl.format(
        "received_at: '{}' reads as Unix time {}: a missing date written as a number, not a date",
        raw,
        when.dt.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return [
        _Check(col, unread, reason, "received_at: not a date"),
        _Check(col, far, far_reason, f"received_at: outside {span}"),
        _Check(col, zero, zero_reason, "received_at: a number read as Unix time before 1971"),
    ]


def _present(col: str) -> pl.Expr:
    """Not empty nor only whitespace (Unicode's, as strip_chars): one scan to the first other
    character, without copying the column as stripping it would."""
    return pl.col(col).str.contains(r"\S").fill_null(False)


def _any(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


def _first_failing(
    checks: Sequence[tuple[str, _Check]], last: pl.Expr, last_column: pl.Expr
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Reason, column and grouping key of the first of `checks` (flag column, check) a row fails."""
    reason, column, key = last, last_column, pl.lit(None, dtype=pl.String)
    for flag, check in reversed(checks):
        hit = pl.col(flag)
        reason = pl.when(hit).then(check.reason).otherwise(reason)
        column = pl.when(hit).then(pl.lit(check.column)).otherwise(column)
        key = pl.when(hit).then(pl.lit(check.key)).otherwise(key)
    return reason, column, key


def _noted(rows: pl.DataFrame, columns: Sequence[str]) -> Rejects:
    out = Rejects()
    if rows.height:
        out.row_numbers = rows["__row"].to_list()
        out.columns = rows["__column"].to_list()
        out.reasons = rows["__reason"].to_list()
        out.raws = _raw_rows(rows.select(columns))
        out.keys = rows["__key"].to_list()
    return out


def normalise_chunk(
    frame: pl.DataFrame,
    row_numbers: np.ndarray,
    plan: FieldPlan,
    *,
    unit_lookup: Mapping[str, int] | None = None,
    file: str = "<frame>",
) -> Normalised:
    """Validate and convert one chunk: canonical rows (OUTPUT_COLUMNS), rejects, warnings, and the
    unknown org units and structured-only rows the import summary reports. InputError (naming `file`)
    when the dates of the chunk contradict the column's reading (dates.read)."""
    m = plan.mapping
    df = frame.with_columns(pl.Series("__row", row_numbers, dtype=pl.Int64))
    scores = {
        fld: _score_check(m[fld], fld, low, high, whole=fld != "rating")
        for fld, (low, high) in plan.score_ranges().items()
    }
    hard: list[_Check] = []  # a row failing one of these is rejected, whatever else it holds
    if "received_at" in m:
        reading = plan.dates
        if reading is None:  # the frame is the whole column: decide here, and never guess
            reading = decide_dates(
                frame[m["received_at"]],
                column=m["received_at"],
                file=file,
                rows=row_numbers,
                whole_column=True,
                date_format=plan.date_format,
            )
            refuse_ambiguous(reading, file=file)
        when = read_dates(frame[m["received_at"]], reading, rows=row_numbers, file=file)
        df = df.with_columns(when.alias("__received_at"))
        hard.extend(_date_checks(m["received_at"], unix=any("%s" in f for f in reading.formats)))
    if "customer_value" in m:
        raw = pl.col(m["customer_value"]).str.strip_chars()
        cleaned = raw.str.replace_all(r"[\s$€£¥,]", "").cast(pl.Float64, strict=False)
        df = df.with_columns(cleaned.alias("__customer_value"))
        bad = raw.is_not_null() & pl.col("__customer_value").is_null()
        reason = pl.format("customer_value: '{}' is not a number", raw)
        hard.append(_Check(m["customer_value"], bad, reason, "customer_value: not a number"))

    # One boolean column per check; the reasons are only formatted for the (few) rows that fail.
    hard_flags = {f"__bad{i}": c for i, c in enumerate(hard)}
    score_flags = {f"__bad_{fld}": c for fld, c in scores.items()}
    df = df.with_columns(
        *(c.bad.fill_null(False).alias(flag) for flag, c in (hard_flags | score_flags).items())
    )
    score_bad = _any([pl.col(flag) for flag in score_flags])
    has_text = _present(m["text"]) if "text" in m else pl.lit(False)
    good_score = _any([_present(c.column) & ~pl.col(flag) for flag, c in score_flags.items()])
    structured = (
        _any([_present(c) for c in plan.attribute_columns]) if plan.keep_structured else pl.lit(False)
    )
    had_content = has_text | _any([_present(c.column) for c in scores.values()]) | structured
    left = has_text | good_score | structured  # what the row still holds once bad scores are dropped
    df = df.with_columns(
        (~had_content).alias("__empty"),
        (_any([pl.col(flag) for flag in hard_flags]) | ~had_content | (score_bad & ~left)).alias("__failed"),
        (~has_text & ~good_score & structured).alias("__structured_only"),
    )
    columns = frame.columns
    bad_rows = df.filter(pl.col("__failed"))
    rejects = Rejects()
    if bad_rows.height:
        # A hard check names the row's reason first, then a score, then "no feedback" when it had none.
        empty = NO_FEEDBACK_STRUCTURED if plan.keep_structured else NO_FEEDBACK
        reason, column, key = _first_failing(
            [*hard_flags.items(), *score_flags.items()],
            pl.when(pl.col("__empty")).then(pl.lit(empty)),
            pl.lit(None, dtype=pl.String),
        )
        bad_rows = bad_rows.with_columns(
            reason.alias("__reason"), column.alias("__column"), key.fill_null(reason).alias("__key")
        )
        rejects = _noted(bad_rows, columns)
    good = df.filter(~pl.col("__failed"))
    # Kept, but not as written: a bad score is dropped, a blank date (in a dated column) stores the row
    # undated, outside every trend. Each is said, row by row (42 hotel reviews went undated silently).
    kept = [
        (
            flag,
            _Check(c.column, c.bad, pl.concat_str([c.reason, pl.lit(KEPT_WITHOUT_SCORE)]), c.key + KEPT_KEY),
        )
        for flag, c in score_flags.items()
    ]
    if "received_at" in m:
        undated = _Check(m["received_at"], ~_present(m["received_at"]), pl.lit(UNDATED), UNDATED_KEY)
        good = good.with_columns(undated.bad.alias("__undated"))
        kept.append(("__undated", undated))
    warned = good.filter(_any([pl.col(flag) for flag, _ in kept]))
    warnings = Rejects()
    if warned.height:
        reason, column, key = _first_failing(
            kept, pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.String)
        )
        warned = warned.with_columns(
            reason.alias("__reason"),
            column.alias("__column"),
            key.alias("__key"),
        )
        warnings = _noted(warned, columns)
    dropped = {fld: flag for fld, flag in zip(scores, score_flags, strict=True)}
    canonical, unknown_units = _canonical(good, columns, plan, unit_lookup or {}, dropped)
    structured_only = int(good["__structured_only"].sum())
    return Normalised(canonical, rejects, warnings, unknown_units, structured_only)


def _raw_rows(frame: pl.DataFrame) -> list[str]:
    """A rejected row as CSV text in the file's own column order, so it can be fixed and re-imported."""
    text = frame.write_csv(include_header=False, line_terminator="\n")
    import csv
    import io

    out = []
    for rec in csv.reader(io.StringIO(text)):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(rec)
        out.append(buf.getvalue())
    return out


def _canonical(
    df: pl.DataFrame,
    columns: Sequence[str],
    plan: FieldPlan,
    unit_lookup: Mapping[str, int],
    dropped: Mapping[str, str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical rows (with their attribute columns), and the org_unit values (with their row counts)
    that name no known unit.
    `dropped`: score field -> flag column of the rows whose value for it is left empty (a warning)."""
    m = plan.mapping

    def text_col(fld: str) -> pl.Expr:
        if fld not in m:
            return pl.lit(None, dtype=pl.String)
        return pl.col(m[fld]).str.strip_chars().replace("", None)

    def score_col(fld: str, dtype: pl.DataType) -> pl.Expr:
        if fld not in m:
            return pl.lit(None, dtype=dtype)
        value = pl.col(m[fld]).str.strip_chars().cast(pl.Float64, strict=False).cast(dtype)
        return pl.when(pl.col(dropped[fld])).then(None).otherwise(value) if fld in dropped else value

    attrs = list(plan.attribute_columns)
    unit_raw = text_col("org_unit")
    lookup = {k.lower(): v for k, v in unit_lookup.items()}
    unit_id = unit_raw.str.to_lowercase().replace_strict(lookup, default=None, return_dtype=pl.Int64)
    out = df.with_columns(
        text_col("external_id").alias("external_id"),
        text_col("text").alias("text"),
        text_col("channel").alias("channel"),
        text_col("customer_id").alias("customer_id"),
        unit_raw.alias("__unit_raw"),
        unit_id.alias("org_unit_id"),
        score_col("nps", pl.Int16()).alias("nps"),
        score_col("csat", pl.Int16()).alias("csat"),
        score_col("ces", pl.Int16()).alias("ces"),
        score_col("rating", pl.Float64()).alias("rating"),
        (pl.col("__received_at") if "received_at" in m else pl.lit(None, dtype=pl.Datetime("us"))).alias(
            "received_at"
        ),
        (pl.col("__customer_value") if "customer_value" in m else pl.lit(None, dtype=pl.Float64)).alias(
            "customer_value"
        ),
    )
    unknown = pl.col("org_unit_id").is_null() & pl.col("__unit_raw").is_not_null()
    unknown_units = (
        out.select(pl.col("__unit_raw").filter(unknown).alias("value"))  # not the whole frame
        .group_by("value")
        .len()
        .rename({"len": "rows"})
    )
    attributes = pl.struct(*attrs).struct.json_encode() if attrs else pl.lit(None, dtype=pl.String)
    attribute_columns = [pl.col(c).alias(ATTRIBUTE_PREFIX + c) for c in attrs]
    if unknown_units.height:
        # An org unit we do not know is kept, with its value as written, as the attribute "org_unit"
        # on that row only (rows with a known unit, or none, get no such key rather than a null).
        key = "org_unit" if "org_unit" not in attrs else f"{m['org_unit']} (unknown unit)"
        unit_json = pl.struct(pl.col("__unit_raw").alias(key)).struct.json_encode()
        with_unit = (
            pl.concat_str([attributes.str.strip_suffix("}"), pl.lit(","), unit_json.str.strip_prefix("{")])
            if attrs
            else unit_json
        )
        attributes = pl.when(unknown).then(with_unit).otherwise(attributes)
        attribute_columns.append(pl.when(unknown).then(pl.col("__unit_raw")).alias(ATTRIBUTE_PREFIX + key))
    out = out.with_columns(attributes.alias("attributes"))
    # Hash only rows without an external id: hashing is the one per-row Python step here.
    no_id = out["external_id"].is_null()
    hashes = pl.repeat(None, out.height, dtype=pl.String, eager=True).alias("content_hash")
    if no_id.any():
        idx = no_id.arg_true()
        hashes = hashes.scatter(idx, content_hashes(df.select(sorted(columns))[idx]))
    out = out.with_columns(hashes).with_columns(
        pl.when(pl.col("external_id").is_not_null())
        .then(pl.lit("x:") + pl.col("external_id"))
        .otherwise(pl.lit("h:") + pl.col("content_hash"))
        .alias("dedup_key"),
        pl.col("__row").alias("row_number"),
    )
    return out.select(*OUTPUT_COLUMNS, *attribute_columns), unknown_units


def content_hashes(frame: pl.DataFrame) -> list[str]:
    """A stable digest of each row's raw content (polars' own hash is not stable across versions)."""
    if frame.width == 0:
        return [""] * frame.height
    # Length-prefixed cells ("S5:hello", "N" for null) so no two different rows join to the same text.
    cells = [
        pl.when(pl.col(c).is_null())
        .then(pl.lit("N"))
        .otherwise(pl.format("S{}:{}", pl.col(c).str.len_bytes(), pl.col(c)))
        for c in frame.columns
    ]
    joined = frame.select(pl.concat_str(cells, separator="|")).to_series()
    blake = hashlib.blake2b
    return [blake(s.encode(), digest_size=16).hexdigest() for s in joined]
