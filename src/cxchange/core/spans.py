"""The one span grammar of every command, route and rule: `30d`, `12w`, `6m`, `1y`, a number of days, and
`all` where a window may run as far as the data. In core, not in the CLI layer, because services read
spans too (alert windows, case rules, emerging themes, outcome windows)."""

from __future__ import annotations

import re

from cxchange.core.errors import InputError

# One span grammar for every command: a positive number with d (days, also the unit of a bare number),
# w (weeks), m (30-day months) or y (365-day years); case and spaces ignored.
_SPAN = re.compile(r"^\s*([0-9]+)\s*([dwmy]?)\s*$", re.IGNORECASE)
_SPAN_DAYS = {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}


def parse_span(text: str | int, option: str) -> int:
    """'30d', '12w', '6m', '1y' or a number of days -> days."""
    m = _SPAN.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise InputError(f"{option} wants a span like 30d, 12w, 6m or 1y, got {text!r}")
    return int(m.group(1)) * _SPAN_DAYS[m.group(2).lower()]


def parse_window(text: str | int, option: str) -> int | None:
    """A span in days, or None for "all" (as far as the data go)."""
    return None if str(text).strip().lower() == "all" else parse_span(text, option)
