"""`cxchange report`: the executive report as a standalone HTML page or a PDF.

Thin: check the output suffix, gather with `cxchange.report.build`, render with
`cxchange.report.render`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_from
from cxchange.report.period import ReportPeriod, parse_period


def report_command(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="report.html or report.pdf: the format follows the suffix.")
    ],
    period: Annotated[
        ReportPeriod | None,
        typer.Option(
            parser=parse_period,  # while the line is read: a bad period is refused before any work
            metavar="PERIOD",
            help="2026-Q3 (quarter), 2026-09 (month) or 2026 (year); default: the latest complete "
            "quarter with data.",
        ),
    ] = None,
    unit: opt.UnitOption = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Email of a user: the report holds only what they may see (a manager: their units).",
        ),
    ] = None,
    db: opt.DbOption = None,
) -> None:
    """Executive summary: scores with intervals and trend, what moved and why, emerging issues,
    initiatives and their measured outcomes, recognitions. Ratings from sources on different scales
    (1-5, 1-10): a score card per scale, never their mean; theme impact, drivers and units on them are
    left out with the reason."""
    from cxchange.auth.scope import UserScope
    from cxchange.report.build import build_report
    from cxchange.report.render import check_output, write_report

    check_output(output)  # before the work: a bad suffix fails fast
    began = time.perf_counter()
    eng = engine_from(ctx, db)
    scope = UserScope.for_email(eng, as_user) if as_user else None
    data = build_report(eng, period=period, unit=unit, scope=scope)
    write_report(data, output)
    typer.echo(
        f"wrote {output} ({data['period']['label']}, {data['scope_name']}, "
        f"{data['feedback']:,} pieces of feedback) in {time.perf_counter() - began:.1f} s"
    )
    if data["later"]:
        later = data["later"]
        typer.echo(
            f"{later['feedback']:,} later pieces of feedback fall in {later['period']}, not complete yet: "
            f"--period {later['period']}"
        )


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
