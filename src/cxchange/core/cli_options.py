"""The options every stage's CLI shares, defined once so their names, help and checks cannot drift:
--db, --format (per command: the help lists exactly the formats it writes and anything else is refused),
--where, --since, --until (read as dates while the line is parsed: `core.period`), --unit, --units,
--source, --metric, --level, --min-n, --seed. A command module reads them as `opt.WhereOption`
(`from cxchange.core import cli_options as opt`); how a command runs is `core.cli_support`'s."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cxchange.core.errors import InputError
from cxchange.core.output import FORMATS
from cxchange.core.period import parse_date

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: CXCHANGE_DATABASE_URL).")]
WhereOption = Annotated[list[str] | None, typer.Option("--where", help="FIELD=VALUE, repeatable.")]
SourceOption = Annotated[str | None, typer.Option("--source", help="Only feedback from this source.")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="A unit code: it and the units beneath.")]
UnitsOption = Annotated[str | None, typer.Option("--units", help="Unit codes, comma-separated.")]
MetricOption = Annotated[str, typer.Option("--metric", help="nps, csat, ces or rating.")]
DefaultMetricOption = Annotated[
    str | None,
    typer.Option(
        "--metric",
        help="nps, csat, ces or rating. Default: nps when the scope has NPS answers, else the metric it has "
        "most answers of.",
    ),
]
LevelOption = Annotated[float, typer.Option("--level", help="Confidence level of the intervals.")]
MinNOption = Annotated[int, typer.Option("--min-n", min=0, help="Groups below this n are flagged small.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: the same seed, the same answer.")]


def check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if fmt not in allowed:
        raise InputError(f"unknown --format {fmt!r}; use one of {', '.join(allowed)}")
    return fmt


def format_help(allowed: tuple[str, ...]) -> str:
    return "Output format: " + (" or ".join(allowed) if len(allowed) < 3 else ", ".join(allowed)) + "."


def format_option(allowed: tuple[str, ...] = FORMATS) -> Any:
    """A --format option that lists exactly `allowed` in its help and refuses anything else while the
    command line is parsed (one line, exit 1), so no command checks its format by hand."""
    if not allowed or any(a not in FORMATS for a in allowed):
        raise ValueError(f"formats must come from {FORMATS}, got {allowed}")

    def check(value: str) -> str:
        return check_format(value, allowed)

    return typer.Option("--format", help=format_help(allowed), callback=check)


TABLE_JSON = ("table", "json")
FormatOption = Annotated[str, format_option(FORMATS)]
TableJsonFormat = Annotated[str, format_option(TABLE_JSON)]


def date_option(flag: str, help: str) -> Any:
    """A date option read while the command line is parsed: a bad date is refused (one line naming
    `flag`, exit 1) before any work, and the command is handed a `date`."""
    return typer.Option(flag, parser=lambda value: parse_date(value, flag), metavar="YYYY-MM-DD", help=help)


SinceOption = Annotated[date | None, date_option("--since", "From this date on.")]
UntilOption = Annotated[date | None, date_option("--until", "Before this date (exclusive).")]
