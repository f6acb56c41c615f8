"""Suggest which export column feeds which feedback field, and parse explicit ``field=column`` overrides.

Every survey tool, ticket system and review site names its columns differently ("Review Text", "Comments",
"Why did you give that score?", "RecordedDate"). Guessing well saves the user a mapping step; guessing
wrong silently loads the wrong numbers, so the rules are conservative: a column is only suggested when
its header clearly says what it holds, personal data (email, names, phone) is never mapped, flags and
counts never become scores, and anything unsure is left unmapped for the importer to keep as an attribute
or for the user to map with ``--map field=column``.

How a suggestion is made:
  * headers are normalised: camelCase split, case folded, punctuation and ``_`` turned into spaces
    (``customerID`` -> ``customer id``, ``overall_rating`` -> ``overall rating``, ``Ticket #`` ->
    ``ticket number``);
  * every (column, field) pair is scored by rules: the field name or an exact synonym scores 100, keyword
    patterns less; a field's veto words (``count``, ``flag``, ``id``, ``date``...) knock out its weaker
    rules, and question-style headers ("Why did you...") beat vetoes for free text;
  * pairs are then assigned greedily: highest score first, then the longest matched phrase (the most
    specific header), then the leftmost column; each field and each column is used at most once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cxchange.listen.mapping_rules import EXACT, PERSONAL, RULES, SYNONYMS

__all__ = ["FIELDS", "parse_map_options", "suggest_mapping"]

FIELDS = (
    "external_id",
    "received_at",
    "text",
    "nps",
    "csat",
    "ces",
    "rating",
    "customer_id",
    "org_unit",
    "channel",
    "customer_value",
)


def _normalise(header: str) -> str:
    """Comparable form of a header: camelCase split, casefolded, punctuation and '_' to single spaces."""
    text = header.replace("#", " number ")
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"[\W_]+", " ", text.casefold())
    return text.strip()


def _score(norm: str, field: str) -> tuple[int, int] | None:
    """(score, length of the matched phrase) of the best rule of `field` on a normalised header."""
    if norm in SYNONYMS[field]:
        return EXACT, len(norm)
    best: tuple[int, int] | None = None
    for rule in RULES[field]:
        match = rule.pattern.search(norm)
        if match is None or (rule.veto is not None and rule.veto.search(norm)):
            continue
        candidate = (rule.score, len(match.group(0)))
        if best is None or candidate > best:
            best = candidate
    return best


def suggest_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Best guess of field -> column from the header alone; unsure columns stay unmapped."""
    candidates: list[tuple[int, int, int, int, str]] = []
    for index, column in enumerate(columns):
        norm = _normalise(column)
        if not norm or PERSONAL.search(norm):
            continue
        for field_index, field in enumerate(FIELDS):
            scored = _score(norm, field)
            if scored is not None:
                candidates.append((-scored[0], -scored[1], index, field_index, field))
    candidates.sort()
    chosen: dict[str, str] = {}
    used: set[int] = set()
    for _, _, index, _, field in candidates:
        if field in chosen or index in used:
            continue
        chosen[field] = columns[index]
        used.add(index)
    return {field: chosen[field] for field in FIELDS if field in chosen}


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """Parse ``field=column`` overrides given by the user (``--map``), failing loudly on typos.

    Splits on the first '=' (a column name may itself contain '='). The field is case/space-insensitive;
    the column is kept verbatim because real headers can carry odd spacing.
    """
    valid = ", ".join(FIELDS)
    mapping: dict[str, str] = {}
    for option in options:
        field, sep, column = option.partition("=")
        field = field.strip().lower()
        if not sep:
            raise ValueError(f"map option {option!r} must look like FIELD=COLUMN; valid fields: {valid}")
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r} in map option {option!r}; valid fields: {valid}")
        if not column.strip():
            raise ValueError(f"map option {option!r} names no column after '='")
        if field in mapping:
            raise ValueError(f"field {field!r} is mapped twice ({mapping[field]!r} and {column!r})")
        mapping[field] = column
    return mapping
