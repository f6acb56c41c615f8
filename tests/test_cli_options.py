"""Every command's --format tells the truth: its help lists exactly the formats it takes, anything else
is refused while the command line is read (one line on stderr, exit 1), and no module defines the
shared options or checks a format by hand."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from cxchange.cli import app
from cxchange.core import cli_options as opt
from cxchange.core.cli_options import format_help
from cxchange.core.errors import InputError
from cxchange.core.output import FORMATS

SRC = Path(__file__).resolve().parents[1] / "src" / "cxchange"


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under `cmd` (Typer carries its own Click: its classes, not click's)."""
    yield path, cmd
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


def _format_options() -> list[tuple[tuple[str, ...], Any, Any]]:
    found = []
    for path, cmd in _commands(get_command(app)):
        for param in cmd.params:
            if "--format" in getattr(param, "opts", ()):
                found.append((path, cmd, param))
    return found


FORMAT_OPTIONS = _format_options()


def test_the_commands_are_found() -> None:
    paths = {" ".join(p) for p, _, _ in FORMAT_OPTIONS}
    assert {"scores", "initiative status", "cases list", "feedback", "themes", "doctor"} <= paths
    assert len(FORMAT_OPTIONS) > 60


@pytest.mark.parametrize(
    ("path", "cmd", "param"), FORMAT_OPTIONS, ids=[" ".join(p) for p, _, _ in FORMAT_OPTIONS]
)
def test_format_help_lists_exactly_what_the_command_accepts(
    path: tuple[str, ...], cmd: Any, param: Any
) -> None:
    listed = tuple(f for f in FORMATS if re.search(rf"\b{f}\b", param.help or ""))
    assert listed, f"{' '.join(path)}: --format help names no format: {param.help!r}"
    assert param.help == format_help(listed)
    ctx = typer.Context(cmd)
    for fmt in FORMATS:
        if fmt in listed:
            assert param.process_value(ctx, fmt) == fmt
        else:
            with pytest.raises(InputError, match=f"unknown --format '{fmt}'; use one of {', '.join(listed)}"):
                param.process_value(ctx, fmt)
    assert param.default in listed  # the default is one it takes


@pytest.mark.parametrize(
    ("path", "cmd", "param"), FORMAT_OPTIONS, ids=[" ".join(p) for p, _, _ in FORMAT_OPTIONS]
)
def test_an_unsupported_format_is_refused_before_anything_runs(
    path: tuple[str, ...], cmd: Any, param: Any, tmp_path: Path
) -> None:
    # --format is read first (options given are processed before missing arguments are noticed), so
    # the refusal needs no database and no other argument.
    result = CliRunner().invoke(
        app, [*path, "--format", "xml"], env={"CXCHANGE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError), result.output
    assert "\n" not in str(result.exception)
    assert not (tmp_path / "x.db").exists()


def test_the_refusal_is_one_line_and_exit_1_from_the_command(tmp_path: Path) -> None:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    run = subprocess.run(
        [sys.executable, "-m", "cxchange", "initiative", "status", "x", "--format", "csv"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr == "error: unknown --format 'csv'; use one of table, json\n"
    assert run.stdout == ""


# The options every command takes from `core.cli_options` (--format has its own tests above). A
# command's option is found by its flag among Click's parameters, not by grepping the source: Typer
# derives a flag from the parameter's name, so a module can declare `where: Annotated[..., typer.Option()]`
# without writing "--where".
SHARED = {
    "--where": opt.WhereOption,
    "--since": opt.SinceOption,
    "--until": opt.UntilOption,
    "--level": opt.LevelOption,
    "--seed": opt.SeedOption,
    "--min-n": opt.MinNOption,
}
# Options of the same name that mean something else where they are defined again: the demo's --seed
# picks the generated company (default 42), `readiness report`'s --min-n is the size below which a
# group merges into its parent unit (default 5), not the one below which a group is flagged small.
OWN_MEANING = {"--seed": {"cxchange.demo.cli"}, "--min-n": {"cxchange.change.cli_governance"}}


def test_shared_options_are_defined_once() -> None:
    found = set()
    for path, cmd in _commands(get_command(app)):
        module = getattr(cmd.callback, "__module__", "")
        for param in cmd.params:
            for flag in set(SHARED) & set(getattr(param, "opts", ())):
                (info,) = SHARED[flag].__metadata__
                if module in OWN_MEANING.get(flag, set()):
                    assert param.help != info.help, f"{module}'s {flag} is the shared one: drop the exception"
                    continue
                found.add(flag)
                assert (param.help, param.metavar) == (info.help, info.metavar), (
                    f"{' '.join(path)} defines the shared {flag} itself"
                )
    assert found == set(SHARED)
    for source in SRC.rglob("*.py"):
        if source.name != "cli_options.py":
            assert "check_format(" not in source.read_text(encoding="utf-8"), (
                f"{source} checks --format by hand"
            )


@pytest.mark.parametrize(
    ("path", "option"),
    [
        *(
            (p, "--since")
            for p in [("scores",), ("feedback",), ("cases", "stats"), ("themes",), ("drivers",)]
        ),
        (("scorecard",), "--as-of"),
    ],
)
def test_a_bad_date_is_refused_while_the_line_is_read(
    path: tuple[str, ...], option: str, tmp_path: Path
) -> None:
    env = {"CXCHANGE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = CliRunner().invoke(app, [*path, option, "2025-13-01"], env=env)
    assert result.exit_code == 1
    assert str(result.exception) == f"{option} wants a date like 2025-01-31, got '2025-13-01'"
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("path", [("sentiment",), ("analyze",)])
def test_backend_help_names_every_back_end(path: tuple[str, ...]) -> None:
    from cxchange.understand.sentiment import BACKENDS

    (param,) = (p for p in _command(path).params if "--backend" in getattr(p, "opts", ()))
    assert param.help == f"Sentiment back-end: {', '.join(BACKENDS)} (default: CXCHANGE_SENTIMENT_BACKEND)."
    assert {"fast", "best", "minilm"} <= set(BACKENDS)


def _command(path: tuple[str, ...]) -> Any:
    return dict(_commands(get_command(app)))[path]


def test_every_command_with_where_takes_source_and_unit() -> None:
    """`--source NAME` and `--unit CODE` are `--where source=NAME` / `--where unit=CODE` wherever --where
    is taken, as the README says of every command (scores, compare, drivers, ... refused them)."""
    with_where, lacking = [], []
    for path, cmd in _commands(get_command(app)):
        flags = {flag for param in getattr(cmd, "params", []) for flag in getattr(param, "opts", ())}
        if "--where" in flags:
            with_where.append(" ".join(path))
            if not {"--source", "--unit"} <= flags:
                lacking.append(" ".join(path))
    assert not lacking, lacking
    assert {"scores", "compare", "feedback", "drivers", "simulate", "analyze", "themes discover"} <= set(
        with_where
    )


def test_unit_and_source_select_what_where_selects(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    units = tmp_path / "units.csv"
    units.write_text("code,name,parent,level\nCO,Co,,company\nR1,North,CO,region\nR2,South,CO,region\n")
    rows = tmp_path / "f.csv"
    lines = ["id,date,unit,channel,score,speed,comment"]
    for i in range(240):
        speed = 1 + i % 5
        lines.append(
            f"{i},2025-{1 + i % 12:02d}-{1 + i % 27:02d},{('R1', 'R2')[i % 2]},{('web', 'app')[i % 3 == 0]},"
            f"{min(10, 2 * speed - 1 + i % 2 + (i % 2 == 0))},{speed},slow queue {i}"
        )
    rows.write_text("\n".join(lines) + "\n")

    def cli(*args: str) -> str:
        res = CliRunner().invoke(app, [*args, "--db", db])
        assert res.exit_code == 0, (args, res.output, res.exception)
        return res.stdout

    cli("org", "import", str(units))
    for source in ("web", "app"):
        half = [lines[0], *(line for line in lines[1:] if line.split(",")[3] == source)]
        (tmp_path / f"{source}.csv").write_text("\n".join(half) + "\n")
        cli("import", str(tmp_path / f"{source}.csv"), "--source", source, "--map", "org_unit=unit",
            "--map", "nps=score")  # fmt: skip
    for command in (
        ("scores", "--by", "month"),
        ("feedback",),
        ("drivers", "--from", "attrs:speed", "--boot", "0"),
    ):
        every = cli(*command, "--format", "json")
        for short, long in (
            (("--unit", "R1"), ("--where", "unit=R1")),
            (("--source", "app"), ("--where", "source=app")),
        ):
            narrowed = cli(*command, *short, "--format", "json")
            assert narrowed == cli(*command, *long, "--format", "json"), (command, short)
            assert narrowed != every, (command, short)


def test_a_page_of_feedback_is_one_size_in_every_interface() -> None:
    """`cxchange feedback` declares its --limit default itself (importing the explore service would load
    the ORM on every command's start-up); the API, the explorer page and the service share PAGE_SIZE."""
    from cxchange.listen.api import FeedbackQuery
    from cxchange.understand import explore

    (param,) = (p for p in _command(("feedback",)).params if p.name == "limit")
    defaults = {
        "cxchange feedback --limit": param.default,
        "GET /api/feedback?limit": FeedbackQuery().limit,
        "list_feedback": inspect.signature(explore.list_feedback).parameters["limit"].default,
        "explore.page": inspect.signature(explore.page).parameters["limit"].default,
    }
    assert defaults == dict.fromkeys(defaults, explore.PAGE_SIZE)
