"""`cxchange serve`: the API and the web UI on one uvicorn server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_from
from cxchange.core.interrupts import on_interrupt

if TYPE_CHECKING:
    from sqlalchemy import Engine


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Server processes (e.g. one per core); each keeps its own caches."),
    ] = 1,
    db: opt.DbOption = None,
) -> None:
    """Serve the web UI and the HTTP API (OpenAPI at /docs)."""
    import os

    import uvicorn

    from cxchange.api import create_app

    engine = engine_from(ctx, db)  # upgrades the schema before the first request
    _first_admin(engine)
    url = engine.url.render_as_string(hide_password=False)
    typer.echo(
        f"cxchange on http://{host}:{port}  (database: {engine.url.render_as_string(hide_password=True)}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    # Ctrl-C is how a server is stopped: uvicorn shuts down, then the interruption reaches the CLI.
    with on_interrupt(
        "the server stopped; every answer it acknowledged is stored, and after-commit work left undone "
        "resumes when the database is next opened"
    ):
        if workers == 1:
            uvicorn.run(create_app(url), host=host, port=port)
            return
        # Several processes: uvicorn imports the factory in each; the database comes from the environment.
        os.environ["CXCHANGE_DATABASE_URL"] = url
        uvicorn.run("cxchange.api:create_app", factory=True, host=host, port=port, workers=workers)


def _first_admin(engine: Engine) -> None:
    """A database without users gets an admin: CXCHANGE_ADMIN_PASSWORD, or a one-time password shown once."""
    import secrets

    from cxchange.auth.service import add_user, count_users
    from cxchange.core.config import get_settings

    if count_users(engine):
        return
    settings = get_settings()
    password = settings.admin_password or secrets.token_urlsafe(12)
    add_user(engine, settings.admin_email, "admin", password=password, actor="serve")
    typer.echo(f"created the first admin: {settings.admin_email}")
    if not settings.admin_password:
        typer.echo(f"one-time password (shown once; change it with `cxchange user passwd`): {password}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
