"""Keyword options declared once as a `TypedDict` (`**options: Unpack[Declared]`), checked when called.

A signature with `**options` takes any keyword, so a misspelt one would be ignored in silence: the
services that declare their options this way refuse a keyword the declaration does not name, as Python
refuses one a signature does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def names(declared: type) -> str:
    """The declared keywords in declaration order: "a, b and c"."""
    keys = list(declared.__annotations__)
    return keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} and {keys[-1]}"


def refuse_unknown(options: Mapping[str, Any], declared: type, what: str) -> None:
    """TypeError naming each keyword of `options` that `declared` (a TypedDict) does not."""
    if unknown := sorted(set(options) - set(declared.__annotations__)):
        raise TypeError(f"unexpected keyword argument(s) {unknown}: the {what} options are {names(declared)}")
