"""Which rating scale the values of a score column fit, and when a column mixes scales.

A column that mixes scales (a survey moved from 1–5 to 1–10 stars half-way through a history) cannot
be averaged: a 4 is good on one and poor on the other, and the 1–10 respondents who answered 1 to 5
cannot be told from the 1–5 ones. So values are never rescaled. A stray value off the scale (a 9
among thousands of 1–5 ratings) is a typo: its row loses that score with a warning. When enough
values fit another scale that it is a mix (at least MIXED_MIN_VALUES values and MIXED_SHARE of the
column), the import stops with the evidence, unless the user allows it (`--allow-mixed-scales`:
the out-of-scale values are then left empty, each with a warning, and the rest are taken as given).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.listen.validate import FieldPlan

# Scales an out-of-scale value may come from, smallest first: a value is counted under the first
# one that holds it (e.g. a 9 in a 1–5 column fits 1–10; a 0 fits 0–10; a 75 fits 0–100).
OTHER_SCALES: tuple[tuple[int, int], ...] = ((1, 10), (0, 10), (0, 100))
# Wider rating scales a 1-5 column's values may all fit, and the --rating-scale that reads them so.
WIDER_RATING = {"1-10": 10}
MIXED_MIN_VALUES = 3
# CES answers none of which is above 5 before the import says a 1-5 question may not be this 1-7 CES.
CES_EVIDENCE = 30
MIXED_SHARE = 0.01


def _label(low: float, high: float) -> str:
    return f"{low:g}-{high:g}"


@dataclass
class FieldTally:
    """Counts of one score column's numeric values by the scale they fit."""

    field: str
    column: str
    scale: str
    in_scale: int = 0
    other: dict[str, int] = dataclasses.field(default_factory=dict)  # scale label -> values
    first_row: dict[str, int] = dataclasses.field(default_factory=dict)  # scale label -> first row number
    highest: float | None = None  # the highest numeric value

    @property
    def off_scale(self) -> int:
        return sum(self.other.values())

    def is_mixed(self) -> bool:
        numeric = self.in_scale + self.off_scale
        return self.off_scale >= MIXED_MIN_VALUES and self.off_scale >= MIXED_SHARE * numeric

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "column": self.column,
            "scale": self.scale,
            "in_scale": self.in_scale,
            "other_scales": [
                {"scale": s, "values": n, "first_row": self.first_row[s]} for s, n in self.other.items()
            ],
        }


class ScaleTally:
    """Scale evidence of every mapped score column, added up chunk by chunk."""

    def __init__(self, plan: FieldPlan) -> None:
        self.plan = plan
        self.fields = {
            fld: FieldTally(fld, plan.mapping[fld], _label(low, high))
            for fld, (low, high) in plan.score_ranges().items()
        }

    def add(self, frame: pl.DataFrame, row_numbers: np.ndarray) -> None:
        for fld, (low, high) in self.plan.score_ranges().items():
            tally = self.fields[fld]
            nums = frame[tally.column].str.strip_chars().cast(pl.Float64, strict=False)
            usable = nums.is_not_null()
            if fld != "rating":  # the other scores are whole numbers; 7.5 is no score at all
                usable = usable & (nums == nums.round(0))
            top = nums.filter(usable).max()
            if isinstance(top, (int, float)) and (tally.highest is None or top > tally.highest):
                tally.highest = float(top)
            inside = usable & (nums >= low) & (nums <= high)
            tally.in_scale += int(inside.sum())
            claimed = inside
            for other_low, other_high in OTHER_SCALES:
                hit = usable & ~claimed & (nums >= other_low) & (nums <= other_high)
                count = int(hit.sum())
                if count:
                    label = _label(other_low, other_high)
                    tally.other[label] = tally.other.get(label, 0) + count
                    first = int(row_numbers[int(np.flatnonzero(hit.to_numpy())[0])])
                    tally.first_row.setdefault(label, first)
                claimed = claimed | hit

    def check(self, *, file: str) -> None:
        """Stop at a column that mixes scales, unless the plan allows it (then the summary says so)."""
        if self.plan.allow_mixed_scales:
            return
        for tally in self.fields.values():
            if tally.is_mixed():
                label, count = max(tally.other.items(), key=lambda kv: kv[1])
                evidence = (
                    f"{tally.in_scale:,} values fit {tally.scale}, {count:,} fit {label} "
                    f"(first at row {tally.first_row[label]})"
                )
                if tally.field == "rating" and len(tally.other) == 1 and label in WIDER_RATING:
                    # Every value fits the wider scale: one 1-10 column is as likely as a mix, and only
                    # the user knows which. Both readings, never a rescale.
                    raise InputError(
                        f"rating: {evidence}, and every value fits {label}: if this is a {label} rating, "
                        f"import it with --rating-scale {WIDER_RATING[label]}; if the column mixes rating "
                        "scales, import each scale's rows separately, or pass --allow-mixed-scales to keep "
                        "those rows without the score; values are never rescaled",
                        file=file,
                        column=tally.column,
                    )
                how = (
                    "import each scale's rows separately (--rating-scale 10 for the 1-10 ones)"
                    if tally.field == "rating"
                    else f"{tally.field} is always {tally.scale}; import only the rows asked on that scale"
                )
                raise InputError(
                    f"{tally.field} mixes rating scales: {evidence}; values are never "
                    f"rescaled: {how}, or pass --allow-mixed-scales to keep those rows without the score",
                    file=file,
                    column=tally.column,
                )

    def report(self) -> list[dict[str, Any]]:
        """Columns with values that fit another scale than theirs (mixed or a few strays)."""
        return [t.as_dict() for t in self.fields.values() if t.other]

    def scale_notes(self) -> list[dict[str, Any]]:
        """The scale each score column was read on and why, in words, where it is not self-evident: the
        rating always (1-5 or 1-10); CES when no answer is above 5 (a 1-5 effort question is not this
        1-7 CES, and nothing in its values tells them apart)."""
        out = []
        rating = self.fields.get("rating")
        if rating is not None:
            scale, origin = self.plan.rating_scale, self.plan.rating_origin
            top = "no values" if rating.highest is None else f"highest value {rating.highest:g}"
            why = {
                "declared": f"--rating-scale {scale}; {top}",
                "source": f"the scale of the source's stored ratings; {top}",
                "read": f"{top}; no --rating-scale given: a question asked on 1-10 needs --rating-scale 10",
            }[origin]
            note = f"rating ({rating.column!r}) read as {rating.scale} ({why})"
            out.append({"field": "rating", "column": rating.column, "scale": rating.scale, "origin": origin,
                        "highest": rating.highest, "note": note})  # fmt: skip
        ces = self.fields.get("ces")
        if ces is not None and ces.highest is not None and ces.highest <= 5 and ces.in_scale >= CES_EVIDENCE:
            note = (
                f"ces ({ces.column!r}): no answer above 5 in {ces.in_scale:,}; CES here is 1-7 (7 = very "
                "easy), averaged with every other source's CES: if this question was asked on 1-5 it is not "
                "this CES: keep it out of the ces field (rename the column: it is then kept as an attribute)"
            )
            out.append({"field": "ces", "column": ces.column, "scale": ces.scale, "origin": "defined",
                        "highest": ces.highest, "note": note})  # fmt: skip
        return out
