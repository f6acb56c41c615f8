"""Understand on the demo company: what was planted is what is found."""

from __future__ import annotations

from sqlalchemy import Engine

from cxchange.demo import TRUTH
from cxchange.understand.service import emerging, theme_stats

LOGIN_WORDS = ("log in", "login", "logged", "locked out", "password", "update", "crash")


def test_the_planted_emerging_issue_comes_first_and_nothing_else_is_flagged(demo_engine: Engine) -> None:
    found = emerging(demo_engine)
    assert found, "the app-login issue planted in the last 20 days should be flagged"
    for item in found:  # every flag is about the planted issue
        hits = sum(any(w in e.lower() for w in LOGIN_WORDS) for e in item["examples"])
        assert hits >= len(item["examples"]) / 2, item
    assert TRUTH["emerging"]["theme"] == "app_login"


def test_waiting_time_drags_nps_down_most(demo_engine: Engine) -> None:
    rows = {r["name"]: r for r in theme_stats(demo_engine, n_boot=500)}
    waiting = rows["Waiting time"]
    assert waiting["impact"] == min(r["impact"] for r in rows.values() if r["impact"] is not None)
    assert waiting["ci_high"] < 0 and waiting["sentiment"] < 0
    assert rows["Friendliness"]["impact"] > 0  # mostly praise in the demo
