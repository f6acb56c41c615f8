"""How a command runs, written once: open the engine (`engine_from`), call the service, print its answer
(`runs_on_engine`, `engine_command`, `commands_of`). The options commands share are `core.cli_options`';
the span grammar (`30d`, `12w`, `6m`, `1y`, `all`) is `core.spans`' (services read spans too)."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from cxchange.core.cli_options import DbOption, SourceOption, UnitOption, format_option
from cxchange.core.output import FORMATS, emit, print_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine


def engine_from(ctx: typer.Context, db: str | None) -> Engine:
    """--db on the command wins over --db before it, which wins over the environment."""
    from cxchange.core.db import get_engine

    root = ctx.find_root().obj or {}
    return get_engine(db or root.get("db"))


def process_started() -> float:
    """When this process started, on the `time.perf_counter` clock, so a command can report the time
    its user waited, interpreter start-up and imports included. Linux: from /proc (10 ms steps);
    elsewhere: now."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time, ticks since boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - start
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter()
    return time.perf_counter() - max(age, 0.0)


def _options(func: Callable[..., Any], after_engine: bool) -> list[inspect.Parameter]:
    """`func`'s parameters (those after its first, the engine, if `after_engine`), their annotations
    resolved in `func`'s own module: Typer reads them from the wrapper, whose module does not know
    their names."""
    params = list(inspect.signature(func).parameters.values())[1 if after_engine else 0 :]
    # Only these: the engine's annotation may name a type imported for the type checker alone.
    annotated = SimpleNamespace(__annotations__={p.name: p.annotation for p in params})
    hints = get_type_hints(annotated, globalns=getattr(func, "__globals__", None), include_extras=True)
    return [p.replace(annotation=hints[p.name]) for p in params]


# --source and --unit, on every command that takes --where: short for `--where source=NAME` and
# `--where unit=CODE` (as the README promises), added here once instead of declared by each command.
_SCOPE_SHORTHANDS = (("scope_source", "source", SourceOption), ("scope_unit", "unit", UnitOption))


def _scope_shorthands(params: list[inspect.Parameter]) -> list[inspect.Parameter]:
    """The shorthand options `params` lack, if they take --where (a command's own --source stays)."""
    names = {p.name for p in params}
    if "where" not in names:
        return []
    keyword = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(name, keyword, annotation=annotation, default=None)
        for name, field, annotation in _SCOPE_SHORTHANDS
        if field not in names
    ]


def _fold_scope(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the shorthands taken out and added to `where` as FIELD=VALUE items. An empty value
    (`--unit "$UNSET"`) is kept, so that it is refused as `--where unit=` is: dropped, it answered for the
    whole organisation with exit 0."""
    extra = [
        f"{field}={value}"
        for name, field, _ in _SCOPE_SHORTHANDS
        if (value := kwargs.pop(name, None)) is not None
    ]
    if extra:
        kwargs["where"] = [*(kwargs.get("where") or []), *extra]
    return kwargs


def scope_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """A command taking --where also takes --source and --unit (see `_SCOPE_SHORTHANDS`); for commands
    registered without `runs_on_engine`, which does the same itself."""
    params = _options(func, after_engine=False)
    extras = _scope_shorthands(params)
    if not extras:
        return func

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **_fold_scope(kwargs))

    every = [*params, *extras]
    command.__signature__ = inspect.Signature(every)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in every}
    del command.__wrapped__  # type: ignore[attr-defined]  # Typer must read the signature above
    return command


def _service(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


def runs_on_engine(
    *,
    formats: tuple[str, ...] = FORMATS,
    title: str | None = None,
    tables: tuple[str, ...] = (),
    as_rows: bool = False,
    one_row: bool = False,
    dim_when: str | None = None,
    show: Callable[[Any, str], None] | None = None,
    fails: Callable[[Any], bool] | None = None,
    default_format: str = "table",
    calls: str | None = None,
    empty: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Make `func(engine, **options)`, which returns a command's answer, into the command: it also
    takes --format (exactly `formats`) and --db, opens the engine the one way (`engine_from`) and
    prints the answer: JSON as it is, other formats with `emit` (title, tables), as flat rows
    (`as_rows`: `print_rows`, nested values kept as JSON text, `dim_when` rows greyed) or with
    `show(answer, fmt)` where people read it differently; `one_row`: the answer is one record, printed
    (JSON too) as a list of that one row. `title` may name options, filled in:
    "case {case_id}". `fails(answer)` true: exit code 1 after
    printing (a check that found errors). None: nothing to print (nothing was done, and the command
    said why on stderr). The one "open the database, call the service, print" body,
    so no command writes it again. `calls="module:function"`: the answer is that service function's,
    given the engine and the options by name (the decorated function takes no engine: it only
    declares the options, named as the service's keywords, and documents the command); imported
    when the command runs, so building the command line stays cheap. `empty`: what a table prints
    instead of nothing when the answer is an empty list (options filled in as in `title`): what is
    missing and the command that adds it; a blank line with exit 0 read as a broken command. JSON and
    CSV stay an empty list on stdout, as scripts expect, with the same line on stderr."""
    fmt_option = format_option(formats)
    if default_format not in formats:
        raise ValueError(f"default format {default_format!r} is not one of {formats}")

    def wrap(func: Callable[..., Any]) -> Callable[..., None]:
        options = _options(func, after_engine=calls is None)
        shorthands = _scope_shorthands(options)

        def command(ctx: typer.Context, fmt: str, db: str | None, **kwargs: Any) -> None:
            kwargs = _fold_scope(kwargs)
            answer = (func if calls is None else _service(calls))(engine_from(ctx, db), **kwargs)
            if answer is None:  # nothing done, and the command said why on stderr
                return
            if empty is not None and isinstance(answer, list) and not answer:
                if fmt == "table":
                    typer.echo(empty.format(**kwargs))
                    return
                typer.echo(empty.format(**kwargs), err=True)  # stdout stays the empty list scripts parse
            if one_row:
                answer = [answer]
            # What the service resolved (a default metric, `resolved` on its answer) fills the title too.
            heading = None if title is None else title.format(**{**kwargs, **getattr(answer, "resolved", {})})
            if show is not None and fmt != "json":
                show(answer, fmt)
            elif as_rows:
                print_rows(answer, fmt, title=heading, dim_when=dim_when)
            else:
                emit(answer, fmt, heading, tables=tables)
            if fails is not None and fails(answer):
                raise typer.Exit(1)

        keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
        params = [
            inspect.Parameter("ctx", keyword, annotation=typer.Context),
            *options,
            *(p.replace(kind=keyword) for p in shorthands),
            inspect.Parameter("fmt", keyword, annotation=Annotated[str, fmt_option], default=default_format),
            inspect.Parameter("db", keyword, annotation=DbOption, default=None),
        ]
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__name__, command.__qualname__ = func.__name__, func.__qualname__
        command.__doc__, command.__module__ = func.__doc__, func.__module__
        command.calls = calls  # type: ignore[attr-defined]  # for the test that checks the keywords
        return command

    return wrap


def engine_command(
    app: typer.Typer, name: str, *, hidden: bool = False, **runner: Any
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """`runs_on_engine(**runner)`, registered on `app` as the command `name`."""

    def register(func: Callable[..., Any]) -> Callable[..., None]:
        command = runs_on_engine(**runner)(func)
        app.command(name, hidden=hidden)(command)
        return command

    return register


def commands_of(
    app: typer.Typer, **defaults: Any
) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., None]]]:
    """`engine_command` on `app` with what all of the group's commands share (e.g. their formats)
    said once: `readiness = commands_of(readiness_app, formats=TABLE_JSON)`, then
    `@readiness("report", show=…)`."""

    def command(name: str, **runner: Any) -> Callable[[Callable[..., Any]], Callable[..., None]]:
        return engine_command(app, name, **{**defaults, **runner})

    return command
