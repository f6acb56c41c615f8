"""Names (sources, themes, units, filters) refuse control characters: a NUL answered HTTP 500 on
PostgreSQL, and ESC or bidi codes make a name print as something else."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.core.names import check_name, control_character

BAD = ["a\x00b", "esc\x1b[2J", "two\nlines", "tab\there", "rtl\u202eevil", "zero\u200bwidth", "\ufeffbom"]
GOOD = ["Waiting time", "Île-de-France", "می‌خواهم", "👩‍💻 desk", "R-NORTH", "a = b"]


@pytest.mark.parametrize("name", BAD)
def test_control_characters_are_refused_with_their_place(name: str) -> None:
    assert control_character(name) is not None
    with pytest.raises(InputError, match=r"control character \(U\+[0-9A-F]{4} at position \d+\)"):
        check_name(name, "theme name")


@pytest.mark.parametrize("name", GOOD)
def test_printable_names_pass_unchanged(name: str) -> None:
    """Zero-width joiners stay allowed: Persian words and emoji sequences need them."""
    assert check_name(name, "theme name") == name


def test_theme_and_unit_names_are_checked_where_they_are_made(engine: Engine) -> None:
    from cxchange.listen.service import ImportOptions
    from cxchange.org.tree import import_org_rows
    from cxchange.understand.themes.taxonomy import add_theme

    with pytest.raises(InputError, match="theme name"):
        add_theme(engine, "Queue\x00", keywords=["queue"])
    with pytest.raises(InputError, match="unit code") as caught:
        import_org_rows(engine, [{"code": "HQ"}, {"code": "R\x1b1", "parent": "HQ"}], [])
    assert caught.value.row == 3 and caught.value.column == "code"
    with pytest.raises(InputError, match="source name"):
        ImportOptions(source="survey\x00")
    assert add_theme(engine, "Queue", keywords=["queue"])["name"] == "Queue"
