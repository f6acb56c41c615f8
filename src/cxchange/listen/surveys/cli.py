"""`cxchange survey create|list|show|close` and `cxchange ingest map|show`. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cxchange.core.cli_support import DbOption, FormatOption, engine_from
from cxchange.core.errors import InputError
from cxchange.core.output import emit, to_json

survey_app = typer.Typer(
    help="Surveys cxchange collects itself: public links per unit, employee pulses.", no_args_is_help=True
)
ingest_app = typer.Typer(
    help="Streaming ingest: the mapping a webhook payload is read with.", no_args_is_help=True
)


# A survey's nested lists, printed as tables of their own under its fields.
SURVEY_TABLES = ("links", "by_unit", "by_day")


@survey_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The survey's name (unique).")],
    kind: Annotated[str, typer.Option("--kind", help="nps, csat, ces or adkar.")],
    question: Annotated[
        str | None, typer.Option("--question", help="The question, instead of the kind's.")
    ] = None,
    comment_prompt: Annotated[
        str | None, typer.Option("--comment-prompt", help="The comment box's label.")
    ] = None,
    units: Annotated[
        str | None, typer.Option("--units", help="Unit codes, comma-separated: one link each.")
    ] = None,
    initiative: Annotated[
        str | None, typer.Option("--initiative", help="An adkar pulse's initiative (id or name).")
    ] = None,
    definition: Annotated[
        Path | None, typer.Option("--definition", help="Your own question YAML for the kind.")
    ] = None,
    language: Annotated[str, typer.Option("--language", help="The respondent page's language.")] = "en",
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Create a survey; prints {"id", "name", "kind", "links": [{"unit", "url"}]}."""
    from cxchange.listen.surveys.service import create_survey

    engine = engine_from(ctx, db)
    initiative_id = assessment = None
    if initiative is not None:
        if kind != "adkar":
            raise InputError("--initiative is for --kind adkar (an employee pulse on a change)")
        from cxchange.change.readiness import reserve_pulse_assessment

        initiative_id, assessment = reserve_pulse_assessment(engine, initiative)
    out = create_survey(
        engine, name=name, kind=kind, question=question, comment_prompt=comment_prompt,
        units=(units or "").split(",") if units else (), initiative_id=initiative_id, assessment=assessment,
        definition_file=definition, language=language,
    )  # fmt: skip
    emit(out, fmt, tables=SURVEY_TABLES)


@survey_app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """Every survey with its status and number of answers."""
    from cxchange.listen.surveys.service import list_surveys

    emit(list_surveys(engine_from(ctx, db)), fmt, tables=SURVEY_TABLES)


@survey_app.command("show")
def show(ctx: typer.Context, survey: Annotated[str, typer.Argument(help="Id or name.")],
         fmt: FormatOption = "table", db: DbOption = None) -> None:  # fmt: skip
    """A survey's links and its answers counted by unit and by day."""
    from cxchange.listen.surveys.service import show_survey

    emit(show_survey(engine_from(ctx, db), survey), fmt, tables=SURVEY_TABLES)


@survey_app.command("close")
def close(ctx: typer.Context, survey: Annotated[str, typer.Argument(help="Id or name.")],
          fmt: FormatOption = "table", db: DbOption = None) -> None:  # fmt: skip
    """Stop taking answers: the links then answer 410."""
    from cxchange.listen.surveys.service import close_survey

    emit(close_survey(engine_from(ctx, db), survey), fmt, tables=SURVEY_TABLES)


@survey_app.command("invite")
def invite_cmd(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Id or name.")],
    file: Annotated[Path, typer.Option("--file", help="CSV: email, unit[, customer_id, name].")],
    remind_after: Annotated[int | None, typer.Option("--remind-after", help="Days before one reminder.")] = 3,
    fmt: FormatOption = "json",
    db: DbOption = None,
) -> None:
    """E-mail each contact a one-time link (SMTP: CXCHANGE_SMTP_*; links: CXCHANGE_PUBLIC_URL)."""
    from cxchange.listen.surveys.invitations import invite

    out = invite(engine_from(ctx, db), survey, file, remind_after_days=remind_after)
    emit(out, fmt, tables=SURVEY_TABLES)


@survey_app.command("remind")
def remind_cmd(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Id or name.")],
    fmt: FormatOption = "json",
    db: DbOption = None,
) -> None:
    """Send the reminders that are due (run it daily, e.g. from cron)."""
    from cxchange.listen.surveys.invitations import remind

    emit(remind(engine_from(ctx, db), survey), fmt, tables=SURVEY_TABLES)


@ingest_app.command("map")
def ingest_map(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source webhook payloads are posted to.")],
    file: Annotated[Path, typer.Argument(help='JSON: {"items": "/list", "fields": {"text": "/body", ...}}')],
    kind: Annotated[str, typer.Option("--kind", help="The source's kind if it is new.")] = "ticket",
    fmt: FormatOption = "json",
    db: DbOption = None,
) -> None:
    """Store how POST /api/ingest/SOURCE reads a payload into feedback items."""
    from cxchange.listen.ingest import set_mapping

    if not file.is_file():
        raise InputError("no such file", file=str(file))
    try:
        mapping = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", file=str(file)) from None
    emit(set_mapping(engine_from(ctx, db), source, mapping, kind=kind), fmt, tables=SURVEY_TABLES)


@ingest_app.command("show")
def ingest_show(ctx: typer.Context, source: str, db: DbOption = None) -> None:
    """The source's stored webhook mapping, as JSON."""
    from cxchange.listen.ingest import get_mapping

    typer.echo(to_json({"source": source, "mapping": get_mapping(engine_from(ctx, db), source)}))


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")
    app.add_typer(ingest_app, name="ingest")
