"""A store of star ratings has no NPS: themes, the simulator and opportunities work on the rating it
has (the default), and asking for NPS says which metrics there are and the flag to use, never an empty
ranking. The API answers the same as the services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import CxError, InputError
from cxchange.decide.key_drivers import stored_drivers
from cxchange.decide.service import opportunities, simulate
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.understand.analyze import analyze
from cxchange.understand.cli_taxonomy import builtin_taxonomy
from cxchange.understand.service import theme_stats
from cxchange.understand.themes import taxonomy as tx

TEXTS = [
    ("The staff were rude and slow", 1),
    ("Waited an hour in the queue", 2),
    ("Great price, friendly staff", 5),
]


@pytest.fixture
def ratings(engine: Engine) -> Iterator[Engine]:
    """30 reviews with stars and no NPS: rude staff 1 star, the queue 2, the praise 5 (visit 0 of
    each kind one star more, so no theme is a constant)."""
    frame = pl.DataFrame(
        {
            "Comment": [f"{TEXTS[i % 3][0]} (visit {i})" for i in range(30)],
            "Stars": [str(min(5, TEXTS[i % 3][1] + (i < 3))) for i in range(30)],
        }
    )
    import_frame(engine, frame, ImportOptions(source="reviews", map_options=("text=Comment", "rating=Stars")))
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    analyze(engine)
    yield engine


def test_asking_for_nps_on_ratings_names_the_ratings_the_flag_and_the_drivers_command(
    ratings: Engine,
) -> None:
    with pytest.raises(CxError) as err:
        opportunities(ratings, metric="nps")
    message = str(err.value)
    assert message.startswith("no NPS answers in scope: the simulator needs 0–10 scores")
    assert "30 rating answers" in message and "`--metric rating`" in message
    assert "cxchange drivers --target rating --from themes" in message
    with pytest.raises(CxError, match=r"^no csat answers in scope; this scope has 30 rating answers"):
        simulate(ratings, ["Waiting time"], metric="csat")


def test_by_default_the_decide_stage_works_on_the_rating(ratings: Engine) -> None:
    ranked = opportunities(ratings, draws=200)
    assert ranked["metric"] == "rating" and "mean rating after − mean rating now" in ranked["gain_formula"]
    assert "gain/max(gain)" in ranked["formula"]
    rows = {r["theme"]: r for r in ranked["opportunities"]}
    waiting = rows["Waiting time"]
    assert "nps_gain" not in waiting and waiting["gain"] > 0 and waiting["ci_low"] <= waiting["gain"]
    assert ranked["opportunities"][0]["gain"] == max(r["gain"] for r in ranked["opportunities"])
    sim = simulate(ratings, ["Waiting time=1"], draws=200)
    assert sim["metric"] == "rating" and "baseline_nps" not in sim
    assert sim["baseline"] == round((1 * 10 + 2 * 10 + 5 * 10 + 2) / 30, 4)  # visits 0–2 one star more
    assert sim["projected"] > sim["baseline"] and sim["delta_ci_low"] <= sim["delta"] <= sim["delta_ci_high"]
    assert "only respondents with a rating answer count" in " ".join(sim["assumptions"])
    with pytest.raises(InputError, match="need --metric nps"):
        simulate(ratings, [], moves=["passives-to-promoters=0.1"])


def test_drivers_explain_the_rating_by_default(ratings: Engine, tmp_path: Path) -> None:
    """`drivers --from themes` on a ratings store said "no analysed comment with a nps value" (the
    library's and the API's target was "nps"; the command demanded --target): the scope's own score,
    as `scores`; a file still needs its target column named."""
    table = stored_drivers(ratings, boot=20)
    assert table["target"] == "rating" and table["n"] == 30
    assert table == stored_drivers(ratings, target="rating", boot=20)
    with pytest.raises(CxError, match="no analysed comment with a nps value"):
        stored_drivers(ratings, target="nps", boot=20)
    data = tmp_path / "d.csv"
    data.write_text("y,x\n1,2\n2,3\n3,5\n")
    from typer.testing import CliRunner

    from cxchange.cli import app

    out = CliRunner().invoke(app, ["drivers", "--file", str(data)])
    assert isinstance(out.exception, InputError)
    assert "say which column the drivers explain: --target COLUMN" in str(out.exception)


def test_themes_impact_on_the_rating(ratings: Engine) -> None:
    rows = {r["name"]: r for r in theme_stats(ratings, n_boot=200)}
    waiting = rows["Waiting time"]
    assert waiting["metric"] == "rating" and "nps_with" not in waiting
    stars = pl.DataFrame({"stars": [min(5, TEXTS[i % 3][1] + (i < 3)) for i in range(30)], "i": range(30)})
    mentions = stars.filter(pl.col("i") % 3 == 1)["stars"]
    rest = stars.filter(pl.col("i") % 3 != 1)["stars"]
    assert waiting["score_n"] == 10 and waiting["score_with"] == round(float(mentions.mean()), 2)
    assert waiting["score_without"] == round(float(rest.mean()), 2)
    assert waiting["impact"] == round(float(stars["stars"].mean()) - float(rest.mean()), 2) < 0
    assert waiting["ci_low"] <= waiting["impact"] <= waiting["ci_high"]
    as_nps = {r["name"]: r for r in theme_stats(ratings, n_boot=0, metric="nps")}["Waiting time"]
    assert as_nps["metric"] == "nps" and as_nps["nps_with"] is None and as_nps["impact"] is None


def test_the_api_takes_the_metric_and_picks_the_same_default(ratings: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    try:
        client = signed_in_client(ratings.url.render_as_string(hide_password=False), ratings)
        themes = client.get("/api/themes", params={"boot": 100})
        assert themes.status_code == 200, themes.text
        waiting = {r["name"]: r for r in themes.json()}["Waiting time"]
        assert waiting["metric"] == "rating" and waiting["impact"] < 0 and "nps_with" not in waiting
        assert client.get("/api/themes", params={"metric": "ces"}).json()[0]["metric"] == "ces"
        assert client.get("/api/themes", params={"metric": "mood"}).status_code == 400
        opps = client.get("/api/opportunities")
        assert opps.status_code == 200, opps.text
        assert {"gain", "ci_low", "ci_high"} <= set(opps.json()[0]) and "nps_gain" not in opps.json()[0]
        refused = client.get("/api/opportunities", params={"metric": "nps"})
        assert refused.status_code >= 400 and "`--metric rating`" in refused.json()["detail"]
        sim = client.post("/api/simulate", json={"fix": ["Waiting time"], "draws": 100, "metric": "rating"})
        assert sim.status_code == 200, sim.text
        assert sim.json()["metric"] == "rating" and sim.json()["baseline_nps"] is None
        drivers = client.get("/api/drivers", params={"boot": 20})
        assert drivers.status_code == 200, drivers.text
        assert drivers.json() == stored_drivers(ratings, boot=20)
    finally:
        set_database_url(None)


def test_the_themes_and_decide_pages_show_the_rating(ratings: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    try:
        client = signed_in_client(ratings.url.render_as_string(hide_password=False), ratings)
        themes = client.get("/themes")
        assert themes.status_code == 200, themes.text[:500]
        assert "impact on mean rating (95 % CI)" in themes.text and "NPS with" not in themes.text
        as_csat = client.get("/themes", params={"metric": "csat"})  # no CSAT here: empty impacts, no error
        assert as_csat.status_code == 200 and "impact on CSAT (% satisfied)" in as_csat.text
        decide = client.get("/decide")
        assert decide.status_code == 200, decide.text[:500]
        assert (
            "mean rating gain (95 % CI)" in decide.text
            and "mean rating after − mean rating now" in decide.text
        )
        assert '"metric":"rating"' in decide.text.replace(" ", "")  # the simulator posts the page's metric
        # gains on a mean rating in thousandths, as ranked (hundredths read +0.00 for most Alexa themes)
        waiting = next(r for r in opportunities(ratings)["opportunities"] if r["theme"] == "Waiting time")
        assert f'{waiting["gain"]:+.3f} <span class="ci">[{waiting["ci_low"]:+.3f},' in decide.text
        assert client.get("/decide", params={"metric": "mood"}).status_code == 400
    finally:
        set_database_url(None)


def test_the_overview_shows_the_rating_and_theme_impact_on_it(ratings: Engine) -> None:
    """It showed "Net Promoter Score: No answers here." and, for analysed comments, "No analysed
    comments yet"."""
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    try:
        client = signed_in_client(ratings.url.render_as_string(hide_password=False), ratings)
        page = client.get("/")
        assert page.status_code == 200, page.text[:500]
        text = page.text
        assert 'id="overall-rating"' in text and "Mean rating" in text and 'id="overall-nps"' not in text
        assert "Themes by impact on mean rating" in text and "Waiting time" in text
        assert "No analysed comments yet" not in text and "(n rating 10)" in text
    finally:
        set_database_url(None)


def test_the_business_case_is_made_on_the_rating(ratings: Engine) -> None:
    """It simulated NPS whatever the store had: a ratings store got the no-NPS error."""
    from cxchange.decide.business_case import build_case, render

    case = build_case(ratings, "Waiting time", value_per_point=1000, draws=200)
    assert case["metric"] == "rating" and case["simulation"]["metric"] == "rating"
    assert case["simulation"]["projected"] > case["simulation"]["baseline"]
    assert "per mean rating point" in case["money"]["benefit"]["basis"]
    assert case["initiative"]["success_measures"][1].startswith("rating: +")
    text = render(case, ".md")
    assert "would move mean rating from" in text and "- Mean rating today" in text and "NPS" not in text
    # the change in thousandths, as the benefit (per point × change) is priced on it
    assert f"- Change {case['simulation']['delta']:+.3f} points" in text
    assert f"{case['simulation']['delta']:+.3f} points" in render(case, ".html")
    with pytest.raises(CxError, match="no NPS answers in scope"):
        build_case(ratings, "Waiting time", metric="nps", draws=50)


def test_without_customer_values_the_money_is_unknown_never_zero(ratings: Engine) -> None:
    """Reviews carry no customer value: the case said "Revenue at risk 0, Annual benefit 0" to a sponsor.
    Unknown now, in the data and in every format, with the way to a number; a value per point gives it,
    and with customer values the revenue at risk is counted as before."""
    from cxchange.decide.business_case import build_case, render

    case = build_case(ratings, "Waiting time", cost=5000, draws=100)
    money = case["money"]
    assert money["revenue_at_risk"] is None and money["benefit"]["annual"] is None
    assert money["payback_months"] is None and "--value-per-point" in money["benefit"]["basis"]
    for fmt in (".md", ".html"):
        text = render(case, fmt)
        assert "Revenue at risk" in text and "unknown" in text and "no customer value" in text
    priced = build_case(ratings, "Waiting time", cost=5000, value_per_point=1000, draws=100)["money"]
    assert priced["revenue_at_risk"] is None and priced["benefit"]["annual"] > 0 and priced["payback_months"]
    # ... and the opportunities table says the same: unknown, not a measured 0
    from cxchange.decide.service import opportunities

    ranked = opportunities(ratings, draws=50)["opportunities"]
    assert ranked and all(o["revenue_at_risk"] is None for o in ranked)


def test_with_customer_values_the_revenue_at_risk_is_counted(engine: Engine) -> None:
    """Reviews with a customer value: revenue at risk and the benefit from it, as before."""
    from cxchange.decide.business_case import build_case

    frame = pl.DataFrame(
        {
            "Comment": [f"{TEXTS[i % 3][0]} (visit {i})" for i in range(30)],
            "Stars": [str(min(5, TEXTS[i % 3][1] + (i < 3))) for i in range(30)],
            "Value": ["100"] * 30,
            "Customer": [f"c{i}" for i in range(30)],
        }
    )
    opts = ("text=Comment", "rating=Stars", "customer_value=Value", "customer_id=Customer")
    import_frame(engine, frame, ImportOptions(source="reviews", map_options=opts))
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    analyze(engine)
    money = build_case(engine, "Waiting time", draws=100)["money"]
    assert money["revenue_at_risk"] is not None and money["revenue_at_risk"] > 0
    assert money["revenue_at_risk"] % 10 == 0  # 10 % of 100 per detractor who complains
    assert money["benefit"]["annual"] == pytest.approx(money["revenue_at_risk"] * 0.5)
    from cxchange.decide.service import opportunities

    waiting = next(
        o for o in opportunities(engine, draws=50)["opportunities"] if o["theme"] == "Waiting time"
    )
    assert waiting["revenue_at_risk"] == money["revenue_at_risk"]


def test_a_quote_of_several_paragraphs_stays_one_block_quote(engine: Engine) -> None:
    """Amazon book reviews keep their paragraphs: the second one ended the Markdown block quote and read
    as the case's own words between two quotes."""
    from cxchange.decide.business_case import build_case, render

    texts = [
        f"Waited an hour in the queue (visit {i}).\n\nNever again, the queue is endless." for i in range(6)
    ]
    frame = pl.DataFrame(
        {"Comment": texts + ["Great price, friendly staff"] * 6, "Stars": ["1"] * 6 + ["5"] * 6}
    )
    import_frame(engine, frame, ImportOptions(source="reviews", map_options=("text=Comment", "rating=Stars")))
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    analyze(engine)
    case = build_case(engine, "Waiting time", draws=50)
    assert case["quotes"] and all("\n" not in q for q in case["quotes"])
    assert case["quotes"][0].endswith("). Never again, the queue is endless.")
    text = render(case, ".md")
    quoted = text.split("## The problem, in customers' words")[1].split("## ")[0]
    # every line of the customers' words is in the block quote (what follows it is the trend, or the
    # note that there is none for undated feedback)
    words = [line for line in quoted.splitlines() if "queue" in line]
    assert len(words) == len(case["quotes"]) and all(line.startswith("> ") for line in words)


def test_an_undated_case_without_units_says_so_instead_of_empty_sections(ratings: Engine) -> None:
    """Amazon book reviews (no date, no unit): the case had a trend table of headers only and a "Where
    it hits" heading over nothing."""
    from cxchange.decide.business_case import build_case, render

    case = build_case(ratings, "Waiting time", draws=50)
    assert case["trend"] == [] and case["where"] == []
    assert case["notes"]["trend"].startswith("No dated comments") and "redate" in case["notes"]["trend"]
    assert "`cxchange org link COLUMN`" in case["notes"]["where"]
    text = render(case, ".md")
    assert "| month |" not in text and case["notes"]["trend"] in text
    hits = text.split("## Where it hits")[1].split("## The effect")[0]
    assert hits.strip() == case["notes"]["where"]
    assert case["notes"]["where"] in render(case, ".html")
