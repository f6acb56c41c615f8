"""Per-chunk work of an import, shared by a real import and a dry run: the field plan (header, remembered
mapping, options, the dates' reading), then each chunk validated, summarised and redacted."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from cxchange.core.errors import InputError
from cxchange.core.names import check_column_names
from cxchange.listen import dates
from cxchange.listen.import_types import REJECT_COLUMNS, ImportOptions, Sampler, StepClock
from cxchange.listen.mapping import FIELDS, parse_map_options, suggest_mapping
from cxchange.listen.models import Feedback, Source
from cxchange.listen.readers import Chunk, RawReject, TableInfo
from cxchange.listen.redact import redact_texts
from cxchange.listen.summary import ImportSummary
from cxchange.listen.validate import FieldPlan, Rejects, check_scale, normalise_chunk, plan_fields
from cxchange.org.models import OrgUnit


def _resolve_mapping(info: TableInfo, stored: Mapping[str, str], options: ImportOptions) -> dict[str, str]:
    """Suggested from the header, then what the source remembers, then --map: later wins."""
    try:
        overrides = parse_map_options(options.map_options)
    except ValueError as exc:
        raise InputError(str(exc), file=info.path) from None
    columns = importable_columns(info)
    mapping = dict(suggest_mapping(columns))
    for fld, col in stored.items():
        if fld in FIELDS and col in columns:
            mapping = {f: c for f, c in mapping.items() if c != col}
            mapping[fld] = col
    for fld, col in overrides.items():
        mapping = {f: c for f, c in mapping.items() if c != col}
        mapping[fld] = col
    return mapping


def importable_columns(info: TableInfo) -> list[str]:
    """The file's columns less the reject_* ones that `cxchange rejects --format csv` adds."""
    return [c for c in info.columns if c not in REJECT_COLUMNS]


def unit_lookup(conn: Connection) -> dict[str, int]:
    """Codes, code paths and unique names of org units, so an export may name a unit any of these ways."""
    rows = conn.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.path, OrgUnit.name)).all()
    names: dict[str, list[int]] = {}
    for r in rows:
        names.setdefault(r.name.lower(), []).append(r.id)
    lookup = {k: ids[0] for k, ids in names.items() if len(ids) == 1}
    for r in rows:
        lookup[r.path.lower()] = r.id
        lookup[r.code.lower()] = r.id
    return lookup


def _raw_rejects(raws: Sequence[RawReject]) -> Rejects:
    out = Rejects()
    for r in raws:
        # Grouped without the position of a JSON syntax error, so one bad export is one line.
        out.add(r.row_number, None, r.reason, r.raw, key=re.sub(r" at column \d+$", "", r.reason))
    return out


class Pipeline:
    """Per-chunk work shared by a real import and a dry run."""

    def __init__(
        self,
        info: TableInfo,
        plan: FieldPlan,
        units: Mapping[str, int],
        redact: bool,
        clock: StepClock | None = None,
    ) -> None:
        self.info, self.plan, self.units, self.redact = info, plan, units, redact
        self.clock = clock or StepClock()
        self.first = True
        self.summary = ImportSummary(plan, file=info.path)

    def run(self, chunk: Chunk) -> tuple[pl.DataFrame, Rejects, Rejects, int]:
        """(rows to store, rejects, warnings, rows redacted) of one chunk."""
        if self.first and chunk.frame.height:
            check_scale(chunk.frame, self.plan, file=self.info.path, row_numbers=chunk.row_numbers)
            self.first = False
        if chunk.frame.height:
            self.summary.add_raw(chunk.frame, chunk.row_numbers)
        rejects = _raw_rejects(chunk.rejects)
        checked = normalise_chunk(
            chunk.frame, chunk.row_numbers, self.plan, unit_lookup=self.units, file=self.info.path
        )
        rejects.extend(checked.rejects)
        rejects.sort()
        self.summary.add(checked, rejects)
        good = checked.good
        redacted = 0
        if self.redact and "text" in self.plan.mapping and good.height:
            with self.clock.step("redact"):
                result = redact_texts(good["text"])
            good = good.with_columns(result.text.alias("text"))
            redacted = result.redacted_rows
        return good, rejects, checked.warnings, redacted


def plan_import(
    conn: Connection, info: TableInfo, options: ImportOptions, sampler: Sampler | None
) -> tuple[Any, FieldPlan]:
    """The source as stored (or None) and the field plan: header, remembered mapping, then options; the
    dates' reading decided from `sampler`'s values of the whole column, before any chunk."""
    check_column_names(info.columns, info.path)  # hardening: names become attribute keys
    src = get_source(conn, options.source)
    stored = dict(src.mapping or {}) if src else {}
    mapping = _resolve_mapping(info, stored, options)
    scale, origin = _rating_scale(conn, src, options, rated="rating" in mapping, file=info.path)
    plan = plan_fields(
        importable_columns(info),
        mapping,
        file=info.path,
        rating_scale=scale,
        date_format=options.date_format or stored.get("_date_format"),
        kind=options.kind or (src.kind if src else "survey"),
        allow_mixed_scales=options.allow_mixed_scales,
    )
    plan = replace(plan, rating_origin=origin)
    column = plan.mapping.get("received_at")
    if column is not None and sampler is not None:
        origin = "given" if options.date_format else "stored"
        reading = dates.decide_sample(
            sampler(column), file=info.path, date_format=plan.date_format, origin=origin
        )
        dates.refuse_unreadable(reading, file=info.path)  # the dry run says so too, before any row
        plan = replace(plan, dates=reading)
    return src, plan


def _rating_scale(
    conn: Connection, src: Any, options: ImportOptions, *, rated: bool, file: str
) -> tuple[int, str]:
    """(scale, origin) of the file's ratings: --rating-scale ("declared"), else the scale of the source's
    stored ratings ("source"), else 1-5 ("read", said in the output). A source keeps one scale: a file
    declared on another is refused, so no mean of the source mixes scales (`measure.mixed`)."""
    stored = None
    if src is not None:
        has_ratings = select(Feedback.id).where(Feedback.source_id == src.id, Feedback.rating.is_not(None))
        if conn.execute(has_ratings.limit(1)).first() is not None:
            stored = int(src.rating_scale)
    declared = options.rating_scale
    if rated and stored is not None and declared is not None and declared != stored:
        raise InputError(
            f"source {options.source!r} holds ratings on 1-{stored}; this file is declared 1-{declared} "
            f"(--rating-scale {declared}): a source keeps one rating scale, values are never rescaled: "
            f"import it as another source (e.g. --source '{options.source} 1-{declared}')",
            file=file,
        )
    if declared is not None:
        return declared, "declared"
    return (stored, "source") if stored is not None else (5, "read")


def get_source(conn: Connection, name: str) -> Any:
    """(id, mapping, rating_scale, kind) of a source, or None for a new one."""
    stmt = select(Source.id, Source.mapping, Source.rating_scale, Source.kind).where(Source.name == name)
    return conn.execute(stmt).first()
