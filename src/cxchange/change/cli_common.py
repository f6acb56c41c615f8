"""What the change commands share: the initiative argument and output of dicts and lists."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cxchange.core.output import print_rows, to_json

Id = Annotated[str, typer.Argument(help="Initiative id (or exact name).")]
TableJson = ("table", "json")


def emit(data: Any, fmt: str, title: str | None = None, columns: list[str] | None = None) -> None:
    """JSON as is; a list as rows; a dict as a field/value table (or one CSV row)."""
    if fmt == "json":
        typer.echo(to_json(data))
    elif isinstance(data, list):
        print_rows(data, fmt, title=title, columns=columns)
    elif fmt == "csv":
        print_rows([data], fmt)
    else:
        print_rows([{"field": k, "value": cell_text(v)} for k, v in data.items()], fmt, title=title)


def cell_text(v: Any) -> Any:
    if isinstance(v, list):
        return ", ".join(str(cell_text(x)) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={cell_text(x)}" for k, x in v.items() if x not in (None, [], {}))
    return v
