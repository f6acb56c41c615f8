"""`cxchange user add|list|passwd|delete`, `cxchange token create|revoke`, `cxchange audit`.

Thin: parse, call `cxchange.auth.service`, print. A password is read from stdin (--password-stdin) or
generated and printed once; it is never an argument (arguments end up in shell history and `ps`).
"""

from __future__ import annotations

import secrets
import sys
from typing import Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_command, engine_from
from cxchange.core.output import print_rows, to_json

user_app = typer.Typer(
    help="Users and their roles (admin, analyst, change-lead, manager, viewer).", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens, sent as `Authorization: Bearer TOKEN` to /api.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (else one is generated).")
]


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?)"""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(12), True


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail (their sign-in name).")],
    role: Annotated[str, typer.Option(help="admin, analyst, change-lead, manager or viewer.")],
    unit: Annotated[
        list[str] | None,
        typer.Option(help="Org unit code they look after (repeat); needed for a manager."),
    ] = None,
    password_stdin: PasswordStdin = False,
    db: opt.DbOption = None,
) -> None:
    """Add a user; a manager sees only their units and everything beneath them."""
    from cxchange.auth.service import add_user

    password, generated = _password(password_stdin)
    user = add_user(engine_from(ctx, db), email, role, units=unit or (), password=password)
    units = f" for {', '.join(user['units'])}" if user["units"] else ""
    typer.echo(f"added {user['email']} ({user['role']}{units})")
    if generated:
        typer.echo(f"one-time password (shown once; change it with `cxchange user passwd`): {password}")


def _show_users(rows: list[dict[str, Any]], fmt: str) -> None:
    print_rows([{**r, "units": ", ".join(r["units"])} for r in rows], fmt)


@engine_command(user_app, "list", show=_show_users, calls="cxchange.auth.service:list_users")
def user_list() -> None:
    """Users, their roles and units."""


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
    db: opt.DbOption = None,
) -> None:
    """Set a new password (signs the user out of every session)."""
    from cxchange.auth.service import set_password

    password, generated = _password(password_stdin)
    set_password(engine_from(ctx, db), email, password)
    typer.echo(f"password changed for {email}")
    if generated:
        typer.echo(f"one-time password (shown once): {password}")


@user_app.command("delete")
def user_delete(ctx: typer.Context, email: Annotated[str, typer.Argument()], db: opt.DbOption = None) -> None:
    """Remove a user and their tokens."""
    from cxchange.auth.service import delete_user

    delete_user(engine_from(ctx, db), email)
    typer.echo(f"deleted {email}")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Whose token: it has that user's role and units.")],
    name: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    db: opt.DbOption = None,
) -> None:
    """Create an API token and print it (only a hash is stored: copy it now)."""
    from cxchange.auth.service import create_token

    typer.echo(create_token(engine_from(ctx, db), email, name=name))


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, email: Annotated[str, typer.Argument()], db: opt.DbOption = None
) -> None:
    """Revoke every token of a user."""
    from cxchange.auth.service import revoke_tokens

    typer.echo(f"revoked {revoke_tokens(engine_from(ctx, db), email)} token(s) of {email}")


def audit_command(
    ctx: typer.Context,
    action: Annotated[str | None, typer.Option(help="e.g. import* or user.add")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """The audit log: imports, taxonomy edits, initiative changes and user changes, newest first."""
    from cxchange.auth.service import list_audit

    rows = list_audit(engine_from(ctx, db), limit=limit, action=action)
    if fmt == "json":
        typer.echo(to_json(rows))
        return
    print_rows(rows, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.command("audit")(audit_command)
