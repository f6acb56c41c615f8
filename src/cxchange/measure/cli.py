"""Measure commands: scores and compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import runs_on_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

ByOption = Annotated[
    list[str] | None,
    typer.Option(
        "--by", help="month|week|quarter|year|day|source|channel|unit|org:LEVEL|attr:NAME, repeatable."
    ),
]


@runs_on_engine(
    title="{metric} scores", as_rows=True, dim_when="small", calls="cxchange.measure.service:scores_of"
)
def scores_command(
    metric: opt.DefaultMetricOption = None,
    by: ByOption = None,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    ci: Annotated[str | None, typer.Option(help="adjusted-wald (NPS default), wald or bootstrap.")] = None,
    level: opt.LevelOption = 0.95,
    min_n: opt.MinNOption = 30,
) -> None:
    """NPS / CSAT / CES / rating by group, with confidence intervals; small groups flagged, not hidden.
    No answers in scope: one line on stderr, exit 1. Ratings from sources on different scales (1-5,
    1-10) are never averaged together: one row per scale (group `scale`), or --by source."""


@runs_on_engine(title="{metric}: each group vs {vs}", as_rows=True, dim_when="small")
def compare_command(
    engine: Engine,
    metric: opt.DefaultMetricOption = None,
    by: ByOption = None,
    vs: Annotated[str, typer.Option(help="rest or previous-period.")] = "rest",
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    level: opt.LevelOption = 0.95,
    min_n: opt.MinNOption = 30,
) -> Any:
    """Differences between groups with intervals and Holm-adjusted p-values. Ratings from sources on
    different scales (1-5, 1-10) are never compared or averaged together: such a scope is refused with
    one line; narrow it with --where source=NAME."""
    from cxchange.measure.compare import compare
    from cxchange.measure.service import ScoreQuery

    return compare(engine, ScoreQuery.of(metric or "", by, where, since, until, None, level, min_n), vs=vs)


def register(app: typer.Typer) -> None:
    app.command("scores")(scores_command)
    app.command("compare")(compare_command)
