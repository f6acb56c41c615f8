"""Org units and people from CSV: upsert, tree, roll-up helpers, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError
from cxchange.listen.org import import_org
from cxchange.org.models import OrgUnit, Person
from cxchange.org.tree import load_org_tree, org_as_nested

UNITS = "code,name,parent\nHQ,Acme,\nR1,North,HQ\nS1,Leeds,R1\nS2,York,R1\n"
PEOPLE = (
    "name,email,unit,role\nAna Diaz,ana@acme.test,S1,store_manager\nBo Li,BO@acme.test,R1,regional_manager\n"
)


def _files(tmp_path: Path, units: str = UNITS, people: str = PEOPLE) -> tuple[Path, Path]:
    u, p = tmp_path / "units.csv", tmp_path / "people.csv"
    u.write_text(units)
    p.write_text(people)
    return u, p


def test_import_twice_updates_and_never_duplicates(engine: Engine, tmp_path: Path) -> None:
    units, people = _files(tmp_path)
    assert import_org(engine, units, people) == {"units": 4, "people": 2, "feedback_linked": 0}
    units, people = _files(
        tmp_path, UNITS.replace("York", "York Minster"), PEOPLE.replace("Bo Li", "Bo Li-Chen")
    )
    import_org(engine, units, people)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OrgUnit)).scalar() == 4
        assert conn.execute(select(func.count()).select_from(Person)).scalar() == 2
        assert (
            conn.execute(select(Person.name).where(Person.email == "bo@acme.test")).scalar() == "Bo Li-Chen"
        )
    tree = load_org_tree(engine)
    assert tree.by_code("S2").name == "York Minster" and tree.by_code("S2").path == "HQ/R1/S2"
    assert {tree.units[i].code for i in tree.subtree_ids("R1")} == {"R1", "S1", "S2"}
    nested = org_as_nested(engine)
    assert nested[0]["code"] == "HQ" and nested[0]["children"][0]["children"][0]["people"] == 1


@pytest.mark.parametrize(
    ("units", "people", "needle"),
    [
        ("code,name\nHQ,Acme\n", None, "missing column(s) parent"),
        ("code,name,parent\nHQ,Acme,\nS1,Leeds,R9\n", None, "row 3, column 'parent'"),
        ("code,name,parent\nA,a,B\nB,b,A\n", None, "cycle"),
        (UNITS, "name,email,unit,role\nX,not-an-email,S1,agent\n", "column 'email'"),
        (UNITS, "name,email,unit,role\nX,x@acme.test,S9,agent\n", "column 'unit'"),
    ],
)
def test_bad_org_files(engine: Engine, tmp_path: Path, units: str, people: str | None, needle: str) -> None:
    u, p = _files(tmp_path, units, people or "name,email,unit,role\n")
    with pytest.raises(InputError) as err:
        import_org(engine, u, p if people else None)
    assert needle in str(err.value)


def test_feedback_imported_before_its_units_is_linked_when_they_come(engine: Engine, tmp_path: Path) -> None:
    """Restaurant reviews imported before the org: each kept its unit value in the attribute org_unit;
    importing the units afterwards links them (by code or unique name), and scores by unit see them."""
    import polars as pl

    from cxchange.listen.service import ImportOptions, import_frame
    from cxchange.measure.service import ScoreQuery, scores

    frame = pl.DataFrame(
        {"id": [str(i) for i in range(6)], "nps": ["9", "10", "3", "8", "9", "6"],
         "unit": ["S1", "leeds", "York", "S2", "Nowhere", None]}
    )  # fmt: skip
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "org_unit=unit"))
    assert import_frame(engine, frame, opts).imported == 6
    assert [r["group"] for r in scores(engine, ScoreQuery(metric="nps", by=("unit",)))] == [{"unit": None}]
    units, _ = _files(tmp_path)
    assert import_org(engine, units)["feedback_linked"] == 4  # "Nowhere" stays unlinked, None had none
    by_unit = {r["group"]["unit"]: r["n"] for r in scores(engine, ScoreQuery(metric="nps", by=("unit",)))}
    assert by_unit == {"Leeds": 2, "York": 2, None: 2}
    assert import_org(engine, units)["feedback_linked"] == 0  # nothing left to link


def test_feedback_is_linked_by_another_kept_column(engine: Engine, tmp_path: Path) -> None:
    """An export imported without an org_unit mapping keeps the unit in its own column (Skytrax's
    airline_name); `link_by_attribute` links it by that column, names the values that match no unit,
    links nothing twice, and refuses a column no feedback has."""
    import polars as pl

    from cxchange.listen.org import link_by_attribute
    from cxchange.listen.service import ImportOptions, import_frame
    from cxchange.measure.service import ScoreQuery, scores

    frame = pl.DataFrame(
        {"id": [str(i) for i in range(6)], "nps": ["9", "10", "3", "8", "9", "6"],
         "airline_name": ["S1", "leeds", "York", "York", "Nowhere", None]}
    )  # fmt: skip
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    assert import_frame(engine, frame, opts).imported == 6
    units, _ = _files(tmp_path)
    assert import_org(engine, units)["feedback_linked"] == 0  # no org_unit value was kept
    out = link_by_attribute(engine, "airline_name")
    assert out["feedback_linked"] == 4
    assert out["unknown_units"] == [{"value": "Nowhere", "rows": 1}] and out["unknown_unit_rows"] == 1
    by_unit = {r["group"]["unit"]: r["n"] for r in scores(engine, ScoreQuery(metric="nps", by=("unit",)))}
    assert by_unit == {"Leeds": 2, "York": 2, None: 2}
    assert link_by_attribute(engine, "airline_name")["feedback_linked"] == 0  # nothing left to link
    with pytest.raises(InputError, match="no feedback has the attribute 'stay'"):
        link_by_attribute(engine, "stay")
