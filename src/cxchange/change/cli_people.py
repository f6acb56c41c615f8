"""Comms, change agents, training and resistance commands (see `cxchange.change.cli`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.change.cli_common import Id
from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_command
from cxchange.core.output import emit

if TYPE_CHECKING:
    from sqlalchemy import Engine

comms_app = typer.Typer(help="The communication plan.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Change agents, coverage and the managers of affected units.", no_args_is_help=True
)
training_app = typer.Typer(help="Training sessions and attendance.", no_args_is_help=True)
resistance_app = typer.Typer(help="The resistance log.", no_args_is_help=True)
# A resistance item's status: what `resistance list` filters on and `resistance update` sets.
_STATUS = typer.Option("--status", help="open or addressed")


# --- comms, agents, training, resistance ---------------------------------------------------------


@engine_command(comms_app, "add", formats=opt.TABLE_JSON, title="communication")
def comms_add(
    engine: Engine,
    initiative: Id,
    audience: Annotated[str, typer.Option(help="A unit code or a role (role:NAME).")],
    channel: Annotated[str, typer.Option(help="e.g. town hall, e-mail, team huddle")],
    sender: Annotated[str, typer.Option(help="Sender's e-mail.")],
    date_: Annotated[str, typer.Option("--date", help="Planned date YYYY-MM-DD.")],
    message: Annotated[str, typer.Option()],
) -> Any:
    """Plan a message to an audience."""
    from cxchange.change.people import add_comm

    return add_comm(
        engine,
        initiative,
        audience=audience,
        channel=channel,
        sender=sender,
        when=date_,
        message=message,
    )


@engine_command(
    comms_app, "list", title="communication plan",
    empty="no communication listed for initiative {initiative} (with --overdue: none overdue); plan one "
    "with `cxchange comms add {initiative} …`",
)  # fmt: skip
def comms_list(
    engine: Engine,
    initiative: Id,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only planned, unsent and past their date.")
    ] = False,
) -> Any:
    """The communication plan, with what is sent and what is overdue."""
    from cxchange.change.people import list_comms

    rows = list_comms(engine, initiative)
    return [r for r in rows if r["overdue"]] if overdue else rows


@engine_command(
    comms_app, "sent", formats=opt.TABLE_JSON, title="communication", calls="cxchange.change.people:mark_sent"
)
def comms_sent(
    initiative: Id, comm: Annotated[int, typer.Argument(help="Communication id (see comms list).")]
) -> None:
    """Mark a planned communication as sent."""


comms_app.command("mark-sent", hidden=True)(comms_sent)


@engine_command(
    agents_app, "add", formats=opt.TABLE_JSON, title="change agent", calls="cxchange.change.people:add_agent"
)
def agents_add(initiative: Id, person: Annotated[str, typer.Argument(help="E-mail.")]) -> None:
    """Name a change agent."""


@engine_command(
    agents_app, "list", title="change-agent coverage", calls="cxchange.change.people:coverage",
    empty="no affected team of initiative {initiative} has staff on record besides managers: "
    "coverage is counted over people (`cxchange org import UNITS.csv --people PEOPLE.csv`)",
)  # fmt: skip
def agents_list(
    initiative: Id,
    per: Annotated[int | None, typer.Option(help="Target: one agent per N employees (15).")] = None,
) -> None:
    """Coverage per affected team: employees, agents, agents needed; teams without one are flagged."""


@engine_command(agents_app, "managers", title="managers", calls="cxchange.change.people:managers")
def agents_managers(initiative: Id) -> None:
    """Each affected unit's manager and their role in the change."""


@engine_command(training_app, "add", formats=opt.TABLE_JSON)
def training_add(
    engine: Engine,
    initiative: Id,
    title: Annotated[str, typer.Option()],
    unit: Annotated[str, typer.Option(help="Unit code (the session covers the units beneath).")],
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    role: Annotated[str | None, typer.Option(help="Only people with this role.")] = None,
) -> Any:
    """Plan a training session for a unit (and role)."""
    from cxchange.change.people import add_training

    return add_training(engine, initiative, title=title, unit=unit, when=date_, role=role)


@engine_command(training_app, "attend", formats=opt.TABLE_JSON, title="attendance")
def training_attend(
    engine: Engine,
    initiative: Id,
    session: Annotated[int, typer.Argument(help="Session id.")],
    people: Annotated[list[str], typer.Argument(help="E-mails of those who attended.")],
) -> Any:
    """Record who attended a session."""
    from cxchange.change.people import attend

    return attend(engine, initiative, session, people)


@engine_command(
    training_app, "list", title="training", calls="cxchange.change.people:training_report",
    empty="no training session for initiative {initiative} yet: `cxchange training add {initiative} …`",
)  # fmt: skip
def training_list(initiative: Id) -> None:
    """Sessions with audience, attendance and completion %."""


@engine_command(
    resistance_app,
    "add",
    formats=opt.TABLE_JSON,
    title="resistance",
    calls="cxchange.change.people:add_resistance",
)
def resistance_add(
    initiative: Id,
    unit: Annotated[str, typer.Option()],
    description: Annotated[str, typer.Option()],
    cause: Annotated[str, typer.Option(help="awareness, desire, knowledge, ability, reinforcement, other")],
    owner: Annotated[str, typer.Option(help="E-mail of who deals with it.")],
) -> None:
    """Log resistance, with its ADKAR cause and an owner."""


def _show_resistance(rows: list[dict[str, Any]], fmt: str) -> None:
    """A table shows each item's first action only; CSV and JSON keep them all."""
    if fmt == "table":
        rows = [{**r, "actions": r["actions"][0] if r["actions"] else ""} for r in rows]
    emit(rows, fmt, "resistance log")


@engine_command(
    resistance_app, "list", show=_show_resistance, calls="cxchange.change.people:list_resistance",
    empty="no resistance logged for initiative {initiative} (with --status: none with that status); "
    "log it with `cxchange resistance add {initiative} …`",
)  # fmt: skip
def resistance_list(
    initiative: Id,
    status: Annotated[str | None, _STATUS] = None,
) -> None:
    """The log, each item with its unit's readiness barrier share for the same cause."""


@engine_command(resistance_app, "update", formats=opt.TABLE_JSON)
def resistance_update(
    engine: Engine,
    initiative: Id,
    item: Annotated[int, typer.Argument(help="Resistance item id.")],
    status: Annotated[str, _STATUS],
    resolution: Annotated[str | None, typer.Option()] = None,
) -> Any:
    """Move an item: open → addressed (or back)."""
    from cxchange.change.people import update_resistance

    return update_resistance(engine, initiative, item, status=status, resolution=resolution)
