"""`cxchange demo`: a seeded, realistic demo company in the database."""

from __future__ import annotations

from typing import Annotated

import typer

from cxchange.core.cli_support import DbOption, TableJsonFormat, engine_from
from cxchange.core.output import print_rows, to_json


def demo_command(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option("--rows", help="Feedback rows in all sources.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same company).")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if feedback exists.")] = False,
    analyse: Annotated[
        bool, typer.Option("--analyze/--no-analyze", help="Load the CX taxonomy and analyse comments.")
    ] = True,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Generate the demo company (org tree, people, three sources of feedback) and import it."""
    from cxchange.demo.load import create_demo, database_is_empty

    engine = engine_from(ctx, db)
    if if_empty and not database_is_empty(engine):
        typer.echo("database already has feedback; demo not loaded", err=True)
        return
    summary = create_demo(engine, rows=rows, seed=seed, analyse=analyse)
    if fmt == "json":
        typer.echo(to_json(summary))
        return
    typer.echo(f"demo company: {summary['units']} units, {summary['people']} people, {summary['seconds']} s")
    counts = [{k: v for k, v in b.items() if not isinstance(v, list)} for b in summary["batches"]]
    print_rows(counts, title="demo batches")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
