"""`cxchange doctor`: report the after-commit work a crashed command left undone, and finish it."""

from __future__ import annotations

import sys
from typing import Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.output import print_rows, to_json


def doctor_command(ctx: typer.Context, db: opt.DbOption = None, fmt: opt.FormatOption = "table") -> None:
    """Finish pending after-commit work (cases, alerts, search index, columnar copy) and report it.

    Exit code 1 when some work still fails (its error is in the report)."""
    from cxchange.core.db import get_engine
    from cxchange.core.events import pending, resume
    from cxchange.core.migrate import ensure_schema

    # Opened without the automatic resume (get_engine's), so the report says what was pending.
    engine = get_engine(db or (ctx.find_root().obj or {}).get("db"), upgrade=False)
    ensure_schema(engine)
    found = pending(engine)
    finished = resume(engine, retry_failed=True)
    left = pending(engine)
    rows = [
        {"id": w.id, "event": w.event, "status": "done" if w.done else "failed", "did": _did(w.results),
         "error": "; ".join(w.errors)}
        for w in finished
    ]  # fmt: skip
    done_ids = {w.id for w in finished}
    rows += [
        {
            "id": r["id"],
            "event": r["event"],
            "status": "running elsewhere",
            "did": "",
            "error": r["last_error"] or "",
        }
        for r in left
        if r["id"] not in done_ids
    ]
    if fmt == "json":
        report = {
            "pending": len(found),
            "finished": [w.as_dict() for w in finished],
            "still_pending": [{k: v for k, v in r.items() if k != "claimable"} for r in left],
        }
        sys.stdout.write(to_json(report) + "\n")
    elif rows or fmt == "csv":
        print_rows(rows, fmt, title="pending work", columns=["id", "event", "status", "did", "error"])
    else:
        typer.echo("no pending work")
    if left:
        raise typer.Exit(1)


def _did(results: dict[str, dict[str, Any]]) -> str:
    """The counts the subscribers report that are not zero: cases_opened=3, indexed=120, …"""
    return ", ".join(
        f"{key}={value}"
        for answer in results.values()
        for key, value in answer.items()
        if key != "seconds" and isinstance(value, int | float) and not isinstance(value, bool) and value
    )


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
