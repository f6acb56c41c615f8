"""The `cxchange` command: a Typer root that mounts each stage's commands.

Every command accepts `--db URL` (also accepted before the command name); bad input ends with one
line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import FrameType
from typing import Annotated, NoReturn

import typer

from cxchange.core.cli_options import DbOption
from cxchange.core.errors import CxError

try:  # typer 0.2x carries its own Click, whose errors all derive from this
    from typer import TyperException as UsageProblem
except ImportError:  # an older typer on the real Click
    from click import ClickException as UsageProblem  # type: ignore[assignment]

app = typer.Typer(
    name="cxchange",
    help="Turn customer feedback into organisational change that lasts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"cxchange {version('cxchange')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: DbOption = None,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    ctx.obj = {"db": db}


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Upgrade the database schema to the newest migration."""
    from cxchange.core.cli_support import engine_from
    from cxchange.core.migrate import current_revision

    engine = engine_from(ctx, db)
    typer.echo(f"database at revision {current_revision(engine)}")


# Which module registers which top-level commands. A run of one command builds only its stage's
# commands: Typer turns every registered function's signature into Click parameters before running
# anything, a tenth of a second or more of every command's start for 90 commands nobody asked for.
# tests/test_cli_mount.py checks this table against what each function really registers.
REGISTRARS: dict[str, tuple[str, ...]] = {
    "cxchange.listen.cli:register": ("import", "batches", "rejects", "feedback", "redate", "org"),
    "cxchange.listen.surveys.cli:register": ("survey", "ingest"),
    "cxchange.measure.cli:register": ("scores", "compare"),
    "cxchange.understand.cli_sentiment:register": ("sentiment",),
    "cxchange.understand.cli:register": ("analyze", "emerging", "themes"),
    "cxchange.decide.cli:register": ("drivers",),
    "cxchange.decide.cli_whatif:register": ("simulate", "opportunities", "business-case"),
    "cxchange.change.cli:register": (
        "frameworks",
        "initiative",
        "raci",
        "readiness",
        "impact",
        "comms",
        "agents",
        "training",
        "resistance",
    ),
    "cxchange.sustain.cli_outcomes:register_outcomes": ("scorecard", "outcomes"),
    "cxchange.sustain.cli_loop:register_loop": ("recognition", "cases", "alerts"),
    "cxchange.demo.cli:register": ("demo",),
    "cxchange.report.cli:register": ("report",),
    "cxchange.auth.cli:register": ("audit", "user", "token"),
    "cxchange.web.cli:register": ("serve",),
    "cxchange.core.cli_doctor:register": ("doctor",),
}


def command_word(argv: list[str]) -> str | None:
    """The command a command line runs (`scores` in `cxchange --db X scores --by month`), if any."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _mount(command: str | None = None) -> None:
    """Register the stage commands: only the registrar of `command` when one holds it, else all (help,
    an unknown command's error and the tests see every command)."""
    import importlib

    chosen = [t for t, names in REGISTRARS.items() if command in names] or list(REGISTRARS)
    for target in chosen:
        module, _, function = target.partition(":")
        getattr(importlib.import_module(module), function)(app)


def _run_as_command() -> bool:
    """True when this process is the `cxchange` command (or `python -m cxchange`), not a test or a
    program that imports the app."""
    return os.path.basename(sys.argv[0]) in ("cxchange", "__main__.py") if sys.argv else False


_mount(command_word(sys.argv[1:]) if _run_as_command() else None)


# Commands whose success is written to the audit log (user and token commands audit themselves).
AUDITED = {
    "import": "import",
    "survey": "survey",
    "ingest": "ingest",
    "org": "import.org",
    "themes": "taxonomy",
    "initiative": "initiative",
    "raci": "initiative.raci",
    "readiness": "initiative.readiness",
    "impact": "initiative.impact",
    "comms": "initiative.comms",
    "agents": "initiative.agents",
    "training": "initiative.training",
    "resistance": "initiative.resistance",
}
READ_ONLY_SUBCOMMANDS = frozenset({"list", "show", "export", "status", "check", "report", "trend", "heatmap"})


def _db_and_words(argv: list[str]) -> tuple[str | None, list[str]]:
    """The --db value and the words of the command line (command, subcommand, arguments)."""
    db = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--db"), None)
    db = db or next((a.split("=", 1)[1] for a in argv if a.startswith("--db=")), None)
    return db, [a for a in argv if not a.startswith("-") and a != db]


def _audit_cli(argv: list[str]) -> None:
    """Record a successful changing command with the OS user who ran it (best effort, never fatal)."""
    db, words = _db_and_words(argv)
    if not words or words[0] not in AUDITED or "--help" in argv or "--dry-run" in argv:
        return
    if len(words) > 1 and words[1] in READ_ONLY_SUBCOMMANDS:
        return
    try:
        import getpass

        from cxchange.auth.service import audit
        from cxchange.core.db import get_engine

        audit(get_engine(db), f"cli:{getpass.getuser()}", AUDITED[words[0]], " ".join(words[1:3]) or None,
              argv=argv[:12])  # fmt: skip
    except Exception:  # the command succeeded: an audit hiccup must not turn it into a failure
        pass


def _exit_now(code: int) -> NoReturn:
    """End the process as a normal exit would (threads still working are waited for, atexit handlers run)
    but without the interpreter's teardown: freeing every module and object of a command that has
    already printed its answer took 0.2-2 s of the user's wait on a busy machine, for nothing."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what finalisation does first: join threads
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        pass
    except AttributeError:  # another Python: the ordinary exit
        sys.exit(code)
    os._exit(code)


def _usage_error(exc: Exception) -> str:
    """A mistyped option or argument as the one line every other bad input gets: Click's own answer is a
    usage block and a framed message on several lines (exit 2)."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    return f"error: {message}" + (f" (see `{ctx.command_path} --help`)" if ctx is not None else "")


_sigints: list[int] = []  # SIGINTs this process received (Typer turns the KeyboardInterrupt into 130)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _sigints.append(signum)
    raise KeyboardInterrupt


def _interrupted(argv: list[str]) -> NoReturn:
    """Ctrl-C: one line on stderr saying what was left undone (where the interrupted code said it,
    core/interrupts.py), exit 130, no traceback; a second Ctrl-C meanwhile changes nothing."""
    from cxchange.core.interrupts import interrupted_note

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    db = _db_and_words(argv)[0]
    rest = [a for a in argv if a not in ("--db", db) and not a.startswith("--db=")]
    leading = next((rest[:i] for i, a in enumerate(rest) if a.startswith("-")), rest)  # before any option
    words = " ".join(["cxchange", *leading[:2]])
    note = interrupted_note() or f"`{words}` did not finish"
    try:
        sys.stdout.flush()  # what the command printed before stays printed
        sys.stderr.write(f"interrupted: {note}\n")
        sys.stderr.flush()
        atexit._run_exitfuncs()
    except BaseException:  # a closed stderr, a failing exit handler: the exit code still says it
        pass
    os._exit(130)


def main() -> None:
    argv = sys.argv[1:]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (a shell's `&`)
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        _main()
    except KeyboardInterrupt:  # outside the command: its output, the audit, the exit's thread join
        _interrupted(argv)


def _main() -> None:
    try:
        # Not standalone: Click hands its usage errors to us instead of printing them itself, and returns
        # the code of an Exit (or a command's return value, which is not a code).
        code = app(standalone_mode=False)
    except SystemExit as done:
        code = done.code
    except UsageProblem as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cxchange db` alone: its help, as --help gives it
            typer.echo(exc.format_message())  # type: ignore[attr-defined]
            _exit_now(0)
        typer.echo(_usage_error(exc), err=True)
        _exit_now(1)
    except CxError as exc:
        typer.echo(f"error: {exc}", err=True)
        _exit_now(1)
    except (KeyboardInterrupt, typer.Abort):
        _interrupted(sys.argv[1:])
    if _sigints and code == 130:  # Typer's answer to a KeyboardInterrupt inside the command
        _interrupted(sys.argv[1:])
    code = code if isinstance(code, int) and not isinstance(code, bool) else 0
    if code == 0:
        _audit_cli(sys.argv[1:])
        _exit_now(0)
    sys.exit(code)
