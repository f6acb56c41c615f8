"""RACI, readiness and impact commands (see `cxchange.change.cli`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.change.cli_common import Id
from cxchange.core import cli_options as opt
from cxchange.core.cli_support import commands_of, engine_command
from cxchange.core.output import emit, print_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine

raci_app = typer.Typer(help="Governance: the RACI matrix and its checks.", no_args_is_help=True)
readiness_app = typer.Typer(help="ADKAR readiness assessments and barrier points.", no_args_is_help=True)
impact_app = typer.Typer(help="Change impact per unit and the saturation heatmap.", no_args_is_help=True)
readiness_command = commands_of(readiness_app, formats=opt.TABLE_JSON)  # assessments: tables or JSON

# --- RACI ----------------------------------------------------------------------------------------


@engine_command(raci_app, "set", formats=opt.TABLE_JSON, title="RACI", calls="cxchange.change.raci:set_cell")
def raci_set(
    initiative: Id,
    activity: Annotated[str, typer.Argument()],
    person: Annotated[str, typer.Argument(help="E-mail.")],
    letter: Annotated[
        str, typer.Argument(help="R, A, C, I; A/R for an accountable person who does the work; - removes")
    ],
) -> None:
    """Give a person one letter on an activity."""


@engine_command(
    raci_app,
    "import",
    formats=opt.TABLE_JSON,
    title="RACI import",
    calls="cxchange.change.raci:import_matrix",
)
def raci_import(
    initiative: Id,
    file: Annotated[str, typer.Argument(help="CSV: activity, then one column per person's e-mail.")],
) -> None:
    """Replace the matrix with a CSV file (cells R, A, C, I, A/R or empty)."""


@engine_command(
    raci_app, "show", title="RACI", calls="cxchange.change.raci:show",
    empty="no RACI matrix for initiative {initiative} yet: `cxchange raci import {initiative} FILE.csv` "
    "(activity, then one column per person's e-mail) or `cxchange raci set`",
)  # fmt: skip
def raci_show(initiative: Id) -> None:
    """The matrix: one row per activity, one column per person."""


_RACI_CHECK_COLUMNS = ["activity", "person", "level", "rule", "message"]


def _show_raci_check(findings: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "table" and not findings:
        typer.echo("RACI: no errors, no warnings")
    else:
        emit(findings, fmt, "RACI check", _RACI_CHECK_COLUMNS)


def _has_error(findings: list[dict[str, Any]]) -> bool:
    return any(f["level"] == "error" for f in findings)


@engine_command(
    raci_app, "check", show=_show_raci_check, fails=_has_error, calls="cxchange.change.raci:check"
)
def raci_check(initiative: Id) -> None:
    """Check the rules (one A, at least one R, …); exit code 1 when there is an error."""


# --- readiness ----------------------------------------------------------------------------------


@readiness_command("import", title="readiness import")
def readiness_import(
    engine: Engine,
    initiative: Id,
    file: Annotated[str, typer.Argument(help="CSV: unit, person (optional), awareness … reinforcement 1–5")],
    date_: Annotated[str | None, typer.Option("--date", help="Assessment date (default today).")] = None,
) -> Any:
    """Import one ADKAR assessment (one row per respondent; anonymous rows allowed)."""
    from cxchange.change.readiness import import_file

    return import_file(engine, initiative, file, assessed_on=date_)


def _readiness_row(r: dict[str, Any], head: dict[str, Any], with_change: bool) -> dict[str, Any]:
    """A readiness table row: `head`, each ADKAR element's mean (and, `with_change`, its change since
    the previous assessment), then the top barrier."""
    from cxchange.change.models import ADKAR
    from cxchange.change.readiness import barrier_label

    row = dict(head)
    for e in ADKAR:
        m, d = r["means"][e], r["change"][e] if with_change else None
        row[e] = "" if m is None else f"{m:.2f}" + ("" if d is None else f" ({d:+.2f})")
    row["top barrier"] = barrier_label(r) or ("(n too small)" if r["suppressed"] else "")
    return row


def _show_readiness(rows: list[dict[str, Any]], fmt: str) -> None:
    table = []
    for r in rows:
        row = _readiness_row(r, {"group": r["group"], "n": r["n"]}, with_change=False)
        share = r["barrier_shares"].get(r["top_barrier"]) if r["top_barrier"] else None
        row["share"] = "" if share is None else f"{share:.0%}"
        row["merged"] = ", ".join(r["merged"])
        row["first action"] = r["actions"][0] if r["actions"] else ""  # of the first, when tied
        table.append(row)
    print_rows(table, "table", title="ADKAR readiness")


def _no_assessment(scope: str) -> str:
    """What `readiness report` and `trend` print when `scope` has no assessment: the two ways to make one."""
    return (
        f"no readiness assessment for initiative {{initiative}}{scope} yet: `cxchange readiness import "
        "{initiative} FILE.csv` (unit, awareness … reinforcement 1–5), or an ADKAR pulse survey"
    )


@readiness_command(
    "report", show=_show_readiness, calls="cxchange.change.readiness:report", empty=_no_assessment("")
)
def readiness_report(
    initiative: Id,
    by: Annotated[str, typer.Option(help="unit or org:LEVEL")] = "unit",
    min_n: Annotated[int, typer.Option(help="Smaller groups merge into their parent unit.")] = 5,
    assessment: Annotated[int | None, typer.Option(help="Number (default: latest).")] = None,
) -> None:
    """Per group: n, mean per element, barrier-point shares, the top barrier and suggested actions."""


def _show_readiness_trend(rows: list[dict[str, Any]], fmt: str) -> None:
    head = ("assessment", "date", "n")
    table = [_readiness_row(r, {k: r[k] for k in head}, with_change=True) for r in rows]
    print_rows(table, "table", title="readiness trend (change since the previous assessment)")


@readiness_command(
    "trend",
    show=_show_readiness_trend,
    calls="cxchange.change.readiness:trend",
    empty=_no_assessment(" (or --unit)"),
)
def readiness_trend(
    initiative: Id,
    unit: opt.UnitOption = None,
) -> None:
    """Repeated assessments: mean per element and the change since the previous one."""


# --- impact ------------------------------------------------------------------------------------


_ASPECT_ALIASES = {
    "critical_behaviours": ("--critical-behaviors",),
    "mindset": ("--mindset-attitudes-beliefs",),
}


def _aspect(name: str) -> Any:
    flags = (f"--{name.replace('_', '-')}", *_ASPECT_ALIASES.get(name, ()))
    return typer.Option(*flags, help="0 (not affected) to 5", show_default=False)


@engine_command(impact_app, "set", formats=opt.TABLE_JSON, title="impact")
def impact_set(
    engine: Engine,
    initiative: Id,
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    processes: Annotated[int | None, _aspect("processes")] = None,
    systems: Annotated[int | None, _aspect("systems")] = None,
    tools: Annotated[int | None, _aspect("tools")] = None,
    job_roles: Annotated[int | None, _aspect("job_roles")] = None,
    critical_behaviours: Annotated[int | None, _aspect("critical_behaviours")] = None,
    mindset: Annotated[int | None, _aspect("mindset")] = None,
    reporting_structure: Annotated[int | None, _aspect("reporting_structure")] = None,
    performance_reviews: Annotated[int | None, _aspect("performance_reviews")] = None,
    compensation: Annotated[int | None, _aspect("compensation")] = None,
    location: Annotated[int | None, _aspect("location")] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> Any:
    """Score the ten aspects of change for one impacted unit (0–5; 0 is left out of the average)."""
    from cxchange.change.impact import set_impact

    scores = {
        "processes": processes,
        "systems": systems,
        "tools": tools,
        "job_roles": job_roles,
        "critical_behaviours": critical_behaviours,
        "mindset": mindset,
        "reporting_structure": reporting_structure,
        "performance_reviews": performance_reviews,
        "compensation": compensation,
        "location": location,
    }
    return set_impact(engine, initiative, unit, scores, note)


@engine_command(
    impact_app, "show", title="impact",
    empty="no change impact assessed for initiative {initiative} yet: "
    "`cxchange impact set {initiative} UNIT --processes 3 …` (each aspect 0–5)",
)  # fmt: skip
def impact_show(engine: Engine, initiative: Id) -> Any:
    """The initiative's impact assessment per unit."""
    from cxchange.change.impact import show_impact

    return show_impact(engine, initiative)


def _show_heatmap(rows: list[dict[str, Any]], fmt: str) -> None:
    from cxchange.change.impact import pivot

    if fmt == "table":
        if not rows:
            typer.echo("no impact assessed for any active initiative in these months")
            return
        print_rows(
            pivot(rows), "table", title=f"change load per unit and month (! over {rows[0]['threshold']:g})"
        )
    else:
        emit(rows, fmt)


@engine_command(impact_app, "heatmap", show=_show_heatmap)
def impact_heatmap(
    engine: Engine,
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM")] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    threshold: Annotated[float | None, typer.Option(help="Saturation (default 6).")] = None,
) -> Any:
    """Load per unit and month from every active initiative; '!' marks units over the threshold."""
    from cxchange.change.impact import heatmap

    return heatmap(engine, from_month=from_, to_month=to, threshold=threshold)
