"""A store with ratings on 1-5 and 1-10 (two sources), on SQLite and PostgreSQL: every surface either
splits by scale or refuses with one line; none averages the two scales (measure/mixed.py)."""

from __future__ import annotations

import re

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.decide.key_drivers import stored_drivers
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.measure.compare import compare
from cxchange.measure.mixed import MixedScalesError
from cxchange.measure.service import ScoreQuery, scores, scores_in_scope
from cxchange.testing import signed_in_client
from cxchange.understand.service import theme_stats

MAP = ("rating=score", "text=comment", "received_at=date")


def _frame(prefix: str, stars: list[int]) -> pl.DataFrame:
    n = len(stars)
    return pl.DataFrame({
        "comment": [f"{prefix} visit {i}" for i in range(n)],
        "score": [str(s) for s in stars],
        "date": [f"2026-05-{1 + i % 28:02d}" for i in range(n)],
    })  # fmt: skip


def _load(engine: Engine) -> None:
    import_frame(engine, _frame("hotel", [4, 5, 3, 4] * 10), ImportOptions(source="hotels", map_options=MAP))
    airline = _frame("flight", [8, 9, 10, 6] * 10)
    import_frame(engine, airline, ImportOptions(source="airline", map_options=MAP, rating_scale=10))


def test_scores_give_a_row_per_scale_and_compare_refuses(engine: Engine) -> None:
    _load(engine)
    rows = scores(engine, ScoreQuery(metric="rating"))
    assert [(r["group"], r["n"], r["score"]) for r in rows] == [
        ({"scale": "1-5"}, 40, 4.0),
        ({"scale": "1-10"}, 40, 8.25),
    ]
    assert rows[0]["ci_high"] <= 5.0  # each scale's interval on its own scale
    monthly = scores_in_scope(engine, ScoreQuery(metric="rating", by=("month",)))
    assert [r["group"] for r in monthly] == [
        {"month": "2026-05", "scale": "1-5"},
        {"month": "2026-05", "scale": "1-10"},
    ]
    [hotels] = scores(engine, ScoreQuery(metric="rating", where=("source=hotels",)))
    assert hotels["group"] == {} and hotels["score"] == 4.0
    with pytest.raises(MixedScalesError, match=r"2 scales: 1-5 \(hotels: 40\); 1-10 \(airline: 40\)"):
        compare(engine, ScoreQuery(metric="rating", by=("month",)))
    with pytest.raises(MixedScalesError, match="compare within one scale"):  # the rest of each is the other
        compare(engine, ScoreQuery(metric="rating", by=("source",)))


def test_impact_and_drivers_on_two_scales_are_refused_and_work_on_one(engine: Engine) -> None:
    _load(engine)
    with pytest.raises(MixedScalesError, match="--where source=hotels"):
        theme_stats(engine, metric="rating")
    with pytest.raises(MixedScalesError):
        stored_drivers(engine, target="rating")
    assert theme_stats(engine, metric="rating", where=["source=airline"]) == []  # not analysed, not refused


def test_a_source_keeps_its_scale(engine: Engine) -> None:
    _load(engine)
    more = ImportOptions(source="hotels", map_options=MAP, rating_scale=10)
    with pytest.raises(InputError, match="source 'hotels' holds ratings on 1-5; this file is declared 1-10"):
        import_frame(engine, _frame("more", [9, 10]), more)
    kept = import_frame(engine, _frame("more", [2, 3]), ImportOptions(source="airline", map_options=MAP))
    [read] = kept.score_scales
    assert (read["field"], read["scale"], read["origin"]) == ("rating", "1-10", "source")


def test_the_overview_shows_a_card_per_scale(engine: Engine, db_url: str) -> None:
    _load(engine)
    page = signed_in_client(db_url, engine).get("/").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Mean rating (1-5) 4.0 " in text and "Mean rating (1-10) 8.25 " in text
    assert "Not computed: rating answers in scope (all feedback) are on 2 scales" in text


def test_a_ces_column_without_an_answer_above_five_is_said_to_be_maybe_another_scale(
    sqlite_engine: Engine,
) -> None:
    effort = pl.DataFrame(
        {"comment": [f"call {i}" for i in range(40)], "effort": [str(1 + i % 5) for i in range(40)]}
    )
    got = import_frame(
        sqlite_engine, effort, ImportOptions(source="calls", map_options=("ces=effort", "text=comment"))
    )
    [ces] = got.score_scales
    assert ces["field"] == "ces" and "no answer above 5 in 40; CES here is 1-7" in ces["note"]
    seven = effort.with_columns(pl.Series("effort", [str(1 + i % 7) for i in range(40)]))
    got = import_frame(
        sqlite_engine, seven, ImportOptions(source="calls7", map_options=("ces=effort", "text=comment"))
    )
    assert got.score_scales == []


def test_an_initiative_and_a_scorecard_over_two_scales_are_refused(sqlite_engine: Engine) -> None:
    from cxchange.change.service import create
    from cxchange.org.tree import import_org_rows
    from cxchange.sustain.outcomes import outcomes
    from cxchange.sustain.scorecard import scorecard

    units = [{"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
             {"code": "S1", "name": "Hotel", "parent": "HQ", "level": "site"},
             {"code": "S2", "name": "Airport", "parent": "HQ", "level": "site"}]  # fmt: skip
    import_org_rows(
        sqlite_engine, units, [{"name": "Erin", "email": "e@x.test", "unit": "HQ", "role": "exec"}]
    )
    for source, unit, stars, scale in (("hotels", "S1", [3, 4, 5], None), ("airline", "S2", [6, 8, 9], 10)):
        frame = pl.DataFrame({
            "comment": [f"{source} {i}" for i in range(90)], "score": [str(stars[i % 3]) for i in range(90)],
            "date": [f"2026-{3 + i % 3:02d}-{1 + i % 28:02d}" for i in range(90)], "site": [unit] * 90,
        })  # fmt: skip
        options = ImportOptions(source=source, map_options=(*MAP, "org_unit=site"), rating_scale=scale)
        import_frame(sqlite_engine, frame, options)
    who = {"sponsor": "e@x.test", "owner": "e@x.test"}
    ini = create(sqlite_engine, name="Rooms", framework="adkar", units=["S1", "S2"], pilot_units=["S1"],
                 control_units=["S2"], start="2026-04-15", **who)  # fmt: skip
    with pytest.raises(MixedScalesError, match="measure the initiative on another metric"):
        outcomes(sqlite_engine, ini["id"], metric="rating")
    with pytest.raises(MixedScalesError, match="a scorecard is on one scale"):
        scorecard(sqlite_engine, metric="rating", by="org:site")


def _two_quarters(engine: Engine) -> None:
    """Two sites; 1-5 ratings in 2026-Q1 only, 1-10 ratings in 2026-Q2 only (different sources)."""
    from cxchange.org.tree import import_org_rows

    units = [{"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
             {"code": "S1", "name": "Hotel", "parent": "HQ", "level": "site"},
             {"code": "S2", "name": "Airport", "parent": "HQ", "level": "site"}]  # fmt: skip
    import_org_rows(engine, units, [])
    for source, month, stars, scale in (("hotels", "02", [3, 4, 5], None), ("airline", "05", [6, 8, 9], 10)):
        frame = pl.DataFrame({
            "comment": [f"{source} {i}" for i in range(60)], "score": [str(stars[i % 3]) for i in range(60)],
            "date": [f"2026-{month}-{1 + i % 28:02d}" for i in range(60)], "site": ["S1", "S2"] * 30,
        })  # fmt: skip
        options = ImportOptions(source=source, map_options=(*MAP, "org_unit=site"), rating_scale=scale)
        import_frame(engine, frame, options)


def test_a_report_whose_previous_period_is_on_another_scale_is_built(sqlite_engine: Engine) -> None:
    """The period holds 1-10 ratings only, the period before 1-5 only: the units' changes span both."""
    from cxchange.report.build import build_report
    from cxchange.report.render import render_html

    _two_quarters(sqlite_engine)
    data = build_report(sqlite_engine, "2026-Q2")
    assert data["metric"] == "rating" and data["mixed_scales"] is None  # the period itself is on one scale
    assert data["by_unit"] is None and "1-5 (hotels: 60); 1-10 (airline: 60)" in data["by_unit_note"]
    assert "Ratings by unit not computed: rating answers in scope" in render_html(data)


@pytest.mark.parametrize("mixed", [True, False])
def test_an_outcomes_plan_on_ratings_is_on_its_units_one_scale(sqlite_engine: Engine, mixed: bool) -> None:
    """As `outcomes` does, the plan refuses units rated on two scales; on one, the plausible effect is a
    share of that scale's range, not of a range guessed from the values (1-10 answers all at most 5)."""
    from cxchange.change.service import create
    from cxchange.org.tree import import_org_rows
    from cxchange.sustain.outcome_plan import plan

    sites = [f"S{i}" for i in range(1, 9)]
    units = [{"code": "HQ", "name": "HQ", "parent": None, "level": "company"}] + [
        {"code": s, "name": f"Site {s}", "parent": "HQ", "level": "site"} for s in sites
    ]
    import_org_rows(
        sqlite_engine, units, [{"name": "Erin", "email": "e@x.test", "unit": "HQ", "role": "exec"}]
    )
    for source, mine, scale in (("hotels", sites[:4], 5 if mixed else 10), ("airline", sites[4:], 10)):
        frame = pl.DataFrame({
            "comment": [f"{source} {i}" for i in range(400)],
            "score": [str(2 + i * 7 % 4) for i in range(400)],
            "date": [f"2026-{1 + i % 6:02d}-{1 + i % 28:02d}" for i in range(400)],
            "site": [mine[i // 6 % 4] for i in range(400)],
        })  # fmt: skip
        options = ImportOptions(source=source, map_options=(*MAP, "org_unit=site"), rating_scale=scale)
        import_frame(sqlite_engine, frame, options)
    who = {"sponsor": "e@x.test", "owner": "e@x.test"}
    ini = create(sqlite_engine, name="Rooms", framework="adkar", units=sites, pilot_units=sites[::2],
                 control_units=sites[1::2], start="2026-07-01", **who)  # fmt: skip
    if mixed:
        with pytest.raises(MixedScalesError, match="measure the initiative on another metric"):
            plan(sqlite_engine, ini["id"], metric="rating", before="90d", after="60d")
    else:
        got = plan(sqlite_engine, ini["id"], metric="rating", before="90d", after="60d")
        assert got["plausible_effect"] == 1.35  # 15 % of 1-10's range (1-5's would be 0.6)


def test_compare_by_source_bounds_each_source_by_its_own_scale(engine: Engine) -> None:
    """--vs previous-period by source compares each source with itself: a 1-5 source's all-alike
    interval is cut at 5, not at the 10 of another source in scope."""
    from cxchange.core.output import rounded
    from cxchange.measure.stats import compare_from_counts

    fours = pl.DataFrame({"comment": [f"stay {i}" for i in range(6)], "score": ["4"] * 6,
                          "date": ["2026-02-10"] * 3 + ["2026-05-10"] * 3})  # fmt: skip
    import_frame(engine, fours, ImportOptions(source="hotels", map_options=MAP))
    airline = ImportOptions(source="airline", map_options=MAP, rating_scale=10)
    import_frame(engine, _frame("flight", [8, 9, 10, 6] * 10), airline)
    rows = compare(engine, ScoreQuery(metric="rating", by=("source",)), vs="previous-period")
    [row] = [r for r in rows if r["group"] == {"source": "hotels"}]
    five = compare_from_counts("rating", [4], [3], [4], [3], scale=5)
    assert (row["ci_low"], row["ci_high"]) == (rounded(five.ci_low), rounded(five.ci_high))


def test_an_alert_rule_over_two_scales_says_what_a_rule_can_change(sqlite_engine: Engine) -> None:
    """A rule has no --where nor --by: its note names what a rule has (--unit, --metric)."""
    from datetime import datetime

    from cxchange.sustain.alerts import add_rule, evaluate

    _load(sqlite_engine)
    add_rule(sqlite_engine, metric="rating", below=4, window="30d")
    [note] = evaluate(sqlite_engine, now=datetime(2026, 5, 29))["notes"]
    assert "on 2 scales: 1-5 (hotels: 40); 1-10 (airline: 40)" in note
    assert "give the rule a --unit rated on one, or another --metric" in note and "--where" not in note


def test_a_scorecard_whose_previous_period_is_on_another_scale_is_refused_as_a_scorecard(
    sqlite_engine: Engine,
) -> None:
    """Each unit's change spans the quarter and the one before: 1-10 now, 1-5 then is two scales."""
    from datetime import date

    from cxchange.sustain.scorecard import scorecard

    _two_quarters(sqlite_engine)
    with pytest.raises(MixedScalesError, match="a scorecard is on one scale"):
        scorecard(sqlite_engine, metric="rating", by="org:site", as_of=date(2026, 6, 30))


def test_compare_with_a_previous_period_on_another_scale_is_refused(sqlite_engine: Engine) -> None:
    """Each period alone is on one scale, 1-10 now and 1-5 before: each site's change spans both."""
    from datetime import date

    from cxchange.core.period import Period

    _two_quarters(sqlite_engine)
    q = ScoreQuery(metric="rating", by=("org:site",), period=Period(date(2026, 4, 1), date(2026, 7, 1)))
    with pytest.raises(MixedScalesError, match=r"1-5 \(hotels: 60\); 1-10 \(airline: 60\)"):
        compare(sqlite_engine, q, vs="previous-period")
    by_source = compare(sqlite_engine, ScoreQuery(metric="rating", by=("source",), period=q.period),
                        vs="previous-period")  # fmt: skip
    assert [r["group"]["source"] for r in by_source] == ["airline"]  # each source against itself


def test_the_simulator_refuses_two_scales_naming_the_scope_and_its_period(engine: Engine) -> None:
    """The simulator reads each row's own scale; its message says the scope as every other refusal does."""
    from datetime import date

    from cxchange.core.period import Period
    from cxchange.decide.service import Scope, simulate
    from cxchange.understand.analyze import analyze

    _load(engine)
    analyze(engine)
    scope = Scope(period=Period(date(2026, 5, 1), date(2026, 6, 1)))
    with pytest.raises(MixedScalesError, match=r"in scope \(since 2026-05-01, before 2026-06-01\) are on 2"):
        simulate(engine, ["Staff=0.5"], scope=scope, metric="rating")
    only = Scope(source="airline", period=scope.period)
    with pytest.raises(Exception) as one_scale:  # no such theme in these comments: not a scale refusal
        simulate(engine, ["Staff=0.5"], scope=only, metric="rating")
    assert not isinstance(one_scale.value, MixedScalesError)
