"""`cxchange survey create|list|show|close` and `cxchange ingest map|show`. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_command, engine_from
from cxchange.core.errors import InputError
from cxchange.core.output import to_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

survey_app = typer.Typer(
    help="Surveys cxchange collects itself: public links per unit, employee pulses.", no_args_is_help=True
)
ingest_app = typer.Typer(
    help="Streaming ingest: the mapping a webhook payload is read with.", no_args_is_help=True
)


# A survey's nested lists, printed as tables of their own under its fields.
SURVEY_TABLES = ("links", "by_unit", "by_day")


@engine_command(survey_app, "create", tables=SURVEY_TABLES)
def create(
    engine: Engine,
    name: Annotated[str, typer.Option(help="The survey's name (unique).")],
    kind: Annotated[str, typer.Option(help="nps, csat, ces or adkar.")],
    question: Annotated[str | None, typer.Option(help="The question, instead of the kind's.")] = None,
    comment_prompt: Annotated[str | None, typer.Option(help="The comment box's label.")] = None,
    units: opt.UnitsOption = None,
    initiative: Annotated[str | None, typer.Option(help="An adkar pulse's initiative (id or name).")] = None,
    definition: Annotated[Path | None, typer.Option(help="Your own question YAML for the kind.")] = None,
    language: Annotated[str, typer.Option(help="The respondent page's language.")] = "en",
) -> Any:
    """Create a survey with a public link for each of --units (one link without them); prints {"id",
    "name", "kind", "links": [{"unit", "url"}]}."""
    from cxchange.change.readiness import create_survey_or_pulse
    from cxchange.listen.surveys.spec import SurveySpec

    spec = SurveySpec(
        name=name,
        kind=kind,
        question=question,
        comment_prompt=comment_prompt,
        units=units.split(",") if units else [],
        language=language,
    )
    return create_survey_or_pulse(engine, spec, initiative, definition_file=definition)


SurveyArgument = Annotated[str, typer.Argument(help="Id or name.")]


@engine_command(
    survey_app, "list", tables=SURVEY_TABLES, calls="cxchange.listen.surveys.service:list_surveys"
)
def list_() -> None:
    """Every survey with its status and number of answers."""


@engine_command(survey_app, "show", tables=SURVEY_TABLES)
def show(engine: Engine, survey: SurveyArgument) -> Any:
    """A survey's links and its answers counted by unit and by day."""
    from cxchange.listen.surveys.service import show_survey

    return show_survey(engine, survey)


@engine_command(survey_app, "close", tables=SURVEY_TABLES)
def close(engine: Engine, survey: SurveyArgument) -> Any:
    """Stop taking answers: the links then answer 410."""
    from cxchange.listen.surveys.service import close_survey

    return close_survey(engine, survey)


# Invitations and mappings are read by programs first: JSON unless asked otherwise.
@engine_command(survey_app, "invite", tables=SURVEY_TABLES, default_format="json")
def invite_cmd(
    engine: Engine,
    survey: SurveyArgument,
    file: Annotated[Path, typer.Option(help="CSV: email, unit[, customer_id, name].")],
    remind_after: Annotated[int | None, typer.Option(help="Days before one reminder.")] = 3,
) -> Any:
    """E-mail each contact a one-time link (SMTP: CXCHANGE_SMTP_*; links: CXCHANGE_PUBLIC_URL)."""
    from cxchange.listen.surveys.invitations import invite

    return invite(engine, survey, file, remind_after_days=remind_after)


@engine_command(survey_app, "remind", tables=SURVEY_TABLES, default_format="json")
def remind_cmd(engine: Engine, survey: SurveyArgument) -> Any:
    """Send the reminders that are due (run it daily, e.g. from cron)."""
    from cxchange.listen.surveys.invitations import remind

    return remind(engine, survey)


@engine_command(ingest_app, "map", tables=SURVEY_TABLES, default_format="json")
def ingest_map(
    engine: Engine,
    source: Annotated[str, typer.Argument(help="The source webhook payloads are posted to.")],
    file: Annotated[Path, typer.Argument(help='JSON: {"items": "/list", "fields": {"text": "/body", ...}}')],
    kind: Annotated[str, typer.Option(help="The source's kind if it is new.")] = "ticket",
) -> Any:
    """Store how POST /api/ingest/SOURCE reads a payload into feedback items."""
    from cxchange.listen.ingest import set_mapping

    if not file.is_file():
        raise InputError("no such file", file=str(file))
    try:
        mapping = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", file=str(file)) from None
    return set_mapping(engine, source, mapping, kind=kind)


@ingest_app.command("show")
def ingest_show(ctx: typer.Context, source: str, db: opt.DbOption = None) -> None:
    """The source's stored webhook mapping, as JSON."""
    from cxchange.listen.ingest import get_mapping

    typer.echo(to_json({"source": source, "mapping": get_mapping(engine_from(ctx, db), source)}))


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")
    app.add_typer(ingest_app, name="ingest")
