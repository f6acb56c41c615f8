"""`cxchange serve`: the API and the web UI on one uvicorn server."""

from __future__ import annotations

from typing import Annotated

import typer

from cxchange.core.cli_support import DbOption, engine_from


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the web UI and the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from cxchange.api import create_app

    engine = engine_from(ctx, db)  # upgrades the schema before the first request
    typer.echo(
        f"cxchange on http://{host}:{port}  (database: {engine.url.render_as_string(hide_password=True)})"
    )
    uvicorn.run(create_app(engine.url.render_as_string(hide_password=False)), host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
