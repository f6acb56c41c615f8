"""Rendering rows for people (rich tables), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")
# A cell starting with one of these is a formula to Excel / Sheets (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Prefix a quote to text that a spreadsheet would run as a formula; numbers pass untouched."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nested `group` objects become `group.key` columns, so a table or CSV has one cell a value."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k == "group" and isinstance(v, Mapping):
            out.update(v)
        else:
            out[k] = v
    return out


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO, columns: Sequence[str] | None = None) -> None:
    rows = [flatten(r) for r in rows]
    cols = list(columns) if columns else _columns(rows)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow([neutralise_cell(_plain(r.get(c))) for c in cols])


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    buf = io.StringIO()
    write_csv(rows, buf, columns)
    return buf.getvalue()


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_plain, indent=None)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: str = "table",
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    dim_when: str | None = None,
) -> None:
    """Print rows in `fmt`; in tables, rows whose `dim_when` field is true are greyed (small samples)."""
    if fmt == "json":
        sys.stdout.write(to_json(list(rows)) + "\n")
        return
    if fmt == "csv":
        write_csv(rows, sys.stdout, columns)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    flat = [flatten(r) for r in rows]
    cols = list(columns) if columns else _columns(flat)
    console = Console(soft_wrap=False)
    if len(flat) == 1 and len(cols) > 2 and _width(flat[0], cols) > console.width:
        # One record wider than the terminal (an import's summary): field / value lines, as psql's
        # expanded display does, instead of every column folded to a few letters.
        flat = [{"field": c, "value": flat[0].get(c)} for c in cols]
        cols = ["field", "value"]
    elif len(flat) > 1 and _width(flat[0], cols) > console.width and (console.width - 1) / len(cols) < 6:
        # Several records of so many columns that each would get under 3 letters (a dry run's first rows
        # of a 21-column export at 80 columns printed one letter a line, hundreds of lines): each record
        # as field / value lines, numbered, as psql's expanded display.
        flat = [{"row": i, "field": c, "value": r.get(c)} for i, r in enumerate(flat, 1) for c in cols]
        cols = ["row", "field", "value"]
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in flat:
        style = "dim" if dim_when and r.get(dim_when) else None
        # Text(), not str: feedback may contain "[EMAIL]" or other rich markup that must print as typed.
        table.add_row(*[Text("" if r.get(c) is None else str(_plain(r.get(c)))) for c in cols], style=style)
    console.print(table)


def _width(row: Mapping[str, Any], cols: Sequence[str]) -> int:
    """Characters a one-row table needs without folding: each column's header or value, plus borders."""
    return 1 + sum(3 + max(len(c), len("" if row.get(c) is None else str(_plain(row.get(c))))) for c in cols)


def cell_text(v: Any) -> Any:
    """A nested value as one readable table cell: lists joined, mappings as key=value (empties left out)."""
    if isinstance(v, list | tuple):
        return ", ".join(str(cell_text(x)) for x in v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={cell_text(x)}" for k, x in v.items() if x not in (None, [], {}))
    return v


def _cell(key: str, value: Any) -> Any:
    return value if key == "group" else cell_text(value)  # `group` is spread into columns by flatten


def emit(
    data: Any,
    fmt: str,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    tables: Sequence[str] = (),
) -> None:
    """What every command prints its answer with. JSON: as is. A list: rows (nested cells as text in a
    table). A dict: a field/value table, its `tables` keys printed as tables of their own beneath; in
    CSV, one row (columns are its fields)."""
    if fmt == "json":
        sys.stdout.write(to_json(data) + "\n")
    elif isinstance(data, list):
        # CSV keeps nested values machine-readable (JSON cells); a table shows them as text.
        rows = data if fmt == "csv" else [{k: _cell(k, v) for k, v in r.items()} for r in data]
        print_rows(rows, fmt, title=title, columns=columns)
    elif fmt == "csv":
        print_rows([data], fmt, columns=columns)
    else:
        fields = [{"field": k, "value": cell_text(v)} for k, v in data.items() if k not in tables]
        print_rows(fields, fmt, title=title)
        for key in tables:
            if data.get(key):
                print_rows(data[key], fmt, title=key)


def counted(pairs: Sequence[tuple[str, int]]) -> str:
    """(what, how many) pairs in words: "47 nps and 12 csat", "1,257 rating"."""
    words = [f"{n:,} {what}" for what, n in pairs]
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def rounded(x: Any, digits: int = 2) -> float | None:
    """The one rounding rule for reported numbers: `digits` decimals; None for a missing, NaN or
    infinite value (JSON has no NaN, and a blank cell says "not known" better than 'nan')."""
    if x is None:
        return None
    f = float(x)
    return round(f, digits) if math.isfinite(f) else None
