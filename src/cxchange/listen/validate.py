"""Turn a chunk of raw string columns into canonical feedback rows, or rejected rows with a reason.

Everything here is a polars column expression: a million rows are validated without a Python
loop per row. The only per-row Python is the content hash (hashlib), about a microsecond a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cxchange.core.errors import InputError

SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
CONTENT_FIELDS = ("text", "nps", "csat", "ces", "rating")
OUTPUT_COLUMNS = (
    "row_number",
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

# Tried in order on a sample of the column; the one that parses most values wins. %z before the
# naive forms so that offsets are honoured (everything is stored as naive UTC).
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)


@dataclass(frozen=True)
class FieldPlan:
    """What to do with a file's columns: field -> column, and everything else kept as attributes."""

    mapping: Mapping[str, str]
    rating_scale: int = 5
    date_format: str | None = None
    attribute_columns: Sequence[str] = ()


@dataclass
class Rejects:
    row_numbers: list[int] = field(default_factory=list)
    columns: list[str | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)

    def add(self, row_number: int, column: str | None, reason: str, raw: str) -> None:
        self.row_numbers.append(row_number)
        self.columns.append(column)
        self.reasons.append(reason)
        self.raws.append(raw)

    def extend(self, other: Rejects) -> None:
        self.row_numbers += other.row_numbers
        self.columns += other.columns
        self.reasons += other.reasons
        self.raws += other.raws

    def __len__(self) -> int:
        return len(self.row_numbers)

    def sort(self) -> None:
        """In file order, whichever check (reader or validation) rejected the row."""
        order = sorted(range(len(self)), key=self.row_numbers.__getitem__)
        self.row_numbers = [self.row_numbers[i] for i in order]
        self.columns = [self.columns[i] for i in order]
        self.reasons = [self.reasons[i] for i in order]
        self.raws = [self.raws[i] for i in order]


def plan_fields(
    columns: Sequence[str],
    mapping: Mapping[str, str],
    *,
    file: str,
    rating_scale: int = 5,
    date_format: str | None = None,
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
    if not any(f in mapping for f in CONTENT_FIELDS):
        raise InputError(
            "no feedback field mapped: map at least one of text, nps, csat, ces, rating with --map "
            f"FIELD=COLUMN (columns: {', '.join(columns)})",
            file=file,
            row=1,
        )
    if rating_scale not in (5, 10):
        raise InputError(f"rating scale must be 5 or 10, not {rating_scale}", file=file)
    used = set(mapping.values())
    return FieldPlan(
        mapping=dict(mapping),
        rating_scale=rating_scale,
        date_format=date_format,
        attribute_columns=[c for c in columns if c not in used],
    )


def detect_date_format(values: pl.Series) -> str | None:
    """The format that parses the most of a sample (ties: the earlier, i.e. ISO and day-first)."""
    sample = values.drop_nulls().str.strip_chars().head(500)
    if sample.len() == 0:
        return None
    best, best_ok = None, 0
    for fmt in DATE_FORMATS:
        ok = _parse_dates(sample, fmt).is_not_null().sum()
        if ok > best_ok:
            best, best_ok = fmt, ok
        if ok == sample.len():
            break
    return best


def _parse_dates(values: pl.Series, fmt: str) -> pl.Series:
    if "%z" in fmt:
        parsed = values.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC", cache=False)
        return parsed.dt.replace_time_zone(None)
    return values.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


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
        if out.mean() > 0.5:  # type: ignore[operator]
            first = int(np.flatnonzero(((nums < low) | (nums > high)).fill_null(False).to_numpy())[0])
            hint = " (use --rating-scale 10 if the ratings run to 10)" if fld == "rating" else ""
            raise InputError(
                f"most values of {fld} are outside {low}-{high} (max {present.max():g}): wrong column or "
                f"scale{hint}",
                file=file,
                row=int(row_numbers[first]),
                column=col,
            )


def _score_expr(col: str, fld: str, low: float, high: float, *, whole: bool) -> tuple[pl.Expr, pl.Expr]:
    raw = pl.col(col).str.strip_chars()
    num = raw.cast(pl.Float64, strict=False)
    bad = raw.is_not_null() & (
        num.is_null() | (num < low) | (num > high) | ((num != num.round(0)) if whole else pl.lit(False))
    )
    kind = "a whole number" if whole else "a number"
    reason = pl.format(f"{fld}: '{{}}' is not {kind} from {low:g} to {high:g}", raw)
    return bad, reason


def normalise_chunk(
    frame: pl.DataFrame,
    row_numbers: np.ndarray,
    plan: FieldPlan,
    *,
    unit_lookup: Mapping[str, int] | None = None,
) -> tuple[pl.DataFrame, Rejects]:
    """Validate and convert one chunk. Returns canonical rows (OUTPUT_COLUMNS) and the rejects."""
    m = plan.mapping
    df = frame.with_columns(pl.Series("__row", row_numbers, dtype=pl.Int64))
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []  # (column, bad?, reason)
    for fld, (low, high) in SCORE_RANGES.items():
        if fld in m:
            bad, reason = _score_expr(m[fld], fld, low, high, whole=True)
            checks.append((m[fld], bad, reason))
    if "rating" in m:
        bad, reason = _score_expr(m["rating"], "rating", 1, plan.rating_scale, whole=False)
        checks.append((m["rating"], bad, reason))
    date_fmt = None
    if "received_at" in m:
        date_fmt = plan.date_format or detect_date_format(df[m["received_at"]])
        raw = pl.col(m["received_at"]).str.strip_chars()
        parsed = _parse_dates_expr(raw, date_fmt)
        df = df.with_columns(parsed.alias("__received_at"))
        checks.append(
            (
                m["received_at"],
                raw.is_not_null() & pl.col("__received_at").is_null(),
                pl.format("received_at: cannot read '{}' as a date", raw),
            )
        )
    if "customer_value" in m:
        raw = pl.col(m["customer_value"]).str.strip_chars()
        cleaned = raw.str.replace_all(r"[\s$€£¥,]", "").cast(pl.Float64, strict=False)
        df = df.with_columns(cleaned.alias("__customer_value"))
        checks.append(
            (
                m["customer_value"],
                raw.is_not_null() & pl.col("__customer_value").is_null(),
                pl.format("customer_value: '{}' is not a number", raw),
            )
        )
    content = [pl.col(m[f]).str.strip_chars().fill_null("") != "" for f in CONTENT_FIELDS if f in m]
    no_content = ~pl.any_horizontal(content)

    # One boolean column per check; the reasons are only formatted for the (few) rows that fail.
    flags = [bad.fill_null(False).alias(f"__bad{i}") for i, (_, bad, _) in enumerate(checks)]
    df = df.with_columns(*flags, no_content.fill_null(False).alias("__empty"))
    failed = pl.any_horizontal(*(pl.col(f"__bad{i}") for i in range(len(checks))), pl.col("__empty"))
    df = df.with_columns(failed.alias("__failed"))

    rejects = Rejects()
    bad_rows = df.filter(pl.col("__failed"))
    if bad_rows.height:
        # First failing check names the row's reason; rows with no content at all come last.
        reason_expr: pl.Expr = pl.when(pl.col("__empty")).then(
            pl.lit("no feedback: text and every score are empty")
        )
        column_expr: pl.Expr = pl.when(pl.col("__empty")).then(pl.lit(None, dtype=pl.String))
        for i, (col, _, reason) in reversed(list(enumerate(checks))):
            reason_expr = pl.when(pl.col(f"__bad{i}")).then(reason).otherwise(reason_expr)
            column_expr = pl.when(pl.col(f"__bad{i}")).then(pl.lit(col)).otherwise(column_expr)
        bad_rows = bad_rows.with_columns(reason_expr.alias("__reason"), column_expr.alias("__column"))
        raw_text = _raw_rows(bad_rows.select(frame.columns))
        rejects.row_numbers = bad_rows["__row"].to_list()
        rejects.columns = bad_rows["__column"].to_list()
        rejects.reasons = bad_rows["__reason"].to_list()
        rejects.raws = raw_text
    good = df.filter(~pl.col("__failed"))
    return _canonical(good, frame.columns, plan, unit_lookup or {}), rejects


def _parse_dates_expr(raw: pl.Expr, fmt: str | None) -> pl.Expr:
    if fmt is None:
        return pl.lit(None, dtype=pl.Datetime("us"))
    if "%z" in fmt:
        parsed = raw.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC", cache=False)
        return parsed.dt.replace_time_zone(None)
    # cache=False: export timestamps are nearly all distinct, so the cache of unique values only costs.
    return raw.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


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
    df: pl.DataFrame, columns: Sequence[str], plan: FieldPlan, unit_lookup: Mapping[str, int]
) -> pl.DataFrame:
    m = plan.mapping

    def text_col(fld: str) -> pl.Expr:
        if fld not in m:
            return pl.lit(None, dtype=pl.String)
        return pl.col(m[fld]).str.strip_chars().replace("", None)

    def score_col(fld: str, dtype: pl.DataType) -> pl.Expr:
        if fld not in m:
            return pl.lit(None, dtype=dtype)
        return pl.col(m[fld]).str.strip_chars().cast(pl.Float64, strict=False).cast(dtype)

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
        score_col("nps", pl.Int16).alias("nps"),
        score_col("csat", pl.Int16).alias("csat"),
        score_col("ces", pl.Int16).alias("ces"),
        score_col("rating", pl.Float64).alias("rating"),
        (pl.col("__received_at") if "received_at" in m else pl.lit(None, dtype=pl.Datetime("us"))).alias(
            "received_at"
        ),
        (pl.col("__customer_value") if "customer_value" in m else pl.lit(None, dtype=pl.Float64)).alias(
            "customer_value"
        ),
    )
    # An org unit we do not know is kept as an attribute rather than lost.
    attr_exprs = [pl.col(c) for c in attrs]
    unmatched = out.filter(pl.col("org_unit_id").is_null() & pl.col("__unit_raw").is_not_null()).height
    if "org_unit" in m and unmatched:
        attr_exprs.append(
            pl.when(pl.col("org_unit_id").is_null()).then(pl.col("__unit_raw")).alias("org_unit")
        )
    if attr_exprs:
        out = out.with_columns(pl.struct(attr_exprs).struct.json_encode().alias("attributes"))
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("attributes"))
    # Hash only rows without an external id: hashing is the one per-row Python step here.
    no_id = out["external_id"].is_null()
    hashes = pl.Series("content_hash", [None] * out.height, dtype=pl.String)
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
    return out.select(OUTPUT_COLUMNS)


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
