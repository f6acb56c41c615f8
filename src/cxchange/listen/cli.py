"""Listen commands: import, batches, rejects, feedback, org."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_command, engine_from, process_started, runs_on_engine
from cxchange.core.output import print_rows, to_json, write_csv

if TYPE_CHECKING:
    from sqlalchemy import Engine

org_app = typer.Typer(help="The organisation: units and people.", no_args_is_help=True)


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV/TSV/XLSX/JSONL/Parquet export, optionally .gz.")],
    source: Annotated[str, typer.Option(help="Name of the feedback source.")],
    kind: Annotated[
        str | None,
        typer.Option(
            help="survey|ticket|review|social|complaint|employee; complaint and ticket rows are kept "
            "without text or score when other fields (product, issue...) say what they are about.",
        ),
    ] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN, repeatable.")] = None,
    rating_scale: Annotated[int | None, typer.Option(help="5 or 10.")] = None,
    allow_mixed_scales: Annotated[
        bool,
        typer.Option(
            "--allow-mixed-scales",
            help="Import a score column that mixes rating scales: values off the scale are left empty "
            "(row kept, with a warning), never rescaled.",
        ),
    ] = False,
    date_format: Annotated[
        str | None,
        typer.Option(
            help="How received_at is written, e.g. %m/%d/%Y, or %s for Unix seconds; needed when every "
            "date could be day- or month-first, and remembered for the source.",
        ),
    ] = None,
    file_format: Annotated[str | None, typer.Option(help="Override format detection.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show mapping, preview, problems; write nothing.")
    ] = False,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep emails, phones, card numbers.")
    ] = False,
    fmt: opt.TableJsonFormat = "table",
    db: opt.DbOption = None,
) -> None:
    """Import a feedback export. Rejected rows are kept with their reason (`cxchange rejects BATCH`), rows
    stored with a warning (a bad score left empty, the comment kept) too (`--warnings`)."""
    from cxchange.listen.mapping import parse_map_options
    from cxchange.listen.service import ImportOptions, import_file
    from cxchange.listen.service import dry_run as run_dry

    engine = engine_from(ctx, db)
    redact = not no_redact
    options = ImportOptions.of(
        source, kind, map_, rating_scale, date_format, allow_mixed_scales, redact, file_format
    )
    if dry_run:
        report = run_dry(engine, file, options)
        if fmt == "json":
            typer.echo(to_json(report.as_dict()))
        else:
            _print_dry_run(report)
        return
    with _progress() as tick:
        # From the process start: `seconds` is the whole command as the user waits for it.
        result = import_file(engine, file, options, progress=tick, started=process_started())
    if fmt == "json":
        typer.echo(to_json(result.as_dict()))
        return
    # The counts; what is a list or a note (dates, undated: printed below) is not one.
    counts = {
        k: v
        for k, v in result.as_dict().items()
        if not isinstance(v, list | dict) and k not in ("dates", "undated")
    }
    print_rows([counts], "table", title=f"import of {file}")
    typer.echo("seconds by step: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    _print_summary(result.as_dict())
    mapped = parse_map_options(map_ or [])  # valid: the import read them the same way
    way_out = {"org_unit": "cxchange org link {}", "received_at": "cxchange redate {}"}
    for field, command in way_out.items():
        if (missing := result.stored_without.get(field)) and mapped.get(field):
            typer.echo(
                f"{missing:,} row(s) of this source were stored before without {field}; rows imported "
                f"again are skipped as duplicates, never updated: `{command.format(mapped[field])}` fills "
                "it in from that column where the file has it"
            )
    if result.rejected or result.warnings:
        flags = " / --warnings" if result.warnings else ""
        typer.echo(f"rows, one by one: cxchange rejects {result.batch_id}{flags}")


def _print_summary(summary: dict[str, Any]) -> None:
    """What was not stored as it was, by reason: the same lines for a dry run and an import."""
    if summary["rejects_by_reason"]:
        print_rows(summary["rejects_by_reason"], title=f"rejected rows by reason ({summary['rejected']:,})")
    if summary["warnings_by_reason"]:
        title = f"rows kept with a warning, by reason ({summary['warnings']:,})"
        print_rows(summary["warnings_by_reason"], title=title)
    if summary["unknown_units"]:
        shown = len(summary["unknown_units"])
        more = f"; the {shown} most frequent:" if shown < summary["unknown_unit_values"] else ":"
        values, rows = summary["unknown_unit_values"], summary["unknown_unit_rows"]
        typer.echo(
            f"{values:,} org_unit value(s) in {rows:,} row(s) name no known unit; the rows are kept "
            f"without a unit, the value in the attribute org_unit (`cxchange org import` of units with these "
            f"codes or names links them){more}"
        )
        print_rows(summary["unknown_units"], title="unknown org units")
    for read in summary.get("score_scales") or []:
        typer.echo(read["note"])
    for scale in summary["mixed_scales"]:
        others = ", ".join(
            f"{o['values']:,} fit {o['scale']} (first at row {o['first_row']})" for o in scale["other_scales"]
        )
        typer.echo(
            f"{scale['field']} ({scale['column']!r}): {scale['in_scale']:,} values fit {scale['scale']}, "
            f"{others}; those values are left empty, never rescaled"
        )
    for note in (summary.get("dates") or {}).get("notes", []) + (summary.get("undated") or {}).get(
        "notes", []
    ):
        typer.echo(note)
    if summary["kept_without_text_or_score"]:
        typer.echo(
            f"{summary['kept_without_text_or_score']:,} rows have no text or score and are kept as "
            "feedback for their other fields (complaint and ticket sources)"
        )


def _print_dry_run(report) -> None:  # type: ignore[no-untyped-def]
    info = f"{report.file}: {report.format}, encoding {report.encoding}, delimiter {report.delimiter!r}"
    typer.echo(info)
    print_rows([{"field": f, "column": c} for f, c in report.mapping.items()], title="mapping")
    typer.echo(f"kept as attributes: {', '.join(report.attributes) or '(none)'}")
    if report.preview:
        print_rows(report.preview, title="first rows")
    typer.echo(
        f"read {report.read}, valid {report.valid} (with a warning {report.warnings}), duplicates in file "
        f"{report.duplicates_in_file}, rejected {report.rejected}"
    )
    if report.problems:
        shown = len(report.problems)
        more = f"first {shown} of {report.rejected:,}" if shown < report.rejected else f"all {shown}"
        print_rows(report.problems, title=f"rejected rows ({more})")
    _print_summary(report.as_dict())


class _progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, JSON output)."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not sys.stderr.isatty():
            self._bar = None
            return None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed:,} rows read"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task("import", total=None)
        return lambda n: self._bar.update(task, completed=n)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _show_batches(rows: list[dict[str, Any]], fmt: str) -> None:
    # The per-step timings are for JSON/CSV readers; a table keeps to the counts.
    columns = [c for c in rows[0] if c != "timings"] if rows and fmt == "table" else None
    print_rows(rows, fmt, title="import batches", columns=columns)


@runs_on_engine(
    show=_show_batches,
    calls="cxchange.listen.browse:list_batches",
    empty="no import batches yet: `cxchange import FILE --source NAME` stores one",
)
def batches_command() -> None:
    """List import batches with their counts and status."""


def rejects_command(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="Batch id (see `cxchange batches`).")],
    warnings: Annotated[
        bool,
        typer.Option(
            "--warnings", help="The rows stored with a warning (e.g. a bad score left empty) instead."
        ),
    ] = False,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Rejected rows of a batch, the CSV ready to fix and import again; --warnings: rows kept with a note."""
    from cxchange.listen.browse import list_rejects, rejects_for_reimport
    from cxchange.listen.models import REJECT, WARNING

    engine = engine_from(ctx, db)
    if fmt == "csv":
        header, rows = rejects_for_reimport(engine, batch_id, kind=WARNING if warnings else REJECT)
        write_csv([dict(zip(header, r, strict=True)) for r in rows], sys.stdout, header)
        return
    if warnings:
        print_rows(
            list_rejects(engine, batch_id, kind=WARNING),
            fmt,
            title=f"rows kept with a warning, batch {batch_id}",
        )
        return
    print_rows(list_rejects(engine, batch_id), fmt, title=f"rejected rows, batch {batch_id}")


@runs_on_engine(title="feedback", as_rows=True, calls="cxchange.understand.explore:list_feedback")
def feedback_command(
    source: opt.SourceOption = None,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    theme: Annotated[str | None, typer.Option(help="Only comments about this theme.")] = None,
    sentiment: Annotated[str | None, typer.Option(help="negative, neutral or positive.")] = None,
    q: Annotated[str | None, typer.Option("--q", "--search", help="Words the comment must contain.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    offset: Annotated[int, typer.Option()] = 0,
) -> None:
    """List stored feedback, newest first, with sentiment and themes once analysed."""


@engine_command(org_app, "import", formats=opt.TABLE_JSON, title="org import", as_rows=True)
def org_import(
    engine: Engine,
    units: Annotated[Path, typer.Argument(help="CSV with code, name, parent (and optional level).")],
    people: Annotated[Path | None, typer.Option(help="CSV with name, email, unit, role.")] = None,
) -> Any:
    """Load or update org units and people (importing again updates, never duplicates)."""
    from cxchange.listen.org import import_org

    return [import_org(engine, units, people)]  # one row, in JSON too


def _show_link(out: dict[str, Any], fmt: str) -> None:
    typer.echo(
        f"linked {out['feedback_linked']:,} feedback row(s) to the unit their {out['attribute']} names"
    )
    if out["unknown_units"]:
        typer.echo(
            f"{out['unknown_unit_values']:,} value(s) in {out['unknown_unit_rows']:,} row(s) name no known "
            "unit (units are matched by code, code path or unique name; `cxchange org import` adds them):"
        )
        print_rows(out["unknown_units"], title="unknown org units")


@engine_command(org_app, "link", formats=opt.TABLE_JSON, show=_show_link)
def org_link(
    engine: Engine,
    attribute: Annotated[str, typer.Argument(help="A column kept at import that names the unit.")],
) -> Any:
    """Link feedback stored without a unit to the unit a kept column names (code, path or unique name):
    for an export imported before its org, or without an org_unit mapping."""
    from cxchange.listen.org import link_by_attribute

    return link_by_attribute(engine, attribute)


def _show_redate(out: dict[str, Any], fmt: str) -> None:
    typer.echo(f"dated {out['dated']:,} feedback row(s) from their {out['attribute']}")
    if out["reading"]:
        typer.echo(f"read as {', '.join(out['reading']['formats'])}: {out['reading']['evidence']}")
        for note in out["reading"]["notes"]:
            typer.echo(note)
    if out["unread"]:
        typer.echo(f"{out['unread']:,} value(s) read as no date: those rows stay undated")


@runs_on_engine(formats=opt.TABLE_JSON, show=_show_redate)
def redate_command(
    engine: Engine,
    attribute: Annotated[str, typer.Argument(help="A column kept at import that holds the date.")],
    source: opt.SourceOption = None,
    date_format: Annotated[
        str | None, typer.Option(help="e.g. %d/%m/%Y, when day and month could swap.")
    ] = None,
) -> Any:
    """Date feedback stored without a date from a column kept at import (its name was not recognised);
    rows with a date are never touched."""
    from cxchange.listen.redate import redate

    return redate(engine, attribute, source=source, date_format=date_format)


def _show_tree(tree: list[dict[str, Any]], fmt: str) -> None:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    def add(node: Tree, unit: dict) -> None:  # type: ignore[type-arg]
        label = Text(f"{unit['code']}  {unit['name']}  ({unit['level']}, {unit['people']} people)")
        branch = node.add(label)
        for child in unit["children"]:
            add(branch, child)

    root = Tree("organisation")
    for unit in tree:
        add(root, unit)
    Console().print(root)


@engine_command(
    org_app, "show", formats=opt.TABLE_JSON, show=_show_tree, calls="cxchange.org.tree:org_as_nested"
)
def org_show() -> None:
    """Print the org tree."""


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("batches")(batches_command)
    app.command("rejects")(rejects_command)
    app.command("feedback")(feedback_command)
    app.command("redate")(redate_command)
    app.add_typer(org_app, name="org")
