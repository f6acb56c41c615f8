"""Scores and comparisons over stored feedback, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import InputError, NoDataError
from cxchange.core.period import Period
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.measure.compare import compare
from cxchange.measure.service import ScoreQuery, scores, scores_in_scope
from cxchange.measure.stats import nps_from_counts
from cxchange.org.tree import import_org_rows

UNITS = [
    {"code": "HQ", "name": "Company", "parent": None, "level": "company"},
    {"code": "R1", "name": "North", "parent": "HQ", "level": "region"},
    {"code": "R2", "name": "South", "parent": "HQ", "level": "region"},
    {"code": "S1", "name": "Leeds", "parent": "R1", "level": "store"},
    {"code": "S2", "name": "York", "parent": "R1", "level": "store"},
    {"code": "S3", "name": "Bath", "parent": "R2", "level": "store"},
]


def _load(engine: Engine) -> None:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    rows = []
    # S1: Jan 10 promoters, 5 detractors; Feb 5 promoters, 5 passives. S2: Jan 2 detractors.
    # S3: Jan 20 promoters.
    spec = [
        ("S1", "2025-01-15", 10, 10),
        ("S1", "2025-01-16", 2, 5),
        ("S1", "2025-02-10", 9, 5),
        ("S1", "2025-02-11", 7, 5),
        ("S2", "2025-01-20", 0, 2),
        ("S3", "2025-01-05", 9, 20),
    ]
    i = 0
    for unit, day, score, count in spec:
        for _ in range(count):
            i += 1
            rows.append(
                {
                    "external_id": str(i),
                    "received_at": day,
                    "nps": str(score),
                    "org_unit": unit,
                    "segment": "A" if i % 2 else "B",
                    "csat": str(1 + i % 5),
                }
            )
    frame = pl.DataFrame(rows)
    mapping = (
        "external_id=external_id",
        "received_at=received_at",
        "nps=nps",
        "org_unit=org_unit",
        "csat=csat",
    )
    import_frame(engine, frame, ImportOptions(source="survey", map_options=mapping))


def test_overall_and_by_month(engine: Engine) -> None:
    _load(engine)
    [overall] = scores(engine, ScoreQuery(metric="nps"))
    expected = nps_from_counts(35, 5, 7)
    assert overall["n"] == 47 and overall["score"] == round(expected.score, 2)
    assert overall["ci_low"] == round(expected.ci_low, 2) and overall["promoters"] == 35
    by_month = scores(engine, ScoreQuery(metric="nps", by=("month",), min_n=20))
    assert [r["group"] for r in by_month] == [{"month": "2025-01"}, {"month": "2025-02"}]
    jan, feb = by_month
    assert (jan["n"], jan["promoters"], jan["detractors"]) == (37, 30, 7)
    assert feb["n"] == 10 and feb["small"] is True and jan["small"] is False


def test_org_rollup_includes_units_beneath(engine: Engine) -> None:
    _load(engine)
    rows = {r["group"]["org:region"]: r for r in scores(engine, ScoreQuery(metric="nps", by=("org:region",)))}
    assert rows["North"]["n"] == 27 and rows["South"]["n"] == 20
    assert rows["North"]["promoters"] == 15 and rows["North"]["detractors"] == 7
    stores = scores(engine, ScoreQuery(metric="nps", by=("org:store",), where=("unit=R1",)))
    assert {r["group"]["org:store"] for r in stores} == {"Leeds", "York"}
    # A depth (the company is 0) groups like the level name at that depth: the error message offers it.
    by_depth = {r["group"]["org:1"]: r["n"] for r in scores(engine, ScoreQuery(metric="nps", by=("org:1",)))}
    assert by_depth == {"North": 27, "South": 20}


def test_quarter_week_attr_and_filters(engine: Engine) -> None:
    _load(engine)
    q = scores(engine, ScoreQuery(metric="nps", by=("quarter", "attr:segment")))
    assert {r["group"]["quarter"] for r in q} == {"2025-Q1"}
    assert sum(r["n"] for r in q) == 47
    weeks = scores(engine, ScoreQuery(metric="nps", by=("week",)))
    assert weeks[0]["group"]["week"] == "2025-W01"
    since = scores(engine, ScoreQuery(metric="nps", period=Period(date(2025, 2, 1))))
    assert since[0]["n"] == 10
    csat = scores(engine, ScoreQuery(metric="csat"))[0]
    assert 0 <= csat["ci_low"] <= csat["score"] <= csat["ci_high"] <= 100 and "mean" in csat


def test_compare_vs_rest_is_holm_adjusted(engine: Engine) -> None:
    _load(engine)
    rows = compare(engine, ScoreQuery(metric="nps", by=("org:region",)), vs="rest")
    north = next(r for r in rows if r["group"]["org:region"] == "North")
    south = next(r for r in rows if r["group"]["org:region"] == "South")
    assert north["diff"] == pytest.approx(-south["diff"])
    assert north["n_other"] == 20 and north["p_adjusted"] >= north["p_value"]
    assert south["significant"] is True  # 100 vs about 30


def test_compare_previous_period(engine: Engine) -> None:
    _load(engine)
    from datetime import date

    rows = compare(
        engine,
        ScoreQuery(metric="nps", by=("org:region",), period=Period(date(2025, 2, 1), date(2025, 3, 1))),
        vs="previous-period",
    )
    north = next(r for r in rows if r["group"]["org:region"] == "North")
    assert north["n"] == 10 and north["n_other"] == 17
    # which days were compared, on every row: by default the 90 days up to the newest answer (11 Feb)
    assert (north["period"], north["previous_period"]) == (
        "2025-02-01 to 2025-02-28",
        "2025-01-04 to 2025-01-31",
    )
    # by default the 90 days up to the newest answer (11 Feb), against the 90 before: no answers there,
    # said with both periods (every row was n_other 0 with empty cells, exit 0)
    before = "previous period (2024-08-16 to 2024-11-13) to compare 2024-11-14 to 2025-02-11 with"
    with pytest.raises(NoDataError, match=re.escape(f"no nps answers in the {before}")):
        compare(engine, ScoreQuery(metric="nps", by=("org:region",)), vs="previous-period")
    assert "period" not in compare(engine, ScoreQuery(metric="nps", by=("org:region",)))[0]
    # a month never meets itself a period earlier: every row had n_other 0; refused, with the way out
    for key in ("month", "quarter"):
        with pytest.raises(InputError, match=f"grouped by {key}, no group has one: use --vs rest"):
            compare(engine, ScoreQuery(metric="nps", by=("org:region", key)), vs="previous-period")


def test_bad_query_errors(engine: Engine) -> None:
    with pytest.raises(InputError, match="unknown grouping"):
        scores(engine, ScoreQuery(by=("colour",)))
    with pytest.raises(InputError, match="unknown metric"):
        scores(engine, ScoreQuery(metric="happiness"))
    _load(engine)
    with pytest.raises(InputError, match="no org level"):
        scores(engine, ScoreQuery(by=("org:country",)))


def test_a_metric_with_no_answers_in_scope_says_so(engine: Engine) -> None:
    """No CES in the data, or filters that match nothing: a NoDataError naming the metric and the
    filters (the CLI's one line and exit 1, the API's 404), never an empty table."""
    _load(engine)
    assert scores(engine, ScoreQuery(metric="ces")) == []  # the service itself stays quiet for pages
    # ... and which metrics do have answers there (NPS is the default; a store of ratings hears so).
    there = r"; there are 47 nps and 47 csat answers in scope \(`--metric nps`\)"
    with pytest.raises(NoDataError, match=r"^no ces answers in scope \(all feedback\)" + there + "$"):
        scores_in_scope(engine, ScoreQuery(metric="ces", by=("month",)))
    scoped = ScoreQuery(metric="nps", where=("unit=S3",), period=Period(date(2025, 2, 1), date(2025, 3, 1)))
    why = r"no nps answers in scope \(unit=S3, since 2025-02-01, before 2025-03-01\)"
    with pytest.raises(NoDataError, match=why):
        scores_in_scope(engine, scoped)
    assert scores_in_scope(engine, ScoreQuery(metric="csat"))[0]["n"] == 47
    with pytest.raises(NoDataError, match="no ces answers"):
        compare(engine, ScoreQuery(metric="ces", by=("unit",)))
    # previous-period: the periods end at the newest answer in scope; there is none of CES
    with pytest.raises(NoDataError, match=r"no ces answers in scope \(all feedback\)"):
        compare(engine, ScoreQuery(metric="ces", by=("unit",)), vs="previous-period")


def test_no_metric_named_is_the_scopes_default(engine: Engine) -> None:
    """No metric (""): NPS when the scope has NPS answers, else the most answered (as themes, Decide
    and the overview); the rows carry which, for the title."""
    _load(engine)
    default = scores_in_scope(engine, ScoreQuery(metric=""))
    assert default == scores_in_scope(engine, ScoreQuery(metric="nps")) and default.resolved == {
        "metric": "nps"
    }
    stars = pl.DataFrame(
        {"external_id": ["r1", "r2", "r3"], "rating": ["5", "4", "2"], "csat": ["5", "", ""]}
    )
    import_frame(
        engine,
        stars,
        ImportOptions(source="stars", map_options=("external_id=external_id", "rating=rating", "csat=csat")),
    )
    rated = scores_in_scope(engine, ScoreQuery(metric="", where=("source=stars",)))  # 3 ratings, 1 CSAT
    assert (
        rated.resolved == {"metric": "rating"}
        and rated[0]["n"] == 3
        and rated[0]["score"] == round(11 / 3, 2)
    )
    assert compare(engine, ScoreQuery(metric="", by=("unit",))).resolved == {"metric": "nps"}
    empty = ScoreQuery(metric="", period=Period(date(1990, 1, 1), date(1990, 2, 1)))
    with pytest.raises(NoDataError, match=r"^no score answers in scope \(since 1990-01-01"):  # none of any
        scores_in_scope(engine, empty)


def test_api_scores_answers_404_with_the_reason(engine: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    _load(engine)
    try:
        client = signed_in_client(engine.url.render_as_string(hide_password=False), engine)
        empty = client.get("/api/scores", params={"metric": "ces"})
        assert empty.status_code == 404
        there = "; there are 47 nps and 47 csat answers in scope (`metric=nps`)"
        assert empty.json() == {"detail": "no ces answers in scope (all feedback)" + there}
        assert client.get("/api/compare", params={"metric": "ces", "by": "unit"}).status_code == 404
        assert client.get("/api/scores", params={"metric": "csat"}).json()[0]["n"] == 47
        assert client.get("/api/scores", params={"metric": "mood"}).status_code == 400
    finally:
        set_database_url(None)


def test_previous_period_ends_at_the_newest_answer_in_scope(engine: Engine) -> None:
    """Unit S3's answers end on 5 January; the store's on 11 February. Its comparison ends on its own
    newest answer (it ended on the store's, on days S3 had no answers in)."""
    _load(engine)
    # (neither has answers in the 90 days before its own: the message names the compared period)
    with pytest.raises(NoDataError, match=r"to compare 2024-10-08 to 2025-01-05 with \(unit=S3\)"):
        compare(engine, ScoreQuery(metric="nps", by=("unit",), where=("unit=S3",)), vs="previous-period")
    with pytest.raises(NoDataError, match=r"to compare 2024-11-14 to 2025-02-11 with \(all feedback\)"):
        compare(engine, ScoreQuery(metric="nps", by=("unit",)), vs="previous-period")
    [row] = compare(
        engine,
        ScoreQuery(metric="nps", by=("unit",), where=("unit=S1",), period=Period(date(2025, 1, 25), None)),
        vs="previous-period",
    )
    assert (row["period"], row["previous_period"]) == ("2025-01-25 to 2025-02-11", "2025-01-07 to 2025-01-24")


def test_compare_of_groups_all_alike_stays_on_the_five_star_scale(engine: Engine) -> None:
    """Two shops of three 5-star reviews each, all 5 against all 4: the difference's interval comes from
    each side's bound on unseen answers, on the store's 1-5 scale (on 1-10 it ran from -6 to +7)."""
    frame = pl.DataFrame(
        {"id": [str(i) for i in range(6)], "segment": ["A"] * 3 + ["B"] * 3, "Stars": ["5"] * 3 + ["4"] * 3}
    )
    mapping = ("external_id=id", "rating=Stars")
    import_frame(engine, frame, ImportOptions(source="s", map_options=mapping, rating_scale=5))
    rows = compare(engine, ScoreQuery(metric="rating", by=("attr:segment",)))
    a = next(r for r in rows if r["group"]["attr:segment"] == "A")
    assert a["diff"] == 1.0 and -4 <= a["ci_low"] < 0 < 1 < a["ci_high"] <= 4
