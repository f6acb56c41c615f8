"""Measure commands: scores and compare."""

from __future__ import annotations

from typing import Annotated

import typer

from cxchange.core.cli_support import (
    DbOption,
    FormatOption,
    LevelOption,
    MetricOption,
    SinceOption,
    UntilOption,
    WhereOption,
    engine_from,
)
from cxchange.core.output import print_rows

ByOption = Annotated[
    list[str] | None,
    typer.Option(
        "--by", help="month|week|quarter|year|day|source|channel|unit|org:LEVEL|attr:NAME, repeatable."
    ),
]


def scores_command(
    ctx: typer.Context,
    metric: MetricOption = "nps",
    by: ByOption = None,
    where: WhereOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    ci: Annotated[
        str | None, typer.Option("--ci", help="adjusted-wald (NPS default), wald or bootstrap.")
    ] = None,
    level: LevelOption = 0.95,
    min_n: Annotated[int, typer.Option("--min-n", help="Groups below this n are flagged small.")] = 30,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """NPS / CSAT / CES / rating by group, with confidence intervals; small groups flagged, not hidden.
    No answers in scope: one line on stderr, exit 1."""
    from cxchange.measure.service import ScoreQuery, scores_in_scope

    query = ScoreQuery.of(metric, by, where, since, until, ci, level, min_n)
    rows = scores_in_scope(engine_from(ctx, db), query)
    print_rows(rows, fmt, title=f"{metric} scores", dim_when="small")


def compare_command(
    ctx: typer.Context,
    metric: MetricOption = "nps",
    by: ByOption = None,
    vs: Annotated[str, typer.Option("--vs", help="rest or previous-period.")] = "rest",
    where: WhereOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    level: Annotated[float, typer.Option("--level")] = 0.95,
    min_n: Annotated[int, typer.Option("--min-n")] = 30,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Differences between groups with intervals and Holm-adjusted p-values."""
    from cxchange.measure.service import ScoreQuery, compare

    query = ScoreQuery.of(metric, by, where, since, until, None, level, min_n)
    rows = compare(engine_from(ctx, db), query, vs=vs)
    print_rows(rows, fmt, title=f"{metric}: each group vs {vs}", dim_when="small")


def register(app: typer.Typer) -> None:
    app.command("scores")(scores_command)
    app.command("compare")(compare_command)
