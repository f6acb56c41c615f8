"""RACI, readiness and impact commands (see `cxchange.change.cli`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cxchange.change.cli_common import Id
from cxchange.core.cli_support import DbOption, FormatOption, TableJsonFormat, engine_from
from cxchange.core.output import emit, print_rows, to_json

raci_app = typer.Typer(help="Governance: the RACI matrix and its checks.", no_args_is_help=True)
readiness_app = typer.Typer(help="ADKAR readiness assessments and barrier points.", no_args_is_help=True)
impact_app = typer.Typer(help="Change impact per unit and the saturation heatmap.", no_args_is_help=True)

# --- RACI ----------------------------------------------------------------------------------------


@raci_app.command("set")
def raci_set(
    ctx: typer.Context,
    initiative: Id,
    activity: Annotated[str, typer.Argument()],
    person: Annotated[str, typer.Argument(help="E-mail.")],
    letter: Annotated[
        str, typer.Argument(help="R, A, C, I; A/R for an accountable person who does the work; - removes")
    ],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Give a person one letter on an activity."""
    from cxchange.change.raci import set_cell

    emit(set_cell(engine_from(ctx, db), initiative, activity, person, letter), fmt, "RACI")


@raci_app.command("import")
def raci_import(
    ctx: typer.Context,
    initiative: Id,
    file: Annotated[str, typer.Argument(help="CSV: activity, then one column per person's e-mail.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Replace the matrix with a CSV file (cells R, A, C, I, A/R or empty)."""
    from cxchange.change.raci import import_matrix

    emit(import_matrix(engine_from(ctx, db), initiative, file), fmt, "RACI import")


@raci_app.command("show")
def raci_show(ctx: typer.Context, initiative: Id, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """The matrix: one row per activity, one column per person."""
    from cxchange.change.raci import show

    emit(show(engine_from(ctx, db), initiative), fmt, "RACI")


@raci_app.command("check")
def raci_check(ctx: typer.Context, initiative: Id, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """Check the rules (one A, at least one R, …); exit code 1 when there is an error."""
    from cxchange.change.raci import check

    findings = check(engine_from(ctx, db), initiative)
    if fmt == "table" and not findings:
        typer.echo("RACI: no errors, no warnings")
    else:
        emit(findings, fmt, "RACI check", ["activity", "person", "level", "rule", "message"])
    if any(f["level"] == "error" for f in findings):
        raise typer.Exit(1)


# --- readiness ----------------------------------------------------------------------------------


@readiness_app.command("import")
def readiness_import(
    ctx: typer.Context,
    initiative: Id,
    file: Annotated[str, typer.Argument(help="CSV: unit, person (optional), awareness … reinforcement 1–5")],
    date_: Annotated[str | None, typer.Option("--date", help="Assessment date (default today).")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Import one ADKAR assessment (one row per respondent; anonymous rows allowed)."""
    from cxchange.change.readiness import import_file

    emit(import_file(engine_from(ctx, db), initiative, file, assessed_on=date_), fmt, "readiness import")


@readiness_app.command("report")
def readiness_report(
    ctx: typer.Context,
    initiative: Id,
    by: Annotated[str, typer.Option("--by", help="unit or org:LEVEL")] = "unit",
    min_n: Annotated[int, typer.Option("--min-n", help="Smaller groups merge into their parent unit.")] = 5,
    assessment: Annotated[int | None, typer.Option("--assessment", help="Number (default: latest).")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Per group: n, mean per element, barrier-point shares, the top barrier and suggested actions."""
    from cxchange.change.models import ADKAR
    from cxchange.change.readiness import barrier_label, report

    rows = report(engine_from(ctx, db), initiative, by=by, min_n=min_n, assessment=assessment)
    if fmt == "json":
        typer.echo(to_json(rows))
        return
    table = []
    for r in rows:
        row: dict[str, Any] = {"group": r["group"], "n": r["n"]}
        for e in ADKAR:
            row[e] = "" if r["means"][e] is None else f"{r['means'][e]:.2f}"
        row["top barrier"] = barrier_label(r) or ("(n too small)" if r["suppressed"] else "")
        share = r["barrier_shares"].get(r["top_barrier"]) if r["top_barrier"] else None
        row["share"] = "" if share is None else f"{share:.0%}"
        row["merged"] = ", ".join(r["merged"])
        row["first action"] = r["actions"][0] if r["actions"] else ""  # of the first, when tied
        table.append(row)
    print_rows(table, "table", title="ADKAR readiness")


@readiness_app.command("trend")
def readiness_trend(
    ctx: typer.Context,
    initiative: Id,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit and those beneath it.")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Repeated assessments: mean per element and the change since the previous one."""
    from cxchange.change.models import ADKAR
    from cxchange.change.readiness import barrier_label, trend

    rows = trend(engine_from(ctx, db), initiative, unit=unit)
    if fmt == "json":
        typer.echo(to_json(rows))
        return
    table = []
    for r in rows:
        row: dict[str, Any] = {"assessment": r["assessment"], "date": r["date"], "n": r["n"]}
        for e in ADKAR:
            m, d = r["means"][e], r["change"][e]
            row[e] = "" if m is None else f"{m:.2f}" + ("" if d is None else f" ({d:+.2f})")
        row["top barrier"] = barrier_label(r) or ("(n too small)" if r["suppressed"] else "")
        table.append(row)
    print_rows(table, "table", title="readiness trend (change since the previous assessment)")


# --- impact ------------------------------------------------------------------------------------


_ASPECT_ALIASES = {
    "critical_behaviours": ("--critical-behaviors",),
    "mindset": ("--mindset-attitudes-beliefs",),
}


def _aspect(name: str) -> Any:
    flags = (f"--{name.replace('_', '-')}", *_ASPECT_ALIASES.get(name, ()))
    return typer.Option(*flags, help="0 (not affected) to 5", show_default=False)


@impact_app.command("set")
def impact_set(
    ctx: typer.Context,
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
    note: Annotated[str | None, typer.Option("--note")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
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
    emit(set_impact(engine_from(ctx, db), initiative, unit, scores, note), fmt, "impact")


@impact_app.command("show")
def impact_show(ctx: typer.Context, initiative: Id, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """The initiative's impact assessment per unit."""
    from cxchange.change.impact import show_impact

    emit(show_impact(engine_from(ctx, db), initiative), fmt, "impact")


@impact_app.command("heatmap")
def impact_heatmap(
    ctx: typer.Context,
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM")] = None,
    to: Annotated[str | None, typer.Option("--to", help="YYYY-MM")] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Saturation (default 6).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Load per unit and month from every active initiative; '!' marks units over the threshold."""
    from cxchange.change.impact import heatmap, pivot

    rows = heatmap(engine_from(ctx, db), from_month=from_, to_month=to, threshold=threshold)
    if fmt == "table":
        if not rows:
            typer.echo("no impact assessed for any active initiative in these months")
            return
        print_rows(
            pivot(rows), "table", title=f"change load per unit and month (! over {rows[0]['threshold']:g})"
        )
    else:
        emit(rows, fmt)
