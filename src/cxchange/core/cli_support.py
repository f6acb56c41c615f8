"""Small pieces every stage's CLI shares: the --db option, output format, dates."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cxchange.core.errors import InputError
from cxchange.core.output import FORMATS

if TYPE_CHECKING:
    from sqlalchemy import Engine

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: CXCHANGE_DATABASE_URL).")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


def engine_from(ctx: typer.Context, db: str | None) -> Engine:
    """--db on the command wins over --db before it, which wins over the environment."""
    from cxchange.core.db import get_engine

    root = ctx.find_root().obj or {}
    return get_engine(db or root.get("db"))


def check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if fmt not in allowed:
        raise InputError(f"unknown --format {fmt!r}; use one of {', '.join(allowed)}")
    return fmt


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} wants a date like 2025-01-31, got {value!r}") from None


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
