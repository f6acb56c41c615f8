"""What an import (or its dry run) did with the rows it did not store as they were, added up by reason.

A million-row export can reject thousands of rows; a list of the first twenty says nothing about
the other 9,980. The summary groups rejects and warnings by reason (the reason without the row's own
value) with a count and the first row, lists org unit values that name no known unit, counts rows
kept without text or score (complaint and ticket sources), and the scale evidence of score columns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxchange.listen.dates import looks_like_dates
from cxchange.listen.scales import ScaleTally
from cxchange.listen.validate import FieldPlan, Normalised, Rejects

MAX_UNKNOWN_UNITS = 20  # listed by rows, most first; the totals count them all


@dataclass
class _ByReason:
    rows: Counter[str] = field(default_factory=Counter)
    example_row: dict[str, int] = field(default_factory=dict)

    def add(self, found: Rejects) -> None:
        self.rows.update(found.keys)
        for key, row in zip(found.keys, found.row_numbers, strict=True):
            if key not in self.example_row or row < self.example_row[key]:
                self.example_row[key] = row

    def as_list(self) -> list[dict[str, Any]]:
        ranked = sorted(self.rows.items(), key=lambda kv: (-kv[1], self.example_row[kv[0]]))
        return [{"reason": k, "rows": n, "example_row": self.example_row[k]} for k, n in ranked]


class ImportSummary:
    """Adds up each chunk's rejects, warnings, unknown units, structured-only rows and scale evidence."""

    def __init__(self, plan: FieldPlan, *, file: str) -> None:
        self.file = file
        self.plan = plan
        self.rejects = _ByReason()
        self.warnings = _ByReason()
        self.unknown_units: Counter[str] = Counter()
        self.structured_only = 0
        self.scales = ScaleTally(plan)
        # No date column mapped: the kept columns whose values read as dates (looked for in the first chunk).
        self.date_candidates: list[str] | None = None

    def add_raw(self, frame: Any, row_numbers: np.ndarray) -> None:
        """Before validation: count the chunk's score values by scale (stop at a mixed column) and, when
        no date column is mapped, look in the first chunk for kept columns that read as dates."""
        self.scales.add(frame, row_numbers)
        self.scales.check(file=self.file)
        if self.date_candidates is None and "received_at" not in self.plan.mapping:
            kept = [c for c in self.plan.attribute_columns if c in frame.columns]
            self.date_candidates = [c for c in kept if looks_like_dates(frame[c])]

    def add(self, chunk: Normalised, rejects: Rejects) -> None:
        """`rejects`: the chunk's rejects including those of the reader (ragged, empty rows)."""
        self.rejects.add(rejects)
        self.warnings.add(chunk.warnings)
        for value, rows in chunk.unknown_units.iter_rows():
            self.unknown_units[value] += rows
        self.structured_only += chunk.structured_only

    def as_dict(self) -> dict[str, Any]:
        ranked = sorted(self.unknown_units.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "rejects_by_reason": self.rejects.as_list(),
            "warnings_by_reason": self.warnings.as_list(),
            "unknown_units": [{"value": v, "rows": n} for v, n in ranked[:MAX_UNKNOWN_UNITS]],
            "unknown_unit_values": len(self.unknown_units),
            "unknown_unit_rows": sum(self.unknown_units.values()),
            "kept_without_text_or_score": self.structured_only,
            "mixed_scales": self.scales.report(),
            "score_scales": self.scales.scale_notes(),
            "dates": self._dates(),
            "undated": self._undated(),
        }

    def _undated(self) -> dict[str, Any] | None:
        """No date column mapped: every row is stored without a date; say so, and which columns may be it."""
        if "received_at" in self.plan.mapping:
            return None
        candidates = self.date_candidates or []
        hint = f" (columns that read as dates: {', '.join(candidates)})" if candidates else ""
        note = (
            "no date column recognised: rows are stored without a date, so trends, periods and outcome "
            f"windows leave them out; map one with --map received_at=COLUMN{hint} (rows already imported: "
            "`cxchange redate COLUMN`)"
        )
        return {"candidates": candidates, "notes": [note]}

    def _dates(self) -> dict[str, Any] | None:
        """How received_at was read and why, with the notes for the user (ambiguity, UTC offsets)."""
        reading = self.plan.dates
        return None if reading is None else {**reading.as_dict(), "notes": reading.notes()}
