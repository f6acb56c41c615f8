"""`cxchange sentiment`: score texts given on the command line or a column of a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cxchange.core import cli_options as opt
from cxchange.core.errors import InputError
from cxchange.core.output import print_rows, rounded
from cxchange.understand.sentiment import BACKENDS

# Column names taken without --column, in this order (compared case-insensitively).
TEXT_COLUMNS = ("text", "comment", "comments", "review", "review text", "feedback", "verbatim", "message")
_TABLE_TEXT = 80  # characters of each text shown in a table
# `sentiment` and `themes analyze` choose the back-end the same way; the help lists the back-ends there are.
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend", help=f"Sentiment back-end: {', '.join(BACKENDS)} (default: CXCHANGE_SENTIMENT_BACKEND)."
    ),
]


def read_column(path: Path, column: str | None) -> list[str]:
    """The texts of one column, in file order (empty cells become ""); unreadable rows are skipped
    with a warning on stderr, a missing column is an InputError naming the columns there are."""
    from cxchange.listen.readers import open_table

    with open_table(path) as reader:
        columns = reader.info.columns
        name = column if column is not None else _guess_column(columns)
        if name is None or name not in columns:
            what = f"no column {column!r}" if column is not None else "which column holds the text?"
            raise InputError(f"{what} (columns: {', '.join(columns)}); pass --column", file=str(path))
        texts: list[str] = []
        skipped = []
        for chunk in reader.iter_chunks():
            texts.extend(v or "" for v in chunk.frame.get_column(name).to_list())
            skipped.extend(chunk.rejects)
    if skipped:
        first = skipped[0]
        typer.echo(
            f"warning: {path}: skipped {len(skipped)} unreadable row(s); first: row {first.row_number}: "
            f"{first.reason}",
            err=True,
        )
    return texts


def _guess_column(columns: list[str]) -> str | None:
    if len(columns) == 1:
        return columns[0]
    lowered = {c.lower(): c for c in columns}
    return next((lowered[c] for c in TEXT_COLUMNS if c in lowered), None)


def sentiment_command(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to score.", show_default=False, metavar="TEXT")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="CSV/TSV/XLSX/JSONL/Parquet file (optionally .gz).")
    ] = None,
    column: Annotated[
        str | None, typer.Option(help="Column of --file with the text (default: guessed).")
    ] = None,
    backend: BackendOption = None,
    fmt: opt.FormatOption = "table",
) -> None:
    """Sentiment of each text: score in [-1, 1] (null when it cannot be scored) and label."""
    from cxchange.understand.sentiment import get_backend

    if column is not None and file is None:
        raise InputError("--column needs --file")
    items = list(texts or [])
    if file is not None:
        items.extend(read_column(file, column))
    if not items and file is None:
        raise InputError("give texts to score, or --file with a text column")
    model = get_backend(backend)
    table = fmt == "table"  # a table shows each text cut to _TABLE_TEXT characters
    rows = [
        {
            "text": text[: _TABLE_TEXT - 1] + "…" if table and len(text) > _TABLE_TEXT else text,
            "score": rounded(s.score, 4),
            "label": s.label,
        }
        for text, s in zip(items, model.score(items), strict=True)
    ]
    if table:
        print_rows(rows, "table", title=f"sentiment ({model.name})", columns=("text", "score", "label"))
    else:
        print_rows(rows, fmt, columns=("text", "score", "label"))
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("sentiment")(sentiment_command)
