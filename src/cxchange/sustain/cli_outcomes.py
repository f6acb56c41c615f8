"""Sustain commands: `outcomes ID` (did an initiative work?), `outcomes set ID` (store how it is
measured), `outcomes plan ID` (minimum detectable effect before launch) and `scorecard` (per unit).

Thin: parse, call `cxchange.sustain.outcomes` / `outcome_design` / `outcome_plan` / `scorecard`, print.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import runs_on_engine
from cxchange.core.output import print_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from typer._click.core import Context  # typer vendors click (0.2x): the Context TyperGroup is given


class _ShowByDefault(TyperGroup):
    """`outcomes ID …` means `outcomes show ID …`; `outcomes set|plan ID …` are subcommands."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


outcomes_app = typer.Typer(
    cls=_ShowByDefault,
    help="Did an initiative work? `outcomes ID`, `outcomes set ID --before 365d`, `outcomes plan ID`.",
    no_args_is_help=True,
)

WindowBefore = Annotated[
    str | None,
    typer.Option("--before", help="Window before the start, e.g. 1y, 365d, 12w or all (default: stored)."),
]
WindowAfter = Annotated[
    str | None,
    typer.Option("--after", help="Window from the start, e.g. 90d, 12w, 3m or all (default: stored)."),
]
InitiativeArgument = Annotated[str, typer.Argument(help="Initiative id or name.")]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Org level at which pilot and control were chosen, e.g. region or store "
        "(default: stored, else the level of the pilot/control units).",
    ),
]


EVENT_TITLE = "event study (pilot − control; 0 at month −1, or the last month before the start both answered)"


def _show_outcomes(out: dict[str, Any], fmt: str) -> None:
    ini = out["initiative"]
    design = {"did": "pilot vs control", "before-after": "before vs after"}.get(out["mode"], out["mode"])
    typer.echo(f"{ini['name']} (#{ini['id']}, start {ini['start']}) — {out['metric']}, {design}")
    groups = (
        [("pilot", out["pilot"]), ("control", out["control"])]
        if out["mode"] == "did"
        else [("units", out["scope"])]
    )
    print_rows(
        [
            {"group": {"group": g}, **{k: v[k] for k in ("before", "after", "n_before", "n_after", "units")}}
            for g, v in groups
        ],
        "table",
        title="before / after",
    )
    typer.echo(out["summary"])
    if out["verdict_fix"]:
        typer.echo(f"what would fix it: {out['verdict_fix']}")
    if out["mode"] == "did":
        pt, inf = out["pretrend"], out["inference"]
        typer.echo(
            f"inference: {inf['clusters']['pilot']} pilot vs {inf['clusters']['control']} control "
            f"{inf['cluster_level']} clusters, {inf['assignments']} assignments "
            f"({'all' if inf['exact'] else 'drawn'}), smallest possible p {inf['min_p']}"
        )
        typer.echo(
            f"pre-trend check: {pt['status']} (slope difference {pt['slope_diff_per_month']} a month, "
            f"p = {pt['p_value']})"
        )
        if out["event_study"]:
            print_rows(out["event_study"], "table", title=EVENT_TITLE)
    for c in out["caveats"]:
        typer.echo(f"caveat: {c}")
    by_month: dict[str, dict[str, object]] = {}
    for r in out["series"]:
        row = by_month.setdefault(r["month"], {"month": r["month"]})
        row[r["group"]] = r["value"]
        row[f"{r['group']}_n"] = r["n"]
    print_rows(list(by_month.values()), "table", title="by month")
    settings = out["settings"]
    typer.echo(
        f"windows: before {settings['before']}, after {settings['after']}; cluster level "
        f"{settings['cluster'] or 'of the pilot/control units'} "
        f"({'stored' if settings['stored'] else 'defaults'}"
        f"{', overridden: ' + ', '.join(settings['overridden']) if settings['overridden'] else ''})"
    )
    typer.echo(f"method: {out['method']}")


@runs_on_engine(formats=opt.TABLE_JSON, show=_show_outcomes, calls="cxchange.sustain.outcomes:outcomes")
def outcomes_command(
    initiative: InitiativeArgument,
    metric: Annotated[
        str | None,
        typer.Option(
            help="nps, csat, ces, rating, theme-share:THEME or theme-sentiment:THEME. Default: nps when the "
            "store has NPS answers, else the score it has most answers of.",
        ),
    ] = None,
    before: WindowBefore = None,
    after: WindowAfter = None,
    cluster: ClusterOption = None,
    level: opt.LevelOption = 0.95,
) -> None:
    """Pilot vs control (two-way fixed effects, randomization inference at the level pilot and control
    were chosen), else before/after; one plain verdict. Windows and level default to the stored ones."""


def _show_settings(out: dict[str, Any], fmt: str) -> None:
    changed = ", ".join(
        f"{k} {v['from'] or 'default'} -> {v['to'] or 'default'}" for k, v in out["changed"].items()
    )
    typer.echo(
        f"{out['initiative']['name']}: before {out['before']}, after {out['after']}, cluster "
        f"{out['cluster'] or 'level of the pilot/control units'}"
        + (f", own starts {', '.join(f'{k}={v}' for k, v in out['starts'].items())}" if out["starts"] else "")
        + (f" (changed: {changed})" if changed else " (unchanged)")
    )


@runs_on_engine(formats=opt.TABLE_JSON, show=_show_settings)
def set_command(
    engine: Engine,
    initiative: InitiativeArgument,
    before: WindowBefore = None,
    after: WindowAfter = None,
    cluster: ClusterOption = None,
    start_for: Annotated[
        list[str] | None,
        typer.Option(
            help="UNIT=YYYY-MM-DD: a pilot unit's own start (staggered; repeatable; UNIT=default clears).",
        ),
    ] = None,
) -> Any:
    """Store how the initiative's outcome is measured ("default" clears a setting); audited."""
    import getpass

    from cxchange.sustain.outcome_design import OutcomeSettingsChange, set_settings

    change = OutcomeSettingsChange(before=before, after=after, cluster=cluster, start_for=start_for)
    return set_settings(engine, initiative, change, actor=f"cli:{getpass.getuser()}")  # as other audits


def _show_plan(out: dict[str, Any], fmt: str) -> None:
    typer.echo(out["summary"])
    if out["reason"]:
        typer.echo(f"why: {out['reason']}")
    if out["fix"] and out["mde"] is not None:  # a hopeless plan: what would make it informative
        typer.echo(out["fix"])
    typer.echo(
        f"placebo start {out['placebo_start']}; {out['clusters']['pilot']} pilot vs "
        f"{out['clusters']['control']} control {out['cluster_level']} clusters; {out['assignments']} "
        f"assignments; spread under no effect {out['null_sd']}; pre-trend floor {out['mde_pretrend']}"
    )


@runs_on_engine(formats=opt.TABLE_JSON, show=_show_plan, calls="cxchange.sustain.outcome_plan:plan")
def plan_command(
    initiative: InitiativeArgument,
    metric: opt.DefaultMetricOption = None,
    before: WindowBefore = None,
    after: WindowAfter = None,
    cluster: ClusterOption = None,
    level: opt.LevelOption = 0.95,
) -> None:
    """Minimum detectable effect of the pilot/control design, from past data (placebo start)."""


def _show_scorecard(rows: list[dict[str, Any]], fmt: str) -> None:
    title = f"{rows[0]['metric']} scorecard, {rows[0]['period']}" if rows else "scorecard"
    print_rows(rows, fmt, title=title, dim_when="small")


@runs_on_engine(show=_show_scorecard, calls="cxchange.sustain.scorecard:scorecard")
def scorecard_command(
    period: Annotated[str, typer.Option(help="quarter or month.")] = "quarter",
    by: Annotated[
        str | None,
        typer.Option(help="org:LEVEL, e.g. org:region or org:store. Default: the lowest level."),
    ] = None,
    metric: opt.DefaultMetricOption = None,
    target: Annotated[float | None, typer.Option(help="Met only when the interval says so.")] = None,
    as_of: Annotated[
        date | None,
        opt.date_option(
            "--as-of", "Score the last complete period as of this date (default: newest feedback)."
        ),
    ] = None,
    level: opt.LevelOption = 0.95,
    min_n: opt.MinNOption = 30,
) -> None:
    """Per unit: score with interval, change vs the previous period, target met, cases, recognitions."""


outcomes_app.command("show")(outcomes_command)
outcomes_app.command("set")(set_command)
outcomes_app.command("plan")(plan_command)


def register_outcomes(app: typer.Typer) -> None:
    app.add_typer(outcomes_app, name="outcomes")
    app.command("scorecard")(scorecard_command)
