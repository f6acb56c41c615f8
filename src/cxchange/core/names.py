"""Names people give things (sources, themes, units, attributes): printable text only.

A NUL cannot be stored by PostgreSQL at all (the request died with a 500), and other control characters
(escape sequences, line breaks, bidirectional overrides) make a name print as something it is not in a
terminal, a log line or a CSV export.
"""

from __future__ import annotations

import unicodedata

from cxchange.core.errors import InputError

# Cc: C0/C1 controls (NUL, ESC, newline…); Cf: invisible format characters (bidi overrides, zero-width
# space, BOM); Cs: lone surrogates. Zero-width (non-)joiners stay: Persian, Indic scripts and emoji need them.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_ALLOWED = frozenset({"\u200c", "\u200d"})


def _refused(ch: str) -> bool:
    return ch not in _ALLOWED and unicodedata.category(ch) in _REFUSED_CATEGORIES


def control_character(text: str) -> tuple[int, str] | None:
    """(position, U+XXXX) of the first control or invisible character in `text`, else None."""
    for i, ch in enumerate(text):
        if _refused(ch):
            return i, f"U+{ord(ch):04X}"
    return None


def check_name(
    value: str, what: str, *, file: str | None = None, row: int | None = None, column: str | None = None
) -> str:
    """`value` unchanged when printable; else an InputError naming `what`, the character and its place
    (and the file, row and column it came from, when given)."""
    found = control_character(value)
    if found is not None:
        position, code = found
        shown = "".join("?" if _refused(ch) else ch for ch in value)
        raise InputError(
            f"{what} {shown[:80]!r} holds a control character ({code} at position {position + 1})",
            file=file, row=row, column=column,
        )  # fmt: skip
    return value


def check_column_names(columns: list[str], file: str) -> None:
    """Header names become attribute names: each must be printable (a NUL was a 500 on PostgreSQL)."""
    for i, name in enumerate(columns, start=1):
        check_name(name, f"the name of column {i}", file=file)
