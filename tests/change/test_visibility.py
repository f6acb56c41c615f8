"""Who sees which initiative, on SQLite and PostgreSQL: `change.service.visible_initiatives`,
`initiative_for` and `comparison_visible`, the one rule behind the API, the pages and the report; and
`sustain.cases.case_for` for cases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.change.service import (
    comparison_note,
    comparison_visible,
    create,
    initiative_for,
    visible_initiatives,
)
from cxchange.core.errors import ForbiddenError, NotFoundError


def _manager(engine: Engine, *units: str) -> UserScope:
    return UserScope.for_user(engine, {"id": 1, "email": "m@x.test", "role": "manager", "units": list(units)})


def _make(engine: Engine, person: str, name: str, **units: Any) -> int:
    return int(create(engine, name=name, framework="adkar", sponsor=person, owner=person,
                      start="2026-01-01", **units)["id"])  # fmt: skip


def test_who_sees_which_initiative(demo: Engine, people: dict[str, Any]) -> None:
    p = people["exec"]
    south = _make(demo, p, "South only", units=["R-SOUTH"])
    pilot = _make(
        demo, p, "North pilot", units=["R-NORTH"], pilot_units=["R-NORTH"], control_units=["R-SOUTH"]
    )
    control = _make(
        demo, p, "South pilot", units=["R-SOUTH"], pilot_units=["R-SOUTH"], control_units=["R-NORTH"]
    )
    store = _make(demo, p, "One store", units=["S-NOR-01"])
    company = _make(demo, p, "Everyone", units=["HQ"])
    north, everyone = _manager(demo, "R-NORTH"), UserScope.everything()

    seen = {d["id"] for d in visible_initiatives(demo, north)}
    # a control unit concerns the manager as much as a pilot unit; a store beneath and HQ above, too
    assert seen == {pilot, control, store, company}
    assert {d["id"] for d in visible_initiatives(demo, everyone)} >= {south, pilot, control, store, company}
    assert {d["id"] for d in visible_initiatives(demo, _manager(demo, "S-NOR-01"))} == {
        pilot,
        control,
        store,
        company,
    }

    with pytest.raises(ForbiddenError):
        initiative_for(demo, north, south)
    with pytest.raises(NotFoundError):
        initiative_for(demo, north, 999_999)
    assert initiative_for(demo, north, "North pilot")["id"] == pilot  # by name, as the CLI takes it

    # the comparison is shown only when every compared unit is theirs
    assert comparison_visible(demo, north, initiative_for(demo, north, store))
    for other in (pilot, control, company):
        detail = initiative_for(demo, north, other)
        assert not comparison_visible(demo, north, detail)
        assert comparison_visible(demo, everyone, detail)
    note = comparison_note(initiative_for(demo, north, pilot))
    assert "R-NORTH, R-SOUTH" in note and "not shown" in note


def test_case_for(demo: Engine) -> None:
    from sqlalchemy import select

    from cxchange.listen.models import Feedback, ImportBatch
    from cxchange.org.models import OrgUnit
    from cxchange.sustain.cases import CaseRuleIn, add_rule, case_for, cases_for_batch
    from cxchange.sustain.models import Case

    add_rule(demo, CaseRuleIn(kind="nps", max=3, name="detractors", within="3650"))  # every demo row
    with demo.connect() as conn:
        batches = list(conn.scalars(select(ImportBatch.id)))
    for b in batches:
        cases_for_batch(demo, b)
    with demo.connect() as conn:
        rows = conn.execute(
            select(Case.id, OrgUnit.code).join(Feedback, Feedback.id == Case.feedback_id)
            .join(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
        ).all()  # fmt: skip
    mine = next(cid for cid, code in rows if code.startswith("S-NOR"))
    theirs = next(cid for cid, code in rows if code.startswith("S-SOU"))
    north = _manager(demo, "R-NORTH")
    assert case_for(demo, north, mine)["id"] == mine
    with pytest.raises(ForbiddenError):
        case_for(demo, north, theirs)
    assert case_for(demo, UserScope.everything(), theirs)["id"] == theirs
    with pytest.raises(NotFoundError):
        case_for(demo, north, 999_999)
