"""The command table the CLI mounts from (`cxchange.cli.REGISTRARS`) says the truth: each registrar
registers exactly the commands listed for it, and a command run on its own gets only its stage's."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import typer

from cxchange.cli import REGISTRARS, app, command_word


def _registered(target: str) -> set[str]:
    module, _, function = target.partition(":")
    scratch = typer.Typer()
    getattr(importlib.import_module(module), function)(scratch)
    names = {c.name or c.callback.__name__ for c in scratch.registered_commands}  # type: ignore[union-attr]
    return names | {g.name for g in scratch.registered_groups if g.name}


def test_each_registrar_registers_what_the_table_says() -> None:
    for target, names in REGISTRARS.items():
        assert _registered(target) == set(names), target


def test_every_mounted_command_is_in_the_table() -> None:
    listed = {name for names in REGISTRARS.values() for name in names}
    mounted = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert mounted - {"db"} == listed


def test_command_word() -> None:
    assert command_word(["--db", "sqlite:///x.db", "scores", "--by", "month"]) == "scores"
    assert command_word(["--db=sqlite:///x.db", "initiative", "create"]) == "initiative"
    assert command_word(["--help"]) is None


def test_one_command_runs_with_only_its_stage_mounted(tmp_path: Path) -> None:
    """`cxchange scores --help` in its own process: the command works and help lists every command."""
    exe = Path(sys.executable).with_name("cxchange")
    env = {**os.environ, "CXCHANGE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "COLUMNS": "200"}
    one = subprocess.run([exe, "scores", "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0 and "--metric" in one.stdout
    every = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert all(name in every.stdout for names in REGISTRARS.values() for name in names)
