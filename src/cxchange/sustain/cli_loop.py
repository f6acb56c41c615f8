"""Closed-loop commands: `cases …`, `recognition`, `alerts …`. Thin: parse, call the service, print."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import commands_of, engine_command, engine_from, runs_on_engine
from cxchange.core.output import emit, to_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

cases_app = typer.Typer(help="Closed-loop follow-up of unhappy customers.", no_args_is_help=True)
case_rule_app = typer.Typer(help="When feedback opens a case.", no_args_is_help=True)
alerts_app = typer.Typer(
    help="Alerts when a metric slips back (`cxchange alerts` lists fired alerts).",
    invoke_without_command=True,
)
alert_rule_app = typer.Typer(help="Alert rules.", no_args_is_help=True)
cases_app.add_typer(case_rule_app, name="rule")
case_command = commands_of(cases_app, title="case {case_id}")  # one case: its fields, its history
alerts_app.add_typer(alert_rule_app, name="rule")

LimitOption = Annotated[int | None, typer.Option("--limit", help="At most this many rows.")]
CaseStatusOption = Annotated[str | None, typer.Option("--status", help="open, contacted or resolved")]
RuleNameOption = Annotated[str | None, typer.Option("--name", help="A name for the rule.")]

CASE_COLUMNS = [
    "id",
    "unit",
    "assignee",
    "status",
    "overdue",
    "due_at",
    "rule",
    "nps",
    "csat",
    "ces",
    "rating",
    "root_cause",
    "text",
]


# --- cases ----------------------------------------------------------------------------------------


@engine_command(case_rule_app, "add", title="case rule")
def case_rule_add(
    engine: Engine,
    kind: Annotated[str, typer.Option(help="nps, csat, ces, rating or theme")],
    max_value: Annotated[
        float | None, typer.Option("--max", help="Open a case at or below this score.")
    ] = None,
    theme: Annotated[str | None, typer.Option(help="--kind theme: this theme mentioned negatively.")] = None,
    source: opt.SourceOption = None,
    sla: Annotated[str, typer.Option(help="Time to resolve: 72h, 3d, 1w.")] = "72h",
    within: Annotated[
        str,
        typer.Option(help="Only feedback received this recently opens a case: 14d, 4w, 1m."),
    ] = "14d",
    name: RuleNameOption = None,
) -> Any:
    """Add a rule: a score at or below --max, or a theme mentioned negatively (recent feedback only)."""
    from cxchange.sustain.cases import CaseRuleIn, add_rule

    rule = CaseRuleIn(kind=kind, max=max_value, theme=theme, source=source, sla=sla, within=within, name=name)
    return add_rule(engine, rule)


@engine_command(case_rule_app, "list", title="case rules", calls="cxchange.sustain.cases:list_rules")
def case_rule_list() -> None:
    """The case rules (the defaults, NPS 0–6 and CSAT 1–2, are created on first use)."""


@cases_app.command("list")
def cases_list(
    ctx: typer.Context,
    unit: opt.UnitOption = None,
    status: CaseStatusOption = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only unresolved cases past their due date.")
    ] = False,
    limit: LimitOption = None,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Cases, soonest due first."""
    from cxchange.sustain.cases import list_cases

    rows = list_cases(engine_from(ctx, db), unit=unit, status=status, overdue=overdue, limit=limit)
    if not rows and fmt == "table":  # an empty queue is an answer; say what it means
        typer.echo(
            "no cases" + (" matching the filters" if unit or status or overdue else "")
            + ": rules open cases only for feedback received within their window (`cxchange cases rule "
            "list`); older feedback is history"
        )  # fmt: skip
        return
    emit(rows, fmt, "cases", None if fmt == "json" else CASE_COLUMNS)


@case_command("show", calls="cxchange.sustain.cases:show_case")
def cases_show(case_id: int) -> None:
    """One case with its history."""


@case_command("assign", calls="cxchange.sustain.cases:assign")
def cases_assign(case_id: int, email: str) -> None:
    """Give a case to someone else (by e-mail)."""


@case_command("update")
def cases_update(
    engine: Engine,
    case_id: int,
    status: CaseStatusOption = None,
    note: Annotated[str | None, typer.Option(help="What was done or said.")] = None,
    root_cause: Annotated[str | None, typer.Option(help="The theme that caused it.")] = None,
    by: Annotated[str | None, typer.Option(help="Who is updating (e-mail), for the history.")] = None,
) -> Any:
    """Record contact, resolution, a note or the root cause (a theme)."""
    from cxchange.sustain.cases import CasePatch, update

    return update(engine, case_id, CasePatch(status=status, note=note, root_cause=root_cause, by=by))


@engine_command(cases_app, "stats", title="cases", calls="cxchange.sustain.case_stats:stats")
def cases_stats(
    by: Annotated[
        str | None, typer.Option(help="unit (one row per unit) or org:LEVEL (e.g. org:region).")
    ] = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
) -> None:
    """Open, overdue, median hours to close, % resolved within SLA, root causes (the scorecard's count)."""


@engine_command(cases_app, "scan", title="scan", calls="cxchange.sustain.cases:scan_all")
def cases_scan() -> None:
    """Apply the case rules to all stored feedback received within each rule's window (imports and
    analyses do it for new feedback)."""


@cases_app.command("you-said-we-did")
def cases_you_said(
    ctx: typer.Context,
    initiative: Annotated[str, typer.Argument(help="Initiative id or name (it must be done).")],
    fmt: opt.FormatOption = "csv",
    output: Annotated[str | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    db: opt.DbOption = None,
) -> None:
    """The customers whose feedback mentioned a finished initiative's theme, to tell them what changed."""
    from cxchange.core.output import write_csv
    from cxchange.sustain.cases import you_said_we_did

    out = you_said_we_did(engine_from(ctx, db), initiative)
    cols = ["customer_id", "feedback_id", "date", "text", "unit"]
    if fmt == "table" and output is None:
        emit(out["rows"], "table", f"you said, we did: {out['initiative']['name']}", cols)
        return
    fh = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        if fmt == "json":
            fh.write(to_json(out) + "\n")
        else:
            write_csv(out["rows"], fh, cols)
    finally:
        if output:
            fh.close()
    if output:
        typer.echo(f"{len(out['rows'])} rows ({out['customers']} customers) written to {output}", err=True)


# --- recognition ----------------------------------------------------------------------------------


def _show_recognition(rows: list[dict[str, Any]], fmt: str) -> None:
    emit(rows, fmt, "recognition", ["received_at", "person", "unit", "matched", "sentiment", "text"])


@runs_on_engine(show=_show_recognition)
def recognition_cmd(
    engine: Engine,
    unit: opt.UnitOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    limit: LimitOption = None,
    scan: Annotated[
        bool, typer.Option("--scan", help="First look for praise in all analysed comments.")
    ] = False,
) -> Any:
    """Staff that customers praise by name (matched only against people of the feedback's unit)."""
    from cxchange.sustain.recognition import list_recognitions, record_recognitions

    if scan:
        found = record_recognitions(engine)
        typer.echo(f"{found['recognitions']} new recognitions in {found['scanned']} comments", err=True)
    return list_recognitions(engine, unit=unit, since=since, until=until, limit=limit)


# --- alerts ---------------------------------------------------------------------------------------


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="At most this many alerts.")] = None,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Fired alerts, newest first, with their deliveries."""
    if ctx.invoked_subcommand is not None:
        return
    from cxchange.sustain.alerts import list_alerts

    rows = list_alerts(engine_from(ctx, db), limit=limit)
    if not rows and fmt == "table":  # a blank line read as a broken command; as for cases, say why
        typer.echo(
            "no alerts fired: a rule judges only scopes with feedback within its own window "
            "(`cxchange alerts rule list`; `cxchange alerts check` evaluates every rule now)"
        )
        return
    if fmt != "json":
        rows = [
            {**{k: r[k] for k in ("id", "fired_at", "rule", "message")}, "deliveries": _deliveries(r)}
            for r in rows
        ]
    emit(rows, fmt, "alerts")


def _deliveries(alert: dict[str, Any]) -> str:
    return ", ".join(f"{d['channel']}:{d['status']}({d['attempts']})" for d in alert["deliveries"])


@engine_command(alert_rule_app, "add", title="alert rule", calls="cxchange.sustain.alerts:add_rule")
def alert_rule_add(
    metric: Annotated[str, typer.Option(help="nps, csat, ces, rating or theme-spike")],
    unit: Annotated[str | None, typer.Option(help="Unit code (default: everything).")] = None,
    drop: Annotated[float | None, typer.Option(help="Fire on a significant fall of this size.")] = None,
    below: Annotated[float | None, typer.Option(help="Fire when the interval is below this.")] = None,
    window: Annotated[str, typer.Option(help="Window length: 30d, 4w, 1m.")] = "30d",
    theme: Annotated[str | None, typer.Option(help="theme-spike: only this theme.")] = None,
    email: Annotated[list[str] | None, typer.Option(help="Send to this address (repeatable).")] = None,
    webhook: Annotated[list[str] | None, typer.Option(help="POST JSON here (repeatable).")] = None,
    name: RuleNameOption = None,
) -> None:
    """Add an alert rule (--drop POINTS --window 30d, --below VALUE, or --metric theme-spike)."""


@engine_command(alert_rule_app, "list", title="alert rules", calls="cxchange.sustain.alerts:list_rules",
    empty="no alert rules yet: `cxchange alerts rule add --metric nps --drop 5 --window 30d …`")  # fmt: skip
def alert_rule_list() -> None:
    """The alert rules."""


def _show_check(out: dict[str, Any], fmt: str) -> None:
    d = out["deliveries"]
    typer.echo(
        f"{out['checked']} rules checked ({out['evaluated']} evaluated, {out['checked'] - out['evaluated']} "
        f"skipped), {len(out['fired'])} alerts fired; deliveries: "
        f"{d['sent']} sent, {d['retry']} to retry, {d['failed']} failed"
    )
    for a in out["fired"]:
        typer.echo(f"  alert {a['id']}: {a['message']}")
    for n in out["notes"]:
        typer.echo(f"  note: {n}", err=True)


@engine_command(
    alerts_app, "check", formats=opt.TABLE_JSON, show=_show_check, calls="cxchange.sustain.alerts:check"
)
def alerts_check() -> None:
    """Evaluate every rule now, then send and retry the deliveries that are due."""


def register_loop(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.command("recognition")(recognition_cmd)
    app.add_typer(alerts_app, name="alerts")
