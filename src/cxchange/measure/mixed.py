"""Ratings on more than one scale in one scope: never one mean of the mixed numbers.

Each source has one rating scale, known when its ratings are imported (`--rating-scale`, else 1-5, said
in the import's output) and kept: a later import on another scale is refused (`listen.service`). A 4 of
5 and a 4 of 10 are not the same answer, and values are never rescaled, so a mean rating over sources on
1-5 and 1-10 means nothing (a store of hotel reviews beside Skytrax's 1-10 ratings read "3.79").

What a surface does with such a scope (the rule is here, the surfaces choose):
- `split`: one row per scale, the group keyed `scale` ("1-5", "1-10"): `scores`, the API, the library,
  the Overview's score and the report's scores.
- `refuse`: one line naming the sources, their scales and how to narrow (`--where source=NAME`, or
  `--by source`): compare, scorecard, alerts, theme impact, drivers, simulate, opportunities.
Grouping by source always works: each source is on one scale.

Pure: counts in, frames and messages out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from cxchange.core.errors import InputError

SCALE_KEY = "scale"  # the group key of a split: "1-5", "1-10"
DEFAULT_SCALE = 5  # a source whose scale is not stored (none is, since migration 0001's default)
MAX_NAMED = 3  # sources named per scale in a message; the rest counted


def scale_label(scale: int) -> str:
    return f"1-{scale}"


def answers_by_scale(answers: Mapping[str, int], scale_of: Mapping[str, int]) -> dict[int, dict[str, int]]:
    """scale -> {source: rating answers} for the sources with answers, scales ascending, sources by name."""
    out: dict[int, dict[str, int]] = {}
    for name in sorted(answers):
        if answers[name] > 0:
            out.setdefault(scale_of.get(name, DEFAULT_SCALE), {})[name] = answers[name]
    return dict(sorted(out.items()))


def _sources(counts: Mapping[str, int]) -> str:
    named = [f"{name}: {n:,}" for name, n in list(counts.items())[:MAX_NAMED]]
    if len(counts) > MAX_NAMED:
        named.append(f"{len(counts) - MAX_NAMED} more")
    return ", ".join(named)


def mixed_message(by_scale: Mapping[int, Mapping[str, int]], scope: str, how: str) -> str:
    """One line: the scales, the sources (answers) on each, and how to narrow."""
    parts = [f"{scale_label(s)} ({_sources(c)})" for s, c in by_scale.items()]
    first = next(iter(next(iter(by_scale.values()))))
    how = how.format(source=first)
    return (
        f"rating answers in scope ({scope}) are on {len(parts)} scales: {'; '.join(parts)}; a mean of "
        f"ratings on different scales means nothing and values are never rescaled: {how}"
    )


class MixedScalesError(InputError):
    """A scope whose ratings are on more than one scale, asked for one score."""

    def __init__(self, by_scale: Mapping[int, Mapping[str, int]], scope: str, how: str) -> None:
        self.by_scale = {s: dict(c) for s, c in by_scale.items()}
        super().__init__(mixed_message(by_scale, scope, how))


NARROW = "narrow to one scale with --where source={source}, or group with --by source"
RATE_WITHIN = "compare within one scale: --where source={source}"
ONE_SCALE = "narrow to one scale with --where source={source}"


def check_one_scale(by_scale: Mapping[int, Mapping[str, int]], scope: str, how: str = NARROW) -> None:
    """Refuse a scope with ratings on more than one scale (`how` may name `{source}`, the first one)."""
    if len(by_scale) > 1:
        raise MixedScalesError(by_scale, scope, how)


def split_by_scale(
    frame: pl.DataFrame,
    by: Sequence[str],
    scale_of: Mapping[str, int],
    *,
    split: bool,
    scope: str,
    how: str = NARROW,
) -> tuple[pl.DataFrame, list[str], dict[int, dict[str, int]]]:
    """Rating counts grouped by `by` plus "source", back to `by`'s keys: (frame, keys, answers by scale).
    One scale in scope: `by` as asked. More, unless `by` holds source (each source is one scale):
    `split` adds the key `scale` after `by`'s; otherwise a MixedScalesError."""
    totals = frame.group_by("source").agg(pl.col("__count").sum())
    answers = dict(zip(totals["source"].to_list(), totals["__count"].to_list(), strict=True))
    by_scale = answers_by_scale({str(k): int(v) for k, v in answers.items() if k is not None}, scale_of)
    keys = list(by)
    if len(by_scale) > 1 and "source" not in by:
        if not split:
            raise MixedScalesError(by_scale, scope, how)
        number = {name: s for s, counts in by_scale.items() for name in counts}
        scale = pl.col("source").replace_strict(number, default=None, return_dtype=pl.Int64)
        frame = frame.with_columns(scale.alias("__scale"))
        keys.append("__scale")  # sorted as a number: 1-5 before 1-10
    out = frame.group_by([*keys, "__value"]).agg(pl.col("__count").sum())
    out = out.sort([*keys, "__value"], nulls_last=True)
    if "__scale" in keys:
        out = out.with_columns(pl.format("1-{}", pl.col("__scale")).alias(SCALE_KEY)).drop("__scale")
        keys[-1] = SCALE_KEY
    return out, keys, by_scale


def rows_by_scale(rows: pl.DataFrame) -> dict[int, dict[str, int]]:
    """scale -> {source: answers} of answered rows with their `source` and `rating_scale` columns (a
    row's own scale: what the import stored with it)."""
    counts = rows.group_by("rating_scale", "source").len()
    out: dict[int, dict[str, int]] = {}
    for scale, source, n in counts.sort("source").iter_rows():
        out.setdefault(int(scale or DEFAULT_SCALE), {})[str(source)] = int(n)
    return dict(sorted(out.items()))


def group_scale(group: Mapping[str, object], scale_of: Mapping[str, int], whole: int | None) -> int | None:
    """The rating scale of one group's answers: its `scale` key, its source's, else the scope's."""
    label = group.get(SCALE_KEY)
    if isinstance(label, str) and label.startswith("1-"):
        return int(label[2:])
    source = group.get("source")
    if isinstance(source, str) and source in scale_of:
        return scale_of[source]
    return whole
