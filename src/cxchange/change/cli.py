"""Change commands: frameworks and initiative (with metric and risk) here; raci, readiness and impact
in `cli_governance`; comms, agents, training and resistance in `cli_people`.

Thin: parse, call `cxchange.change.*`, print (tables by default, `--format json` for programs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.change.cli_common import Id
from cxchange.core import cli_options as opt
from cxchange.core.cli_support import commands_of, engine_command
from cxchange.core.errors import InputError
from cxchange.core.output import emit, print_rows, to_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

frameworks_app = typer.Typer(
    help="Change frameworks (Kotter, ADKAR, the CX playbook, your own).", no_args_is_help=True
)
initiative_app = typer.Typer(
    help="Change initiatives: create, track steps, success measures, status.", no_args_is_help=True
)
metric_app = typer.Typer(help="Success measures tied to customer feedback.", no_args_is_help=True)
initiative_command = commands_of(initiative_app, formats=opt.TABLE_JSON)  # one initiative: table or JSON

# --- frameworks ------------------------------------------------------------------------------------


@frameworks_app.command("list")
def frameworks_list(fmt: opt.FormatOption = "table") -> None:
    """Shipped frameworks and those in CXCHANGE_FRAMEWORKS_DIR."""
    from cxchange.change.frameworks import list_rows

    emit(list_rows(), fmt, "frameworks")


@frameworks_app.command("show")
def frameworks_show(
    name: Annotated[str, typer.Argument(help="kotter, adkar, cx10, yours, or a YAML file")],
    fmt: opt.TableJsonFormat = "table",
) -> None:
    """A framework's steps: purpose, checklist, artefacts, guidance."""
    from cxchange.change.frameworks import get_framework

    fw = get_framework(name)
    if fmt == "json":
        typer.echo(to_json(fw))
        return
    typer.echo(f"{fw['name']} ({fw['key']})\n{fw['description']}\n")
    rows = [
        {
            "#": i,
            "key": st["key"],
            "title": st["title"],
            "purpose": st["purpose"],
            "checklist": "; ".join(st["checklist"]),
            "artefacts": ", ".join(st["artefacts"]),
            "guidance": st["guidance"],
        }
        for i, st in enumerate(fw["steps"], start=1)
    ]
    print_rows(rows, "table", title="steps")


# --- initiatives ----------------------------------------------------------------------------------


def _show(out: dict[str, Any], fmt: str) -> None:
    head = {k: v for k, v in out.items() if k not in ("steps", "metrics")}
    emit(head, "table", f"initiative {out['id']}")
    print_rows(
        [{k: st[k] for k in ("position", "key", "title", "status", "note")} for st in out["steps"]],
        "table",
        title="steps",
    )
    if out["metrics"]:
        print_rows(out["metrics"], "table", title="success measures")


@initiative_command("create", show=_show, calls="cxchange.change.service:create")
def initiative_create(
    name: Annotated[str, typer.Option(help="A short name, unique.")],
    framework: Annotated[str, typer.Option(help="kotter, adkar, cx10, a user one, or FILE.yaml")],
    sponsor: Annotated[str, typer.Option(help="Sponsor's e-mail.")],
    owner: Annotated[str, typer.Option(help="Owner's (change lead's) e-mail.")],
    units: Annotated[str, typer.Option(help="Unit codes in scope, comma-separated.")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    pilot_units: Annotated[str | None, typer.Option(help="Pilot unit codes.")] = None,
    control_units: Annotated[str | None, typer.Option(help="Control unit codes.")] = None,
    vision: Annotated[str | None, typer.Option(help="The vision, in a sentence or two.")] = None,
    theme: Annotated[str | None, typer.Option(help="The feedback theme that started it.")] = None,
) -> None:
    """Start an initiative on a framework, with sponsor, owner, units and (optionally) pilot/control."""


@engine_command(initiative_app, "list", title="initiatives", calls="cxchange.change.service:list_all")
def initiative_list(
    status: Annotated[str | None, typer.Option(help="active, paused, done or cancelled")] = None,
) -> None:
    """Every initiative with its progress."""


@initiative_command("show", show=_show, calls="cxchange.change.service:show")
def initiative_show(initiative: Id) -> None:
    """An initiative: sponsor, owner, units, vision, steps, success measures."""


@initiative_command("update", show=_show, calls="cxchange.change.service:update")
def initiative_update(
    initiative: Id,
    name: Annotated[str | None, typer.Option()] = None,
    vision: Annotated[str | None, typer.Option()] = None,
    sponsor: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, or none")] = None,
    status: Annotated[str | None, typer.Option(help="active, paused, done, cancelled")] = None,
    units: opt.UnitsOption = None,
    pilot_units: Annotated[str | None, typer.Option()] = None,
    control_units: Annotated[str | None, typer.Option()] = None,
    theme: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change any of an initiative's fields; unit lists are replaced."""


@initiative_command("step", title="step", calls="cxchange.change.service:set_step")
def initiative_step(
    initiative: Id,
    step: Annotated[str, typer.Argument(help="Step key (e.g. urgency) or number.")],
    status: Annotated[str, typer.Option(help="todo, doing or done")],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Move a framework step: todo, doing, done."""


def _fmt_value(v: dict[str, Any] | None) -> str:
    if not v or v.get("value") is None:
        return "–"
    ci = "" if v.get("ci_low") is None else f" [{v['ci_low']:g}, {v['ci_high']:g}]"
    return f"{v['value']:g}{ci} n={v['n']}"


def _metric_rows(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Initiatives page's table: its column names (which windows), the change, "whole interval meets
    it" and the pilot − control row. The CLI showed "baseline" and "now" and a pilot "met" while the
    control units had moved twice as far (Skytrax: pilot +14, control +30.5 NPS points), which the
    page put beside it."""
    rows = []
    for m in metrics:
        for group in ("scope", "pilot", "control"):
            g = m if group == "scope" else m.get(group)
            if not g:
                continue
            tv = g["target_value"]
            status = g["status"] + (" (whole interval meets it)" if g.get("met_confidently") else "")
            rows.append(
                {
                    "metric": m["metric"],
                    "units": group,
                    "baseline (365 days before)": _fmt_value(g["baseline"]),
                    "now (since start)": _fmt_value(g["now"]),
                    "change": "–" if g["change"] is None else f"{g['change']:+g}",
                    "target": f"{m['target']} → {tv:g}" if tv is not None else m["target"],
                    "by": m["by"],
                    "status": status,
                }
            )
        if m.get("pilot_minus_control") is not None:
            rows.append(
                {
                    "metric": m["metric"],
                    "units": "pilot − control",
                    "baseline (365 days before)": "",
                    "now (since start)": "",
                    "change": f"{m['pilot_minus_control']:+g}",
                    "target": "",
                    "by": None,
                    "status": "its interval: `cxchange outcomes INITIATIVE`",
                }
            )
    return rows


def _show_status(out: dict[str, Any], fmt: str) -> None:
    from cxchange.change.readiness import barrier_label

    cov = out["agents_coverage"]
    rd = out["readiness"]
    head = {
        "initiative": f"{out['id']} {out['name']} ({out['framework']})",
        "steps": f"{out['steps_done']}/{out['steps_total']} done"
        + (f"; now: {out['current_step']['title']}" if out["current_step"] else ""),
        "RACI": f"{out['raci_errors']} error(s), {out['raci_warnings']} warning(s)",
        "readiness": "no assessment"
        if not rd.get("assessment")
        else f"assessment {rd['assessment']}, n={rd['n']}, top barrier: {barrier_label(rd)}",
        "comms overdue": out["comms_overdue"],
        "change agents": f"{cov['agents']} for {cov['employees']} employees; "
        f"{cov['units_with_agent']}/{cov['units']} teams covered",
        "training": "none"
        if not out["training_completion"]["audience"]
        else f"{out['training_completion']['completion']} % of {out['training_completion']['audience']}",
        "resistance open": out["resistance_open"],
        "risk": out["risk"]["level"],
    }
    emit(head, "table", "status")
    if out["metrics"]:
        print_rows(_metric_rows(out["metrics"]), "table", title="success measures")


@initiative_command("status", show=_show_status, calls="cxchange.change.service:status")
def initiative_status(initiative: Id) -> None:
    """Steps done, success measures (baseline → now → target, pilot and control), RACI errors,
    readiness, overdue comms, agent coverage and risk."""


def _show_metrics(metrics: dict[str, Any] | list[dict[str, Any]], fmt: str) -> None:
    """One success measure (as `metric add` answers) or all of them, scope, pilot and control rows."""
    one = isinstance(metrics, dict)
    rows = _metric_rows([metrics] if isinstance(metrics, dict) else metrics)
    print_rows(rows, "table", title="success measure" if one else "success measures")


metric_command = commands_of(metric_app, formats=opt.TABLE_JSON, show=_show_metrics)


@metric_command("add", calls="cxchange.change.metrics:add_metric")
def metric_add(
    initiative: Id,
    metric: Annotated[
        str, typer.Option(help="nps, csat, ces, rating, theme-share:THEME, theme-sentiment:THEME")
    ],
    target: Annotated[str, typer.Option(help="+5 / -3 (from the baseline) or >=40 / <=12 (a level)")],
    by: Annotated[str | None, typer.Option(help="YYYY-MM-DD to reach the target by")] = None,
) -> None:
    """Add (or retarget) a success measure; prints its baseline, current value and target."""


@metric_command(
    "list", calls="cxchange.change.metrics:list_metrics",
    empty="no success measure for initiative {initiative} yet: "
    "`cxchange initiative metric add {initiative} --metric nps --target +5`",
)  # fmt: skip
def metric_list(initiative: Id) -> None:
    """Every success measure: baseline → now → target, for scope, pilot and control units."""


@initiative_command("risk", title="risk profile")
def initiative_risk(
    engine: Engine,
    initiative: Id,
    set_: Annotated[list[str] | None, typer.Option("--set", help="FACTOR=1..5, repeatable")] = None,
) -> Any:
    """The risk profile: size of change and organisational attributes, each factor 1 (low) to 5 (high)."""
    from cxchange.change.service import get_risk, set_risk

    if set_:
        factors = {}
        for item in set_:
            key, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"--set wants FACTOR=SCORE, got {item!r}")
            factors[key.strip()] = value.strip()
        return set_risk(engine, initiative, factors)
    return get_risk(engine, initiative)


initiative_app.add_typer(metric_app, name="metric")


def register(app: typer.Typer) -> None:
    from cxchange.change.cli_governance import impact_app, raci_app, readiness_app
    from cxchange.change.cli_people import agents_app, comms_app, resistance_app, training_app

    app.add_typer(frameworks_app, name="frameworks")
    app.add_typer(initiative_app, name="initiative")
    app.add_typer(raci_app, name="raci")
    app.add_typer(readiness_app, name="readiness")
    app.add_typer(impact_app, name="impact")
    app.add_typer(comms_app, name="comms")
    app.add_typer(agents_app, name="agents")
    app.add_typer(training_app, name="training")
    app.add_typer(resistance_app, name="resistance")
