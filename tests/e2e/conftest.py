"""End-to-end: the installed `cxchange` run as subprocesses, as a user runs it, on a fresh database.

Nothing here imports a model or calls a service in-process: a command that works only because the
test process happened to import something (the `initiative create` crash of round 1) fails here.
Every database is new and is not the demo: its own org, people and a feedback file made by `world.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def cxchange_executable() -> str:
    """The `cxchange` installed beside the interpreter running the tests (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("cxchange")
    found = str(beside) if beside.exists() else shutil.which("cxchange")
    if not found:
        pytest.fail("no installed `cxchange` command (pip install -e . first)", pytrace=False)
    return found


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        try:
            return json.loads(self.out)
        except json.JSONDecodeError as exc:
            command = " ".join(self.args)
            raise AssertionError(f"`cxchange {command}` printed no JSON: {self.out[:500]!r}") from exc


@dataclass
class Cx:
    """Runs `cxchange ARGS` in a fresh process against one database, checking what every user expects."""

    url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    log: list[Result] = field(default_factory=list)

    def run(self, *args: str, ok: bool = True, timeout: float = 300) -> Result:
        env = {**os.environ, "CXCHANGE_DATABASE_URL": self.url, "NO_COLOR": "1", "COLUMNS": "200", **self.env}
        env.pop("CXCHANGE_COLUMNAR", None)
        proc = subprocess.run(
            [cxchange_executable(), *args], capture_output=True, text=True, env=env, cwd=self.workdir,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        result = Result(args, proc.returncode, proc.stdout, proc.stderr)
        self.log.append(result)
        shown = (
            f"`cxchange {' '.join(args)}` exit {proc.returncode}\n"
            f"stdout: {proc.stdout[-1500:]}\nstderr: {proc.stderr[-1500:]}"
        )
        assert "Traceback" not in proc.stdout + proc.stderr, shown
        if ok:
            assert proc.returncode == 0, shown
        else:
            # Refused: exit 1 with one clear line on stderr, never a silent or empty answer.
            assert proc.returncode == 1, shown
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and len(lines[0]) > 10, shown
        return result

    def json(self, *args: str) -> Any:
        return self.run(*args, "--format", "json").json()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has touched: a new SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with request.getfixturevalue("postgres_databases")("cxchange_e2e_") as url:
        yield url


@pytest.fixture
def cx(fresh_url: str, tmp_path: Path) -> Cx:
    work = tmp_path / "work"
    work.mkdir()
    return Cx(fresh_url, work)
