"""Closed-loop cases: rules, assignment up the org tree, idempotent hooks, working a case, stats,
root causes and "you said, we did". Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, update

from cxchange.core.errors import InputError, NotFoundError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.sustain import case_stats, cases, hooks
from cxchange.sustain.models import Case

UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "R1", "name": "North", "parent": "HQ", "level": "region"},
    {"code": "S1", "name": "Ashby", "parent": "R1", "level": "store"},
    {"code": "S2", "name": "Barton", "parent": "R1", "level": "store"},
]
PEOPLE = [
    {"name": "Erin Exec", "email": "exec@x.test", "unit": "HQ", "role": "exec"},
    {"name": "Rita Region", "email": "rm@x.test", "unit": "R1", "role": "regional_manager"},
    {"name": "Sid Store", "email": "sm1@x.test", "unit": "S1", "role": "store manager"},
    {"name": "Daniel Brown", "email": "dan@x.test", "unit": "S1", "role": "agent"},
    {"name": "Priya Shah", "email": "priya@x.test", "unit": "S2", "role": "agent"},
]


def load(engine: Engine, rows: list[dict[str, Any]], source: str = "survey", close_loop: bool = False) -> int:
    """Import rows; the hooks are called explicitly by the tests unless `close_loop`."""
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    options = ImportOptions(source=source, kind="survey", map_options=maps, close_loop=close_loop)
    result = import_frame(engine, frame, options)
    assert result.batch_id is not None
    return result.batch_id


NOW = datetime(2026, 3, 10, 9)  # the clock the hooks judge "recent" by: feedback_rows is recent on it


def feedback_rows(base: datetime = datetime(2026, 3, 1, 12)) -> list[dict[str, Any]]:
    specs = [  # (nps, unit, text)
        (2, "S1", "The queue was endless and nobody helped"),
        (9, "S1", "Daniel was brilliant"),
        (6, "S2", "The queue was terrible, I gave up"),
        (10, "S2", "Lovely shop"),
        (0, "S1", "Billing error again"),
        (8, "S2", "The queue was long but fine"),
    ]
    return [
        {"external_id": f"E{i}", "received_at": base + timedelta(days=i), "nps": n, "org_unit": u,
         "text": t, "customer_id": f"C{i % 4}"}
        for i, (n, u, t) in enumerate(specs)
    ]  # fmt: skip


@pytest.fixture
def world(engine: Engine) -> Engine:
    import_org_rows(engine, [dict(u) for u in UNITS], [dict(p) for p in PEOPLE])
    return engine


def test_after_import_opens_cases_assigned_up_the_tree_idempotently(world: Engine) -> None:
    batch = load(world, feedback_rows())
    out = hooks.after_import(world, batch, deliver="pending", now=NOW)
    assert out["cases_opened"] == 3 and out["errors"] == []
    assert hooks.after_import(world, batch, deliver="pending", now=NOW)["cases_opened"] == 0  # idempotent
    rows = cases.list_cases(world)
    by_unit = {r["unit"]: r["assignee"] for r in rows}
    assert by_unit == {"S1": "sm1@x.test", "S2": "rm@x.test"}  # S2 has no manager: its region's
    # opened on the hooks' clock, so due 72 hours after it (and overdue on today's)
    assert all(r["status"] == "open" and r["due_at"] == NOW + timedelta(hours=72) for r in rows)
    assert all(r["overdue"] for r in rows)
    assert {r["nps"] for r in rows} == {0, 2, 6}
    assert len(cases.list_cases(world, unit="S1")) == 2
    assert len(cases.list_cases(world, unit="R1")) == 3
    with pytest.raises(NotFoundError):
        cases.list_cases(world, unit="NOPE")
    with pytest.raises(InputError, match="--status"):
        cases.list_cases(world, status="closed")
    assert hooks.after_import(world, None, now=NOW)["cases_opened"] == 0


def test_rules_source_filter_and_a_broken_rule_never_stop_the_import(world: Engine) -> None:
    rules = cases.list_rules(world)
    assert [r["kind"] for r in rules] == ["nps_max", "csat_max"]
    assert rules[0]["condition"] == "nps <= 6"
    assert cases.parse_sla("3d") == 72 and cases.parse_sla("48h") == 48 and cases.parse_sla("1w") == 168
    with pytest.raises(InputError, match="--sla"):
        cases.parse_sla("soon")
    with pytest.raises(InputError, match="between 0 and 10"):
        cases.add_rule(world, cases.CaseRuleIn(kind="nps", max=11))
    with pytest.raises(InputError, match="needs --max"):
        cases.add_rule(world, cases.CaseRuleIn(kind="csat"))
    with pytest.raises(InputError, match="--kind"):
        cases.add_rule(world, cases.CaseRuleIn(kind="mood", max=1))
    with pytest.raises(NotFoundError, match="no theme"):
        cases.add_rule(world, cases.CaseRuleIn(kind="theme", theme="Nope"))
    r = cases.add_rule(world, cases.CaseRuleIn(kind="ces", max=2, sla="2d", name="hard work"))
    assert r["sla_hours"] == 48 and r["condition"] == "ces <= 2"
    with pytest.raises(InputError, match="exists already"):
        cases.add_rule(world, cases.CaseRuleIn(kind="ces", max=3, name="hard work"))
    happy = [dict(r, nps=9, rating=1) for r in feedback_rows()]
    survey = load(world, happy)
    reviews = load(world, [dict(r, external_id="R" + r["external_id"]) for r in happy], source="reviews")
    cases.add_rule(world, cases.CaseRuleIn(kind="rating", max=2, source="reviews", name="low rating"))
    # a rule that cannot run (an unknown kind stored by hand) is reported; the others still work
    with world.begin() as conn:
        conn.execute(
            cases.CaseRule.__table__.insert().values(
                name="bad", kind="mood_max", value=1, sla_hours=1, active=True
            )
        )
    out = hooks.after_import(world, survey, deliver="pending", now=NOW)
    assert out["cases_opened"] == 0 and any("bad" in e for e in out["errors"])
    assert hooks.after_import(world, reviews, deliver="pending", now=NOW)["cases_opened"] == 6
    assert {r["rule"] for r in cases.list_cases(world)} == {"low rating"}


def test_working_a_case_and_stats(world: Engine) -> None:
    # last week's feedback on the real clock: cases are worked (and resolved within SLA) today
    recent = feedback_rows(base=datetime.utcnow() - timedelta(days=7))
    assert hooks.after_import(world, load(world, recent), deliver="pending")["cases_opened"] == 3
    from cxchange.understand.themes.taxonomy import add_theme

    add_theme(world, "Queues", keywords=["queue"])
    first, second, third = (r["id"] for r in cases.list_cases(world))
    out = cases.assign(world, first, "DAN@x.test")
    assert out["assignee"] == "dan@x.test"
    with pytest.raises(NotFoundError):
        cases.assign(world, first, "ghost@x.test")
    with pytest.raises(NotFoundError):
        cases.update(world, 999_999, cases.CasePatch(status="resolved"))
    with pytest.raises(InputError, match="nothing to update"):
        cases.update(world, first, cases.CasePatch())
    out = cases.update(world, first, cases.CasePatch(status="contacted", note="called back", by="dan@x.test"))
    assert out["status"] == "contacted" and out["contacted_at"] is not None
    out = cases.update(world, first, cases.CasePatch(status="resolved", root_cause="Queues"))
    assert out["status"] == "resolved" and out["root_cause"] == "Queues"
    assert [n.get("status") for n in out["notes"] if "status" in n] == ["contacted", "resolved"]
    cases.update(world, second, cases.CasePatch(status="resolved", root_cause="queues"))
    # the third is overdue: move its due date into the past
    with world.begin() as conn:
        conn.execute(
            update(Case).where(Case.id == third).values(due_at=datetime.utcnow() - timedelta(hours=1))
        )
    assert [r["id"] for r in cases.list_cases(world, overdue=True)] == [third]
    overall = case_stats.stats(world)[0]
    assert overall["cases"] == 3 and overall["open"] == 1 and overall["resolved"] == 2
    assert overall["overdue"] == 1
    assert overall["pct_within_sla"] == 100.0
    assert overall["median_hours_to_close"] is not None and overall["median_hours_to_close"] < 1
    assert overall["root_causes"] == {"Queues": 2}
    per_unit = {r["group"]["unit"]: r for r in case_stats.stats(world, by="unit")}
    assert set(per_unit) == {"S1", "S2"} and per_unit["S1"]["cases"] == 2
    assert cases.root_cause_counts(world) == {"Queues": 2}
    with pytest.raises(InputError):
        case_stats.stats(world, by="region")
    # reopening clears the resolution
    assert cases.update(world, first, cases.CasePatch(status="open"))["resolved_at"] is None


def test_theme_negative_cases_after_analysis(world: Engine) -> None:
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    add_theme(world, "Queues", keywords=["queue"])
    cases.add_rule(world, cases.CaseRuleIn(kind="theme", theme="Queues", sla="1d"))
    rows = [dict(r, nps=9) for r in feedback_rows()]  # nobody is a detractor: only the theme rule
    yesterday = datetime.utcnow() - timedelta(days=1)  # recent on the real clock analyze judges by
    rows.append(dict(rows[0], external_id="NEW", received_at=yesterday, text="The queue was awful today"))
    batch = load(world, rows)
    assert hooks.after_import(world, batch, deliver="pending", now=NOW)["cases_opened"] == 0
    result = analyze(world, backend="fast")  # analyze calls hooks.after_analyze itself, at the real time
    assert result["cases_opened"] == 1  # only yesterday's comment: March is history today
    assert [r["text"] for r in cases.list_cases(world)] == ["The queue was awful today"]
    run = result["run"]
    assert hooks.after_analyze(world, run, now=NOW)["cases_opened"] == 2  # on March's clock
    texts = {r["text"] for r in cases.list_cases(world)}
    # negative mentions only; "long but fine" is not a complaint about the queue
    assert "The queue was endless and nobody helped" in texts
    assert "The queue was terrible, I gave up" in texts
    assert all("queue" in t.lower() for t in texts) and len(texts) == 3
    assert hooks.after_analyze(world, run, now=NOW)["cases_opened"] == 0  # idempotent
    assert hooks.after_analyze(world, None, now=NOW)["cases_opened"] == 0


def test_you_said_we_did(world: Engine) -> None:
    from cxchange.change.service import create
    from cxchange.change.service import update as update_initiative
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    add_theme(world, "Queues", keywords=["queue"])
    load(world, feedback_rows())
    analyze(world, backend="fast")
    ini = create(
        world, name="Queue busting", framework="kotter", sponsor="exec@x.test", owner="rm@x.test",
        units="S1", start="2026-01-01", theme="Queues",
    )  # fmt: skip
    with pytest.raises(InputError, match="not done"):
        cases.you_said_we_did(world, ini["id"])
    update_initiative(world, ini["id"], status="done")
    out = cases.you_said_we_did(world, "Queue busting")
    assert [r["text"] for r in out["rows"]] == ["The queue was endless and nobody helped"]  # S1 only
    assert out["rows"][0]["unit"] == "S1" and out["rows"][0]["customer_id"] == "C0"
    assert out["customers"] == 1
    update_initiative(world, ini["id"], units="R1")
    out = cases.you_said_we_did(world, ini["id"])
    assert len(out["rows"]) == 3  # the region covers both stores
    with pytest.raises(NotFoundError):
        cases.you_said_we_did(world, 424242)
    with world.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Case)) == 0  # reading made no cases


def test_an_import_opens_cases_for_recent_feedback_and_says_so(world: Engine) -> None:
    """Through the import itself (the real clock): last week's detractors open cases, a backfill of
    last year's opens none, and the import's result counts both."""
    week_ago = datetime.utcnow() - timedelta(days=7)
    recent = import_rows(world, feedback_rows(base=week_ago))
    assert (recent.cases_opened, recent.alerts_evaluated, recent.alerts_raised) == (3, 0, 0)  # NPS 2, 6, 0
    last_year = feedback_rows(base=week_ago - timedelta(days=365))
    history = [dict(r, external_id="H" + r["external_id"]) for r in last_year]
    assert import_rows(world, history).cases_opened == 0
    assert import_rows(world, history).as_dict()["cases_opened"] == 0  # a re-import: all duplicates
    with world.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Case)) == 3


def test_the_window_is_per_rule_and_undated_feedback_counts_from_its_import(world: Engine) -> None:
    rows = feedback_rows()  # 1 to 6 March; NOW is 10 March
    old = cases.add_rule(world, cases.CaseRuleIn(kind="nps", max=6, name="slow survey", within="30d"))
    assert old["within_days"] == 30 and cases.list_rules(world)[0]["within_days"] == 14
    with pytest.raises(InputError, match="--within"):
        cases.add_rule(world, cases.CaseRuleIn(kind="nps", max=6, within="soon"))
    batch = load(world, rows)
    # on 17 March the 14-day default rule reaches back to 3 March (NPS 6 and 0); the 30-day rule,
    # second in line, takes 1 March's NPS 2
    out = hooks.after_import(world, batch, deliver="pending", now=NOW + timedelta(days=7))
    assert out["cases_opened"] == 3
    by_rule = Counter(r["rule"] for r in cases.list_cases(world))
    assert by_rule == {"NPS detractor (0-6)": 2, "slow survey": 1}
    undated = [dict(r, external_id="U" + r["external_id"]) for r in rows]
    frame = pl.DataFrame(undated).drop("received_at")
    maps = tuple(f"{c}={c}" for c in frame.columns)
    options = ImportOptions(source="survey", kind="survey", map_options=maps, close_loop=False)
    res = import_frame(world, frame, options)
    assert res.batch_id is not None and res.imported == 6
    # imported just now: history a year on, recent on the real clock
    next_year = datetime.utcnow() + timedelta(days=365)
    assert hooks.after_import(world, res.batch_id, deliver="pending", now=next_year)["cases_opened"] == 0
    assert hooks.after_import(world, res.batch_id, deliver="pending")["cases_opened"] == 3


def import_rows(engine: Engine, rows: list[dict[str, Any]]) -> Any:
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    return import_frame(engine, frame, ImportOptions(source="survey", kind="survey", map_options=maps))


def test_the_api_bodies_are_the_services_values() -> None:
    """A case update's and a new case rule's fields are declared once: the API's bodies are the service's
    values (the page and the commands build the same), so a field added reaches every interface."""
    import dataclasses
    import typing

    from cxchange.sustain import api_loop

    assert typing.get_type_hints(api_loop.cases_update)["body"] is cases.CasePatch
    assert typing.get_type_hints(api_loop.case_rule_add)["body"] is cases.CaseRuleIn
    assert cases.CaseRuleIn(kind="nps").within == f"{cases.DEFAULT_WITHIN_DAYS}d"  # the default rules' window
    assert [f.name for f in dataclasses.fields(cases.CasePatch)] == ["status", "note", "root_cause", "by"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cases.CasePatch().status = "open"  # type: ignore[misc]
