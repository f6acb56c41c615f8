"""Key-driver tables: which predictors move a target, how sure we are, and where to act first.

`driver_table` turns a frame into the JSON the CLI, API and UI share::

    {"target", "method", "n", "r2",
     "drivers": [{"driver", "importance", "share_pct", "ci_low", "ci_high", "direction", "performance",
                  "correlation"}]}

* ``importance`` — the predictor's part of R²: its exact Shapley / LMG value (method ``shapley``; for
  more than `EXACT_LIMIT` predictors a sampled estimate from 2,000 orders of entry), or its raw
  Johnson relative weight (``relative-weights``). Either way the importances sum to ``r2``.
* ``share_pct`` — importance as a percentage of R² (sums to 100; all 0 when R² is 0).
* ``ci_low`` / ``ci_high`` — percentile bootstrap interval of the importance (None with ``n_boot=0``).
* ``direction`` — "+" or "-": the sign of the standardized multiple-regression coefficient (the other
  predictors held fixed).
* ``correlation`` — the predictor's correlation with the target alone, over the same rows. When its sign
  and ``direction`` disagree (`sign_notes`), the predictor's own effect is mostly shared with others:
  the IBM telco file's Partner read "+" for churn while customers with a partner churn less (r −0.15).
* ``performance`` — the predictor's mean over the rows used (the share of 1s for a 0/1 theme flag)
  unless the caller passes its own (e.g. the share of positive mentions of a theme).

Rows missing the target or any predictor are left out (listwise deletion); ``n`` counts the rows used.
Predictors may be numeric, boolean, or text holding numbers or true/false/yes/no.

`quadrant` places each driver in the importance–performance grid (Martilla & James, 1977), split at
the medians of the drivers shown:

==================  ==============  ===============  =========================================
label               importance      performance      meaning
==================  ==============  ===============  =========================================
``fix first``       above median    below median     matters and is weak: act here first
``keep up``         above median    at/above median  matters and is strong: protect it
``monitor``         at/below        below median     weak but matters less: watch, low priority
``maintain``        at/below        at/above median  strong, matters less: hold, do not over-invest
==================  ==============  ===============  =========================================

Performances must share a scale (all 1–5 ratings, all shares of mentions) for the split to mean much.

The loaders at the end (`read_table`, `frame_from_store`) are the only functions here that touch files
or the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.core.period import ALL_TIME, Period
from cxchange.decide.bootstrap import bootstrap
from cxchange.decide.importance import (
    EXACT_LIMIT,
    METHODS,
    Method,
    relative_weights,
    sampled_shapley,
    shapley,
)
from cxchange.decide.regression import prepare, r_squared, standardized_beta
from cxchange.listen.models import Feedback
from cxchange.listen.query import apply_filters, parse_where
from cxchange.org.tree import load_org_tree

if TYPE_CHECKING:
    from sqlalchemy import Engine

DRIVER_KEYS = (
    "driver", "importance", "share_pct", "ci_low", "ci_high", "direction", "performance", "correlation",
)  # fmt: skip
QUADRANTS = {
    "fix first": "importance above the median, performance below it",
    "keep up": "importance above the median, performance at or above it",
    "monitor": "importance at or below the median, performance below it",
    "maintain": "importance at or below the median, performance at or above it",
}
SAMPLED_ORDERS = 2000  # orders of entry for sampled Shapley (standard error ~1e-3 of R² at 25 predictors)
STORE_TARGETS = ("nps", "csat", "ces", "rating")
MAX_CATEGORIES = 12  # a named text column of at most this many values is compared as categories
_TRUE = ("true", "yes", "y", "t")
_FALSE = ("false", "no", "n", "f")


# --------------------------------------------------------------------------------------------------
# Columns to numbers


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def numeric_values(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing; text must hold numbers or true/false/yes/no."""
    series = frame.get_column(column)
    dtype = series.dtype
    if dtype == pl.Boolean or dtype.is_numeric():
        return series.cast(pl.Float64).to_numpy()
    if dtype not in (pl.String, pl.Categorical, pl.Enum, pl.Null):
        raise InputError(f"column {column!r} holds {dtype} values; drivers need numbers or 0/1 flags")
    text = series.cast(pl.String).str.strip_chars()
    lower = text.str.to_lowercase()
    mapped = (
        pl.select(
            pl.when(lower.is_in(_TRUE))
            .then(pl.lit("1"))
            .when(lower.is_in(_FALSE))
            .then(pl.lit("0"))
            .when(text == "")
            .then(None)
            .otherwise(text)
        )
        .to_series()
        .cast(pl.Float64, strict=False)
    )
    bad = mapped.is_null() & text.is_not_null() & (text != "")
    if bad.any():
        example = text[int(bad.arg_true()[0])]
        distinct = text.filter(text.is_not_null() & (text != "")).n_unique()
        raise InputError(
            f"column {column!r} is not numeric (e.g. {example!r}; {int(bad.sum())} such value(s)); "
            "drivers need numbers or 0/1 flags"
            + (
                f" ({distinct} distinct values: more than {MAX_CATEGORIES} to compare as categories)"
                if distinct > MAX_CATEGORIES
                else ""
            )
        )
    return mapped.to_numpy()


def numeric_columns(frame: pl.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Columns whose type is numeric or boolean, in frame order (the default predictors)."""
    return [
        name
        for name, dtype in frame.schema.items()
        if name not in exclude and (dtype == pl.Boolean or dtype.is_numeric())
    ]


def default_predictors(frame: pl.DataFrame, target: str) -> tuple[list[str], list[str]]:
    """Every other column `numeric_values` reads (numbers, booleans, text holding numbers or yes/no,
    blanks missing), in frame order, and the columns left out. By type alone the IBM telco file lost
    TotalCharges (11 blank cells of one space make it text) and its four Yes/No columns, unsaid."""
    chosen: list[str] = []
    left_out: list[str] = []
    for name in frame.columns:
        if name == target:
            continue
        try:
            readable = not np.isnan(numeric_values(frame, name)).all()
        except InputError:
            readable = False
        (chosen if readable else left_out).append(name)
    return chosen, left_out


def _reads_as_numbers(frame: pl.DataFrame, name: str) -> bool:
    try:
        numeric_values(frame, name)
    except InputError:
        return False
    return True


def expand_categories(
    frame: pl.DataFrame, predictors: Sequence[str]
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Named predictors of text categories as 0/1 flags, so a churn analysis can ask about a contract
    type: `--predictors tenure,Contract` stopped with "column 'Contract' is not numeric" on the IBM
    telco file, whose strongest churn drivers (contract, internet service, payment method) are all
    categories. A text column of 2 to `MAX_CATEGORIES` values (blanks missing) becomes one flag
    "COLUMN=VALUE" per value but the most common one, the reference the flags are read against (the
    dummy coding of a regression); its importance is each flag's, its direction vs the reference.
    Columns of numbers or yes/no pass unchanged; a text column of more values, or one holding numbers
    besides words ("n/a" among ratings: a broken number column), fails as before.

    Returns the frame with the flags added, the predictors with each such column replaced by its
    flags, and one note per expanded column naming its reference."""
    out: list[str] = []
    notes: list[str] = []
    added: list[pl.Series] = []
    for name in predictors:
        if name not in frame.columns or _reads_as_numbers(frame, name):
            out.append(name)  # numbers pass; `_check_columns` names a missing column
            continue
        text = frame.get_column(name).cast(pl.String).str.strip_chars()
        missing = text.is_null() | (text == "")
        counts = text.filter(~missing).value_counts(sort=True)
        # A column of numbers with a stray word ("n/a" among ratings) is a broken number column, never
        # categories: it keeps its own error, which shows the word.
        numbers = counts.get_column(name).cast(pl.Float64, strict=False).is_not_null().any()
        if not numbers and counts.height == 1:
            # "not numeric; drivers need numbers" sent the user named a category column away from the
            # categories the README offers: one value in every row explains no difference.
            raise InputError(
                f"column {name!r} holds one category ({counts.get_column(name)[0]!r}) in every row with "
                "a value: a driver needs 2 or more to compare"
            )
        if numbers or not 2 <= counts.height <= MAX_CATEGORIES:
            numeric_values(frame, name)
        values = counts.get_column(name).to_list()
        tally = counts.get_column("count").to_list()
        # The most common value is the reference; ties by name, so the same file gives the same flags.
        reference = min(v for v, c in zip(values, tally, strict=True) if c == tally[0])
        for value in sorted(v for v in values if v != reference):
            flag = f"{name}={value}"
            if flag in frame.columns or flag in out:
                raise InputError(f"column {flag!r} already exists; rename it to compare {name!r}")
            flags = pl.select(pl.when(missing).then(None).otherwise((text == value).cast(pl.Float64)))
            added.append(flags.to_series().alias(flag))
            out.append(flag)
        notes.append(
            f"{name}: {counts.height} categories, each but {reference!r} (the most common, the reference) "
            f"a 0/1 flag {name}=VALUE; a flag's direction is vs {reference!r}"
        )
    return (frame.with_columns(added) if added else frame), out, notes


def missing_note(frame: pl.DataFrame, target: str, predictors: Sequence[str], used: int) -> str | None:
    """The note on rows listwise deletion left out, naming the columns that lack values and how many
    each: "29 row(s) missing the target or a predictor were left out" sent a Skytrax analyst through
    five sub-rating columns to find that viewing_tv_rating was the blank one. None when none was."""
    dropped = frame.height - used
    if dropped <= 0:
        return None
    blanks = []
    for name in (target, *predictors):
        k = int(np.isnan(numeric_values(frame, name)).sum())
        if k:
            blanks.append(f"{name} {k}")
    where = f" (blank: {', '.join(blanks)})" if blanks else ""
    return f"{dropped} row(s) missing the target or a predictor were left out{where}"


def _check_columns(frame: pl.DataFrame, target: str, predictors: Sequence[str]) -> None:
    missing = [c for c in (target, *predictors) if c not in frame.columns]
    if missing:
        shown = _quoted(frame.columns[:30]) + (" …" if frame.width > 30 else "")
        raise InputError(f"no column(s) {_quoted(missing)} in the data; columns are {shown}")
    if not predictors:
        raise InputError("no predictors: name at least one predictor column")
    repeated = sorted({p for p in predictors if list(predictors).count(p) > 1})
    if repeated:
        raise InputError(f"predictor(s) listed twice: {_quoted(repeated)}")
    if target in predictors:
        raise InputError(f"the target {target!r} is also listed as a predictor")


# --------------------------------------------------------------------------------------------------
# The table


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def driver_table(
    frame: pl.DataFrame,
    target: str,
    predictors: list[str],
    *,
    method: str = "shapley",
    n_boot: int = 200,
    seed: int = 0,
    performance: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Importance of each predictor for `target`, with bootstrap intervals, sorted by importance."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    if n_boot < 0:
        raise InputError(f"the number of bootstrap resamples cannot be negative, got {n_boot}")
    _check_columns(frame, target, predictors)
    if performance is not None:
        missing = [p for p in predictors if p not in performance]
        if missing:
            raise InputError(f"performance is missing for {_quoted(missing)}")
    x = np.column_stack([numeric_values(frame, c) for c in predictors])
    data = prepare(x, numeric_values(frame, target), names=predictors, target=target)
    if method == "relative-weights":
        importance = relative_weights(data).raw
    elif data.p <= EXACT_LIMIT:
        importance = shapley(data).lmg
    else:
        importance = sampled_shapley(data, n_perm=SAMPLED_ORDERS, seed=seed).values
    r2 = float(r_squared(data.corr))
    beta = standardized_beta(data.corr)
    if n_boot:
        # Answers of one store are not independent: resample stores when the frame says which.
        clusters = None
        store = next((c for c in ("__store", "unit") if c in frame.columns and c not in predictors), None)
        if store is not None:
            complete = ~np.isnan(numeric_values(frame, target)) & ~np.isnan(x).any(axis=1)
            clusters = frame[store].cast(pl.String).fill_null("").to_numpy()[complete]
        ci = bootstrap(
            data, method=cast(Method, method), n_boot=n_boot, seed=seed, level=level, clusters=clusters
        )
        low, high = ci.low, ci.high
    else:
        low = high = np.full(data.p, np.nan)
    perf = [float(performance[p]) for p in predictors] if performance is not None else data.means
    drivers: list[dict[str, Any]] = [
        {
            "driver": name,
            "importance": float(importance[j]),
            # R² of 0 (no predictor correlates with the target at all): nothing to share, not 0/0 = NaN,
            # which printed "nan" and stopped PostgreSQL saving the Decide snapshot.
            "share_pct": float(importance[j] / r2 * 100.0) if r2 > 0 else 0.0,
            "ci_low": _num(low[j]),
            "ci_high": _num(high[j]),
            "direction": "-" if beta[j] < 0 else "+",
            "performance": _num(perf[j]),
            "correlation": _num(data.corr[j, -1]),
        }
        for j, name in enumerate(data.names)
    ]
    drivers.sort(key=lambda d: (-d["importance"], d["driver"]))
    return {"target": target, "method": method, "n": data.n, "r2": r2, "drivers": drivers}


def sign_notes(table: Mapping[str, Any]) -> list[str]:
    """One note naming the drivers whose direction (with the others held fixed) and correlation (alone)
    have opposite signs, the correlation differing from 0 at the 5 % level; none when they all agree."""
    n = int(table.get("n") or 0)
    split = [
        f"{d['driver']} ({d['direction']}, r {d['correlation']:+.3f})"
        for d in table["drivers"]
        if d.get("correlation")
        and (d["correlation"] < 0) != (d["direction"] == "-")
        and _r_differs_from_zero(d["correlation"], n)
    ]
    if not split:
        return []
    return [
        "direction (the other drivers held fixed) and r (the driver alone) disagree for "
        + ", ".join(split)
        + ": what they do alone is mostly shared with the other drivers; read their importance, not the sign"
    ]


def _r_differs_from_zero(r: float, n: int, alpha: float = 0.05) -> bool:
    """The t-test of a correlation (t = r·√((n−2)/(1−r²)), n−2 df) at `alpha`: a predictor unrelated
    to the target has an r and a coefficient near 0 whose signs disagree half the time, by chance."""
    if n < 3:
        return False
    if abs(r) >= 1.0:
        return True
    from scipy import stats as sps  # loaded only by a driver table with a sign to check

    t = abs(r) * math.sqrt((n - 2) / (1.0 - r * r))
    return bool(2.0 * sps.t.sf(t, n - 2) < alpha)


def quadrant_lines(table: Mapping[str, Any]) -> dict[str, float | None]:
    """Where the quadrant's lines cross: the medians of the drivers' importance and performance (None
    without drivers, or without any performance). The one rule of `quadrant`, the CLI, the report and
    the Decide page's chart, which drew its lines at the means and so disagreed with the labels."""
    drivers = list(table["drivers"])
    perfs = [d["performance"] for d in drivers if d["performance"] is not None]
    return {
        "importance": float(np.median([d["importance"] for d in drivers])) if drivers else None,
        "performance": float(np.median(perfs)) if perfs else None,
    }


def quadrant(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Importance–performance quadrant of each driver (labels and rule in `QUADRANTS`), table order."""
    drivers = list(table["drivers"])
    if not drivers:
        return []
    lines = quadrant_lines(table)
    imp_median = lines["importance"]
    perf_median = float("nan") if lines["performance"] is None else lines["performance"]
    out = []
    for d in drivers:
        important = d["importance"] > imp_median
        weak = d["performance"] is not None and d["performance"] < perf_median
        label = ("fix first" if weak else "keep up") if important else ("monitor" if weak else "maintain")
        out.append(
            {
                "driver": d["driver"],
                "importance": d["importance"],
                "share_pct": d["share_pct"],
                "performance": d["performance"],
                "quadrant": label,
            }
        )
    return out


# --------------------------------------------------------------------------------------------------
# Loaders: a file, or feedback in the store

_NULLS = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None"]


def read_table(path: str | Path) -> pl.DataFrame:
    """Any table polars reads, by extension: CSV (types inferred over the whole file), TSV, Excel,
    Parquet, JSON Lines. Empty cells and NA / N/A / null are missing."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(p))
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv", ".tab"):
            sep = "\t" if suffix in (".tsv", ".tab") else ","
            # Quoted empty cells ("") stay text unless "" counts as null, which would turn a
            # numeric column with a blank into a text column.
            return pl.read_csv(p, separator=sep, infer_schema_length=None, null_values=_NULLS)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pl.read_excel(p)
        if suffix == ".parquet":
            return pl.read_parquet(p)
        if suffix in (".jsonl", ".ndjson", ".jsonlines"):
            return pl.read_ndjson(p)
        if suffix == ".json":
            try:
                return pl.read_ndjson(p)
            except Exception:
                return pl.read_json(p)
    except InputError:
        raise
    except Exception as exc:  # polars / fastexcel parse errors: one line, not a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"cannot read the table: {first}", file=str(p)) from None
    raise InputError(
        f"unknown format {suffix or '(no extension)'!r}; use .csv, .tsv, .xlsx, .parquet or .jsonl",
        file=str(p),
    )


def parse_store_target(target: str) -> tuple[str, str | None]:
    """('metric', None) for nps|csat|ces|rating, ('attr', NAME) for attr:NAME."""
    if target in STORE_TARGETS:
        return target, None
    if target.startswith("attr:") and len(target) > 5:
        return "attr", target[5:]
    raise InputError(
        f"unknown --target {target!r} for stored feedback; use {', '.join(STORE_TARGETS)} or attr:NAME"
    )


def frame_from_store(
    engine: Engine,
    *,
    target: str,
    attrs: Sequence[str],
    where: Sequence[str] = (),
    period: Period = ALL_TIME,
) -> pl.DataFrame:
    """One row per matching feedback: the target (column named as `target`) and each attribute.

    Attributes are stored as JSON text; `driver_table` turns them into numbers (or says which is not).
    """
    from sqlalchemy import select

    kind, name = parse_store_target(target)
    attrs = [a.strip() for a in attrs if a.strip()]
    if not attrs:
        raise InputError("--from attrs: needs attribute names, e.g. --from attrs:speed,price,staff")
    if target in attrs or name in attrs:
        raise InputError(f"the target {target!r} is also listed as a predictor")
    target_col = Feedback.attributes[name].as_string() if name else getattr(Feedback, kind)
    cols = [target_col.label("__target"), *[Feedback.attributes[a].as_string().label(a) for a in attrs]]
    filters = parse_where(where)
    tree = load_org_tree(engine) if filters.units else None
    stmt = apply_filters(select(*cols).where(target_col.is_not(None)), filters, period=period, tree=tree)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    if not rows:
        raise InputError(f"no stored feedback with a {target} value matches the filters")
    schema: dict[str, Any] = {target: pl.Float64 if name is None else pl.String}
    schema.update({a: pl.String for a in attrs})
    frame = pl.DataFrame(rows, schema=schema, orient="row", strict=False)
    absent = [a for a in attrs if frame.get_column(a).null_count() == frame.height]
    if absent:
        raise InputError(f"attribute(s) {_quoted(absent)} not present in the {frame.height} matching rows")
    return frame
