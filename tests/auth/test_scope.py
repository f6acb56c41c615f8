"""UserScope on a small org tree (HQ → R1 → S1, S2; R2 → S3), on SQLite and PostgreSQL.

A scoped user asking for a unit outside their subtree gets ForbiddenError, never an empty answer; an
unscoped user passes through untouched; and whatever `--where` a scoped user sends, the feedback they
get back lies inside their units.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.core.errors import CxError, ForbiddenError, NotFoundError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.understand.explore import list_feedback

UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "R1", "name": "North", "parent": "HQ", "level": "region"},
    {"code": "S1", "name": "Ashby", "parent": "R1", "level": "store"},
    {"code": "S2", "name": "Barton", "parent": "R1", "level": "store"},
    {"code": "R2", "name": "South", "parent": "HQ", "level": "region"},
    {"code": "S3", "name": "Cley", "parent": "R2", "level": "store"},
]
CODES = [u["code"] for u in UNITS]
# Every unit and what lies beneath it (itself included).
SUBTREE = {
    "HQ": set(CODES),
    "R1": {"R1", "S1", "S2"},
    "S1": {"S1"},
    "S2": {"S2"},
    "R2": {"R2", "S3"},
    "S3": {"S3"},
}
ROWS_PER_UNIT = 2


def _feedback() -> list[dict[str, Any]]:
    base = datetime(2026, 3, 1, 12)
    rows = []
    for i, code in enumerate([c for c in CODES for _ in range(ROWS_PER_UNIT)] + [None]):
        rows.append(
            {
                "external_id": f"E{i}",
                "received_at": base + timedelta(hours=i),
                "nps": i % 11,
                "org_unit": code,
                "text": f"comment {i}",
                # an attribute whose *name* looks like a unit field, with unit codes as values
                "UNIT": "S1",
                "channel": "web" if i % 2 else "shop",
            }
        )
    return rows


@pytest.fixture
def org(engine: Engine) -> Engine:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    frame = pl.DataFrame(_feedback())
    maps = tuple(f"{c}={c}" for c in frame.columns if c != "UNIT")  # UNIT stays an attribute
    result = import_frame(engine, frame, ImportOptions(source="survey", kind="survey", map_options=maps))
    assert result.imported == len(CODES) * ROWS_PER_UNIT + 1
    return engine


def scope_of(engine: Engine, *units: str, role: str = "manager") -> UserScope:
    return UserScope.for_user(engine, {"id": 1, "email": "m@x.test", "role": role, "units": list(units)})


def rows_for(engine: Engine, scope: UserScope, where: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return list_feedback(engine, where=scope.where(engine, where), limit=1000)


# --- unscoped ---------------------------------------------------------------------------------------


def test_unscoped_users_pass_through(org: Engine) -> None:
    for scope in (UserScope.everything(), scope_of(org, role="viewer"), scope_of(org, "R1", role="admin")):
        assert not scope.scoped and scope.unit_codes is None
        assert scope.where(org, None) == ()
        assert scope.where(org, ["unit=R2", "channel=web"]) == ("unit=R2", "channel=web")
        assert scope.units(org, None) is None
        assert scope.units(org, "S3") == ["S3"]
        scope.check_unit(org, "S3")
        rows = [{"unit": c} for c in [*CODES, None, "nowhere"]]
        assert scope.filter_rows(rows, org) == rows
        assert scope.allows_unit_id(org, None)
    assert len(rows_for(org, UserScope.everything())) == len(CODES) * ROWS_PER_UNIT + 1


# --- scoped -----------------------------------------------------------------------------------------


def test_inside_the_subtree_is_allowed(org: Engine) -> None:
    scope = scope_of(org, "R1")
    assert scope.scoped and scope.unit_codes == ("R1",)
    for code in ("R1", "S1", "S2", "s1"):
        scope.check_unit(org, code)
        assert scope.units(org, code) == [code]
    assert scope.units(org, None) == ["R1"]
    assert scope.where(org, None) == ("unit=R1",)
    assert scope.where(org, ["channel=web"]) == ("channel=web", "unit=R1")
    assert scope.where(org, ["unit=S2"]) == ("unit=S2",)
    assert {r["unit"] for r in rows_for(org, scope)} == {"R1", "S1", "S2"}
    assert {r["unit"] for r in rows_for(org, scope, ("unit=S2",))} == {"S2"}


@pytest.mark.parametrize(
    ("mine", "outside"), [("R1", "R2"), ("R1", "S3"), ("R1", "HQ"), ("S1", "S2"), ("S1", "R1")]
)
def test_sibling_and_ancestor_are_forbidden(org: Engine, mine: str, outside: str) -> None:
    scope = scope_of(org, mine)
    with pytest.raises(ForbiddenError):
        scope.check_unit(org, outside)
    with pytest.raises(ForbiddenError):
        scope.units(org, outside)
    for field in ("unit", "org_unit", "org", " unit "):
        with pytest.raises(ForbiddenError):
            scope.where(org, [f"{field}={outside}"])
    with pytest.raises(ForbiddenError):  # one allowed unit does not open the door for another
        scope.where(org, [f"unit={mine}", f"unit={outside}"])


def test_unknown_unit_is_not_found_not_an_empty_answer(org: Engine) -> None:
    with pytest.raises(NotFoundError):
        scope_of(org, "R1").check_unit(org, "NOPE")


def test_several_units(org: Engine) -> None:
    scope = scope_of(org, "S1", "S3")
    assert scope.where(org, None) == ("unit=S1", "unit=S3")
    assert {r["unit"] for r in rows_for(org, scope)} == {"S1", "S3"}
    with pytest.raises(ForbiddenError):
        scope.check_unit(org, "S2")


def test_filter_rows_keeps_the_subtree_only(org: Engine) -> None:
    scope = scope_of(org, "R1")
    rows = [{"unit": c, "i": i} for i, c in enumerate([*CODES, None, "nowhere"])]
    assert [r["unit"] for r in scope.filter_rows(rows, org)] == ["R1", "S1", "S2"]
    grouped = [{"group": c} for c in CODES]
    assert [r["group"] for r in scope.filter_rows(grouped, org, key="group")] == ["R1", "S1", "S2"]
    assert scope.filter_rows([{"other": "S1"}], org) == []  # no unit: nobody's subtree


def test_allows_unit_id(org: Engine) -> None:
    from cxchange.org.tree import load_org_tree

    ids = {u.code: u.id for u in load_org_tree(org).units.values()}
    scope = scope_of(org, "R1")
    assert scope.allows_unit_id(org, ids["S2"]) and scope.allows_unit_id(org, ids["R1"])
    assert not scope.allows_unit_id(org, ids["S3"])
    assert not scope.allows_unit_id(org, ids["HQ"])
    assert not scope.allows_unit_id(org, None)
    assert not scope.allows_unit_id(org, 10_000)


def test_path_prefixes_are_not_confused(org: Engine) -> None:
    """A unit whose path is a string prefix of another's (ids 1 and 12…) is not its ancestor."""
    scope = scope_of(org, "R1")
    assert not scope.contains_path(scope._paths[0] + "0")
    assert scope.contains_path(scope._paths[0] + "/999")
    assert not scope.contains_path(None)


def test_a_field_in_another_case_is_an_attribute_not_a_unit_request(org: Engine) -> None:
    """`UNIT=S1` is the attribute UNIT for the feedback query: the user's units must still be added."""
    for mine in ("R1", "R2"):  # S1 inside (R1) was the leak: every row carries the attribute UNIT=S1
        scope = scope_of(org, mine)
        assert f"unit={mine}" in scope.where(org, ["UNIT=S1"])
        units = {r["unit"] for r in rows_for(org, scope, ("UNIT=S1",))}
        assert units == SUBTREE[mine]


# --- property: a scoped where never yields rows outside ---------------------------------------------

where_items = st.lists(
    st.one_of(
        st.builds(lambda f, c: f"{f}={c}",
                  st.sampled_from(["unit", "org_unit", "org", "UNIT", "Unit", " unit"]),
                  st.sampled_from(CODES)),
        st.sampled_from(["channel=web", "channel=shop", "source=survey", "source=other", "UNIT=S1"]),
    ),
    max_size=4,
)  # fmt: skip


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(units=st.sets(st.sampled_from(CODES), min_size=1, max_size=3), where=where_items)
def test_scoped_where_never_yields_rows_outside(org: Engine, units: set[str], where: list[str]) -> None:
    scope = scope_of(org, *sorted(units))
    allowed = set().union(*(SUBTREE[u] for u in units))
    try:
        rows = rows_for(org, scope, tuple(where))
    except ForbiddenError:
        pairs = (i.partition("=") for i in where)
        requested = {v for k, _, v in pairs if k.strip() in ("unit", "org_unit", "org")}
        assert not requested <= allowed  # refused only when something outside was asked for
        return
    except CxError:
        return  # e.g. an input the query refuses: no data either way
    assert {r["unit"] for r in rows} <= allowed
    if not where:  # nothing asked: exactly the user's subtree (and no unit-less rows)
        assert len(rows) == len(allowed) * ROWS_PER_UNIT


def test_covers_touches_and_allows_code(org: Engine) -> None:
    """The initiative rule: `touches` (seen at all) is wider than `covers` (its comparison shown)."""
    scope = scope_of(org, "R1")
    assert scope.allows_code(org, "S2") and not scope.allows_code(org, "S3")
    assert not scope.allows_code(org, None) and UserScope.everything().allows_code(org, None)
    assert scope.covers(org, ["R1", "S1"]) and scope.covers(org, [])
    assert not scope.covers(org, ["S1", "S3"]) and not scope.covers(org, ["HQ"])
    assert scope.touches(org, ["S1", "S3"]) and scope.touches(org, ["HQ"])  # HQ lies above R1
    assert not scope.touches(org, ["R2", "S3"])
    assert scope_of(org, "S1").touches(org, ["R1"]) and not scope_of(org, "S1").covers(org, ["R1"])


def test_one_unit(org: Engine) -> None:
    assert UserScope.everything().one_unit(org, None) is None
    assert UserScope.everything().one_unit(org, "R2") == "R2"
    assert scope_of(org, "R1").one_unit(org, None) == "R1"
    assert scope_of(org, "R1").one_unit(org, "S1") == "S1"
    with pytest.raises(ForbiddenError):
        scope_of(org, "R1").one_unit(org, "S3")
    with pytest.raises(CxError, match="choose one of yours"):
        scope_of(org, "S1", "S3").one_unit(org, None)
