"""What an import is asked to do and what it answers: options, the result, the dry run's report, and
the clock that says where the time went (shared by service.py, pipeline.py and dryrun.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from cxchange.core.config import get_settings
from cxchange.core.errors import InputError
from cxchange.core.names import check_name
from cxchange.listen.readers import ColumnSample

Progress = Callable[[int], None]
# A column's values for the decisions made before any chunk (the dates' reading): TableReader.sample_column.
Sampler = Callable[[str], ColumnSample]
# Added to exported rejects so a fixed file says why each row failed; ignored when imported again.
REJECT_COLUMNS = ("reject_row", "reject_column", "reject_reason")


@dataclass(kw_only=True)
class RowSummary:
    """Rows kept but not as they were (a bad score left empty), and what was not stored as it was, by
    reason (summary.py): the same keys for a dry run and an import, after each one's own."""

    warnings: int = 0
    kept_without_text_or_score: int = 0
    rejects_by_reason: list[dict[str, Any]] = field(default_factory=list)
    warnings_by_reason: list[dict[str, Any]] = field(default_factory=list)
    unknown_units: list[dict[str, Any]] = field(default_factory=list)
    unknown_unit_values: int = 0
    unknown_unit_rows: int = 0
    mixed_scales: list[dict[str, Any]] = field(default_factory=list)
    # The scale each score column was read on and why, with a note (the rating always; scales.py).
    score_scales: list[dict[str, Any]] = field(default_factory=list)
    dates: dict[str, Any] | None = None  # how received_at was read, and notes (dates.DateReading)
    undated: dict[str, Any] | None = None  # no date column mapped: which columns may be it, and a note

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        summary = [f.name for f in fields(RowSummary)]
        return {**{k: v for k, v in data.items() if k not in summary}, **{k: data[k] for k in summary}}


@dataclass
class ImportResult(RowSummary):
    batch_id: int | None
    source: str
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    redacted: int = 0
    # The whole command's time as the user waits for it (from `started`, see import_table), post-commit
    # work included; `timings` says where it went.
    seconds: float = 0.0
    # What closing the loop did after the batch committed (the "batch imported" event's subscribers).
    cases_opened: int = 0
    alerts_evaluated: int = 0
    alerts_raised: int = 0
    # Rows of the source stored before without a field this import maps (received_at, org_unit): being
    # duplicates, they are skipped and stay so; the CLI names the command that fills the field in.
    stored_without: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


class StepClock:
    """Seconds per named step, summed over chunks. Reading, validating and preparing run in the
    read-ahead thread beside writing, so those steps overlap and add up to more than the total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


@dataclass
class DryRunReport(RowSummary):
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    mapping: dict[str, str]
    attributes: list[str]
    preview: list[dict[str, Any]]
    read: int = 0
    valid: int = 0
    duplicates_in_file: int = 0
    rejected: int = 0
    # The first rejects, row by row; the summary below counts all of them (and the warnings) by reason.
    problems: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportOptions:
    source: str
    kind: str | None = None
    map_options: Sequence[str] = ()
    rating_scale: int | None = None
    date_format: str | None = None
    # Import a score column that mixes rating scales, leaving the out-of-scale values empty (scales.py).
    allow_mixed_scales: bool = False
    redact: bool = True
    file_format: str | None = None
    chunk_rows: int | None = None  # rows per chunk; None: CXCHANGE_IMPORT_CHUNK_ROWS
    # Close the loop after the batch commits: open cases, evaluate alert rules (cxchange/subscribers.py),
    # judging "recent" by `loop_now` (the demo's fixed clock) or the current time.
    close_loop: bool = True
    loop_now: datetime | None = None
    # The after-commit work (columnar copy, search index, cases, alerts): done before the import returns
    # ("now"), or handed to this process's background worker, merged with other small imports' work
    # ("background": survey answers, acknowledged as soon as they are committed; core/events.py).
    after_commit: str = "now"
    # The batch's started and finished times as recorded, instead of the clock's: a release of held pulse
    # comments is dated by its day, so `cxchange batches` cannot join it to the answer that released it.
    dated: datetime | None = None

    def rows_per_chunk(self) -> int:
        rows = self.chunk_rows or get_settings().import_chunk_rows
        if rows < 1:
            raise InputError(f"import chunk rows must be at least 1, got {rows}")
        return rows

    @classmethod
    def of(
        cls,
        source: str,
        kind: str | None,
        map_options: Sequence[str] | None,
        rating_scale: int | None,
        date_format: str | None,
        allow_mixed_scales: bool,
        redact: bool,
        file_format: str | None = None,
    ) -> ImportOptions:
        """The options an interface's import asks for (the CLI's, the API's, the library's): their
        fields in this order, an unset --map (None) meaning none."""
        mapping = tuple(map_options or ())
        return cls(source, kind, mapping, rating_scale, date_format, allow_mixed_scales, redact, file_format)

    def __post_init__(self) -> None:
        if self.after_commit not in ("now", "background"):
            raise ValueError(f"after_commit: 'now' or 'background', not {self.after_commit!r}")
        check_name(self.source, "source name")  # a NUL cannot be stored; ESC and bidi codes mislead
