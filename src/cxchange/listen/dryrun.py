"""The dry run of an import: everything but the writing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from cxchange.listen import dates
from cxchange.listen.import_types import DryRunReport, ImportOptions
from cxchange.listen.pipeline import Pipeline, plan_import, unit_lookup
from cxchange.listen.readers import open_table


def dry_run(
    engine: Engine, path: str | Path, options: ImportOptions, *, max_problems: int = 20
) -> DryRunReport:
    """Everything an import would do except writing: mapping, preview, problems, counts, and the
    summary by reason (every reject and warning counted, not only the first `max_problems`)."""
    reader = open_table(path, format=options.file_format)
    info = reader.info
    with engine.connect() as conn, dates.rows_located(reader.find_rows):
        _, plan = plan_import(conn, info, options, reader.sample_column)
        units = unit_lookup(conn)
    mapping = dict(plan.mapping)
    report = DryRunReport(
        file=info.path,
        format=info.format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        columns=list(info.columns),
        mapping=mapping,
        attributes=list(plan.attribute_columns),
        preview=reader.preview(5).to_dicts(),
    )
    pipeline = Pipeline(info, plan, units, redact=False)
    seen: set[str] = set()
    for chunk in reader.iter_chunks(options.rows_per_chunk()):
        good, rejects, warnings, _ = pipeline.run(chunk)
        report.read += chunk.frame.height + len(chunk.rejects)
        report.warnings += len(warnings)
        keys = good["dedup_key"].to_list()
        fresh = [k for k in keys if k not in seen]
        seen.update(keys)
        report.duplicates_in_file += len(keys) - len(set(fresh))
        report.valid += len(set(fresh))
        report.rejected += len(rejects)
        for r, c, why in zip(rejects.row_numbers, rejects.columns, rejects.reasons, strict=True):
            if len(report.problems) < max_problems:
                report.problems.append({"row": r, "column": c, "reason": why})
    for key, value in pipeline.summary.as_dict().items():
        setattr(report, key, value)
    return report
