"""Decide commands: drivers (key-driver analysis of a file or of stored feedback)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_from, scope_options
from cxchange.core.errors import InputError
from cxchange.core.output import neutralise_cell, print_rows, to_json

TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="A column of --file (needed); with stored feedback nps, csat, ces, rating or attr:NAME "
        "(default: NPS when the scope has NPS answers, else its most-answered score); rating over "
        "sources on 1-5 and 1-10 is refused: narrow it with --where source=NAME.",
    ),
]


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _write_csv(rows: list[dict[str, Any]]) -> None:
    """Like `cxchange.core.output.write_csv`, except that a lone "+" or "-" (a direction) is no formula
    and stays as it is; driver names still get the formula guard."""
    columns = list(rows[0]) if rows else []
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([v if v in ("+", "-") else neutralise_cell(v) for v in (row.get(c) for c in columns)])


def _table_rows(
    table: dict[str, Any], level: float, quadrants: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Rounded for reading; JSON and CSV keep every digit."""
    rows = []
    for d in table["drivers"]:
        ci = "" if d["ci_low"] is None else f"{d['ci_low']:.4f}–{d['ci_high']:.4f}"
        row = {
            "driver": d["driver"],
            "importance": f"{d['importance']:.4f}",
            "share %": f"{d['share_pct']:.1f}",
            f"{level:.0%} interval": ci,
            "dir": d["direction"],
            "r": "" if d.get("correlation") is None else f"{d['correlation']:+.3f}",
            "performance": "" if d["performance"] is None else f"{d['performance']:.3g}",
        }
        if quadrants is not None:
            row["quadrant"] = quadrants[d["driver"]]
        rows.append(row)
    return rows


def _load_file(file: Path, target: str, predictors: str | None) -> tuple[Any, list[str], list[str]]:
    """The frame, its predictor columns from --file and the notes on them (stored feedback goes
    through stored_drivers)."""
    from cxchange.decide.drivers import MAX_CATEGORIES, default_predictors, expand_categories, read_table

    frame = read_table(file)
    if predictors:
        return expand_categories(frame, _split(predictors))
    chosen, left_out = default_predictors(frame, target)
    if not chosen and target in frame.columns:
        raise InputError(f"{file}: no numeric columns besides {target!r} to use as predictors")
    notes = (
        [
            f"left out, not numbers or yes/no: {', '.join(left_out)} (name them in --predictors: a column "
            f"of at most {MAX_CATEGORIES} categories is compared as 0/1 flags)"
        ]
        if left_out
        else []
    )
    return frame, chosen, notes


def drivers_command(
    ctx: typer.Context,
    target: TargetOption = None,
    file: Annotated[Path | None, typer.Option(help="CSV/TSV/XLSX/Parquet/JSONL table to analyse.")] = None,
    predictors: Annotated[
        str | None,
        typer.Option(help="A,B,C (default with --file: every other column of numbers or yes/no)."),
    ] = None,
    method: Annotated[str, typer.Option(help="shapley or relative-weights.")] = "shapley",
    show_quadrant: Annotated[
        bool, typer.Option("--quadrant", help="Add the importance-performance quadrant of each driver.")
    ] = False,
    boot: Annotated[int, typer.Option(help="Bootstrap resamples for intervals (0: none).")] = 200,
    seed: opt.SeedOption = 0,
    level: opt.LevelOption = 0.95,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Stored feedback: themes (0/1 mention), theme-sentiment, or attrs:A,B,C."
        ),
    ] = None,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Key drivers: each predictor's share of R² (Shapley / LMG or relative weights) with intervals."""
    from cxchange.decide.drivers import driver_table, missing_note, quadrant, sign_notes

    if not 0 < level < 1:
        raise InputError(f"--level must be between 0 and 1, got {level}")
    if file is not None:
        if from_ is not None:
            raise InputError("use either --file or --from, not both")
        if where or since or until:
            raise InputError("--where, --since and --until filter stored feedback; filter the file instead")
        if not target:
            raise InputError(f"{file}: say which column the drivers explain: --target COLUMN")
        frame, chosen, notes = _load_file(file, target, predictors)
        table = driver_table(frame, target, chosen, method=method, n_boot=boot, seed=seed, level=level)
        note = missing_note(frame, target, chosen, table["n"])
        notes += ([note] if note else []) + sign_notes(table)
    else:
        from cxchange.decide.key_drivers import stored_drivers

        if from_ is None:
            raise InputError(
                "say where the data is: --file DATA.csv, or --from attrs:A,B,C for stored feedback"
            )
        if predictors:
            raise InputError(
                "--predictors is for --file; with stored feedback list them in --from attrs:A,B,C"
            )
        table = stored_drivers(
            engine_from(ctx, db), target=target, source=from_, where=tuple(where or ()),
            since=since, until=until,
            method=method, boot=boot, seed=seed, level=level,
        )  # fmt: skip
        notes = table.pop("notes")
    for note in notes:
        typer.echo(note, err=True)
    quadrants = {q["driver"]: q["quadrant"] for q in quadrant(table)} if show_quadrant else None
    if quadrants is not None:
        for d in table["drivers"]:
            d["quadrant"] = quadrants[d["driver"]]
    if fmt == "json":
        typer.echo(to_json(table))
        return
    if fmt == "csv":
        _write_csv(table["drivers"])
        return
    title = f"key drivers of {table['target']} ({method}): n = {table['n']}, R² = {table['r2']:.3f}"
    print_rows(_table_rows(table, level, quadrants), "table", title=title)


def register(app: typer.Typer) -> None:
    app.command("drivers")(scope_options(drivers_command))
