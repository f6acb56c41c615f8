"""Comms, change agents, training and resistance commands (see `cxchange.change.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cxchange.change.cli_common import Id
from cxchange.core.cli_support import DbOption, FormatOption, TableJsonFormat, engine_from
from cxchange.core.output import emit

comms_app = typer.Typer(help="The communication plan.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Change agents, coverage and the managers of affected units.", no_args_is_help=True
)
training_app = typer.Typer(help="Training sessions and attendance.", no_args_is_help=True)
resistance_app = typer.Typer(help="The resistance log.", no_args_is_help=True)


# --- comms, agents, training, resistance ---------------------------------------------------------


@comms_app.command("add")
def comms_add(
    ctx: typer.Context,
    initiative: Id,
    audience: Annotated[str, typer.Option("--audience", help="A unit code or a role (role:NAME).")],
    channel: Annotated[str, typer.Option("--channel", help="e.g. town hall, e-mail, team huddle")],
    sender: Annotated[str, typer.Option("--sender", help="Sender's e-mail.")],
    date_: Annotated[str, typer.Option("--date", help="Planned date YYYY-MM-DD.")],
    message: Annotated[str, typer.Option("--message")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Plan a message to an audience."""
    from cxchange.change.people import add_comm

    out = add_comm(
        engine_from(ctx, db),
        initiative,
        audience=audience,
        channel=channel,
        sender=sender,
        when=date_,
        message=message,
    )
    emit(out, fmt, "communication")


@comms_app.command("list")
def comms_list(
    ctx: typer.Context,
    initiative: Id,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only planned, unsent and past their date.")
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The communication plan, with what is sent and what is overdue."""
    from cxchange.change.people import list_comms

    rows = list_comms(engine_from(ctx, db), initiative)
    emit([r for r in rows if r["overdue"]] if overdue else rows, fmt, "communication plan")


@comms_app.command("sent")
def comms_sent(
    ctx: typer.Context,
    initiative: Id,
    comm: Annotated[int, typer.Argument(help="Communication id (see comms list).")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Mark a planned communication as sent."""
    from cxchange.change.people import mark_sent

    emit(mark_sent(engine_from(ctx, db), initiative, comm), fmt, "communication")


comms_app.command("mark-sent", hidden=True)(comms_sent)


@agents_app.command("add")
def agents_add(
    ctx: typer.Context,
    initiative: Id,
    person: Annotated[str, typer.Argument(help="E-mail.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Name a change agent."""
    from cxchange.change.people import add_agent

    emit(add_agent(engine_from(ctx, db), initiative, person), fmt, "change agent")


@agents_app.command("list")
def agents_list(
    ctx: typer.Context,
    initiative: Id,
    per: Annotated[int | None, typer.Option("--per", help="Target: one agent per N employees (15).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Coverage per affected team: employees, agents, agents needed; teams without one are flagged."""
    from cxchange.change.people import coverage

    emit(coverage(engine_from(ctx, db), initiative, per), fmt, "change-agent coverage")


@agents_app.command("managers")
def agents_managers(
    ctx: typer.Context, initiative: Id, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """Each affected unit's manager and their role in the change."""
    from cxchange.change.people import managers

    emit(managers(engine_from(ctx, db), initiative), fmt, "managers")


@training_app.command("add")
def training_add(
    ctx: typer.Context,
    initiative: Id,
    title: Annotated[str, typer.Option("--title")],
    unit: Annotated[str, typer.Option("--unit", help="Unit code (the session covers the units beneath).")],
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    role: Annotated[str | None, typer.Option("--role", help="Only people with this role.")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Plan a training session for a unit (and role)."""
    from cxchange.change.people import add_training

    emit(add_training(engine_from(ctx, db), initiative, title=title, unit=unit, when=date_, role=role), fmt)


@training_app.command("attend")
def training_attend(
    ctx: typer.Context,
    initiative: Id,
    session: Annotated[int, typer.Argument(help="Session id.")],
    people: Annotated[list[str], typer.Argument(help="E-mails of those who attended.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Record who attended a session."""
    from cxchange.change.people import attend

    emit(attend(engine_from(ctx, db), initiative, session, people), fmt, "attendance")


@training_app.command("list")
def training_list(
    ctx: typer.Context, initiative: Id, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """Sessions with audience, attendance and completion %."""
    from cxchange.change.people import training_report

    emit(training_report(engine_from(ctx, db), initiative), fmt, "training")


@resistance_app.command("add")
def resistance_add(
    ctx: typer.Context,
    initiative: Id,
    unit: Annotated[str, typer.Option("--unit")],
    description: Annotated[str, typer.Option("--description")],
    cause: Annotated[
        str, typer.Option("--cause", help="awareness, desire, knowledge, ability, reinforcement, other")
    ],
    owner: Annotated[str, typer.Option("--owner", help="E-mail of who deals with it.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Log resistance, with its ADKAR cause and an owner."""
    from cxchange.change.people import add_resistance

    out = add_resistance(
        engine_from(ctx, db), initiative, unit=unit, description=description, cause=cause, owner=owner
    )
    emit(out, fmt, "resistance")


@resistance_app.command("list")
def resistance_list(
    ctx: typer.Context,
    initiative: Id,
    status: Annotated[str | None, typer.Option("--status", help="open or addressed")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The log, each item with its unit's readiness barrier share for the same cause."""
    from cxchange.change.people import list_resistance

    rows = list_resistance(engine_from(ctx, db), initiative, status=status)
    if fmt == "table":
        rows = [{**r, "actions": r["actions"][0] if r["actions"] else ""} for r in rows]
    emit(rows, fmt, "resistance log")


@resistance_app.command("update")
def resistance_update(
    ctx: typer.Context,
    initiative: Id,
    item: Annotated[int, typer.Argument(help="Resistance item id.")],
    status: Annotated[str, typer.Option("--status", help="open or addressed")],
    resolution: Annotated[str | None, typer.Option("--resolution")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Move an item: open → addressed (or back)."""
    from cxchange.change.people import update_resistance

    emit(update_resistance(engine_from(ctx, db), initiative, item, status=status, resolution=resolution), fmt)
