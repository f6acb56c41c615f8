"""Root causes recorded on closed-loop cases count as evidence when ranking opportunities."""

from __future__ import annotations

from sqlalchemy import Engine

from cxchange.decide.service import opportunities
from cxchange.demo.generator import generate
from cxchange.demo.load import demo_clock, load_demo
from cxchange.sustain import cases


def test_case_root_causes_feed_the_ranking(engine: Engine) -> None:
    loaded = load_demo(engine, generate(rows=1_500, seed=11))  # imports (opening cases) and analyses
    assert sum(b["cases_opened"] for b in loaded["batches"]) > 0, "the demo's last two weeks open cases"
    # a rule reaching back over the whole history, so there are cases enough to give root causes to
    cases.add_rule(engine, cases.CaseRuleIn(kind="nps", max=6, within="730d", name="every detractor"))
    cases.cases_for_batch(engine, loaded["batches"][0]["batch_id"], now=demo_clock())
    open_cases = cases.list_cases(engine)
    assert len(open_cases) >= 3
    for case in open_cases[:3]:
        cases.update(
            engine, case["id"], cases.CasePatch(status="resolved", root_cause="Billing", note="wrong tariff")
        )
    result = opportunities(engine, draws=100)
    rows = {r["theme"]: r for r in result["opportunities"]}
    assert rows["Billing"]["root_causes"] == 3
    assert "root_causes" in result["formula"]
    baseline = opportunities(engine, draws=100, weights={"nps_gain": 1.0})
    billing_rank = [r["theme"] for r in result["opportunities"]].index("Billing")
    assert billing_rank <= [r["theme"] for r in baseline["opportunities"]].index("Billing")
