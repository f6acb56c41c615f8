"""`cxchange demo`: a seeded, realistic demo company in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import runs_on_engine
from cxchange.core.output import print_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _show_demo(summary: dict[str, Any], fmt: str) -> None:
    typer.echo(f"demo company: {summary['units']} units, {summary['people']} people, {summary['seconds']} s")
    counts = [{k: v for k, v in b.items() if not isinstance(v, list)} for b in summary["batches"]]
    print_rows(counts, title="demo batches")


@runs_on_engine(formats=opt.TABLE_JSON, show=_show_demo)
def demo_command(
    engine: Engine,
    rows: Annotated[int, typer.Option(help="Feedback rows in all sources.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if feedback exists.")] = False,
    analyse: Annotated[
        bool, typer.Option("--analyze/--no-analyze", help="Load the CX taxonomy and analyse comments.")
    ] = True,
) -> Any:
    """Generate the demo company (org tree, people, three sources of feedback) and import it."""
    from cxchange.demo.load import create_demo, database_is_empty

    if if_empty and not database_is_empty(engine):
        typer.echo("database already has feedback; demo not loaded", err=True)
        return None
    return create_demo(engine, rows=rows, seed=seed, analyse=analyse)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
