"""Tests for the seeded demo company: shape, realism and that every planted truth is really there."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from cxchange.demo import DEMO_END, TRUTH, DemoCompany, generate

START = date.fromisoformat(TRUTH["period"]["start"])
SCORES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
CARD_RE = re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_RE = re.compile(r"(?:\+44 ?7700|07700) ?900 ?\d{3}|0161 ?496 ?0\d{3}")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    t0 = time.perf_counter()
    c = generate()
    elapsed = time.perf_counter() - t0
    print(f"\ngenerate(rows=20_000) took {elapsed:.2f} s")
    assert elapsed < 30
    return c


@pytest.fixture(scope="module")
def big() -> DemoCompany:
    """A larger sample with another seed, for tight statistical checks of the planted pilot effect."""
    t0 = time.perf_counter()
    c = generate(rows=120_000, seed=7)
    print(f"\ngenerate(rows=120_000) took {time.perf_counter() - t0:.2f} s")
    return c


def _src(c: DemoCompany, kind: str) -> pl.DataFrame:
    return next(s.frame for s in c.sources if s.kind == kind)


def _texts(c: DemoCompany) -> pl.DataFrame:
    frames = [s.frame.select("received_at", "org_unit", "text") for s in c.sources]
    return pl.concat(frames).drop_nulls("text")


def _nps(scores: pl.Series) -> tuple[float, float, int]:
    """NPS on −100..100 with its standard error."""
    n = scores.len()
    p, d = float((scores >= 9).mean()), float((scores <= 6).mean())
    return 100 * (p - d), 100 * math.sqrt(max(p + d - (p - d) ** 2, 1e-9) / n), n


def _pilot_stats(c: DemoCompany) -> dict[str, float]:
    survey = _src(c, "survey")
    start = datetime.combine(date.fromisoformat(TRUTH["pilot"]["start"]), datetime.min.time())
    out: dict[str, float] = {}
    for role in ("pilot", "control"):
        region = TRUTH["pilot"][f"{role}_region_name"]
        periods = (("before", pl.col("received_at") < start), ("after", pl.col("received_at") >= start))
        for period, cond in periods:
            v, se, _ = _nps(survey.filter((pl.col("region") == region) & cond)["nps"])
            out[f"{role}_{period}"], out[f"{role}_{period}_se"] = v, se
    out["pilot_change"] = out["pilot_after"] - out["pilot_before"]
    out["control_change"] = out["control_after"] - out["control_before"]
    out["did"] = out["pilot_change"] - out["control_change"]
    out["control_se"] = math.hypot(out["control_before_se"], out["control_after_se"])
    out["did_se"] = math.hypot(out["control_se"], out["pilot_before_se"], out["pilot_after_se"])
    return out


def test_determinism() -> None:
    a, b, other = generate(3000, seed=5), generate(3000, seed=5), generate(3000, seed=6)
    assert a.units.equals(b.units) and a.people.equals(b.people)
    for sa, sb, so in zip(a.sources, b.sources, other.sources, strict=True):
        assert sa.frame.equals(sb.frame)
        assert not sa.frame.equals(so.frame)


def test_small_and_empty() -> None:
    for rows in (0, 1, 7):
        c = generate(rows, seed=1)
        assert sum(s.frame.height for s in c.sources) == rows


def test_row_counts_and_sources(company: DemoCompany) -> None:
    assert sum(s.frame.height for s in company.sources) == 20_000
    assert [(s.name, s.kind) for s in company.sources] == [
        ("nps_survey", "survey"),
        ("support_tickets", "ticket"),
        ("public_reviews", "review"),
    ]
    assert [s.frame.height for s in company.sources] == [10_000, 6_000, 4_000]
    for s in company.sources:
        assert s.frame["external_id"].n_unique() == s.frame.height


def test_columns_and_dtypes(company: DemoCompany) -> None:
    common = {"external_id", "received_at", "text", "org_unit", "channel", "region"}
    customer = {"customer_id", "customer_value", "segment", "product"}
    expected = {
        "survey": common | customer | {"nps"},
        "ticket": common | customer | {"csat", "ces"},
        "review": common | {"rating"},
    }
    for s in company.sources:
        f = s.frame
        assert set(f.columns) == expected[s.kind]
        assert f.schema["received_at"] == pl.Datetime("us")
        for col in f.columns:
            if col in SCORES:
                assert f.schema[col].is_integer()
            elif col == "customer_value":
                assert f.schema[col] == pl.Float64
                assert f[col].min() > 0
            elif col != "received_at":
                assert f.schema[col] == pl.String
        assert f.drop("text").null_count().sum_horizontal().item() == 0


def test_score_ranges(company: DemoCompany) -> None:
    for s in company.sources:
        for col, (lo, hi) in SCORES.items():
            if col in s.frame.columns:
                assert s.frame[col].min() >= lo and s.frame[col].max() <= hi
                assert s.frame[col].n_unique() == hi - lo + 1  # the whole scale is used


def test_units_and_people(company: DemoCompany) -> None:
    units, people = company.units, company.people
    assert units["code"].n_unique() == units.height
    levels = units.group_by("level").len().sort("level")
    assert dict(levels.iter_rows()) == {"company": 1, "region": 4, "store": 40}
    assert units.filter(pl.col("level") == "company")["parent"].to_list() == [None]
    codes = set(units["code"])
    assert set(units["parent"].drop_nulls()) <= codes
    regions = units.filter(pl.col("level") == "region")
    assert sorted(regions["name"]) == ["East", "North", "South", "West"]
    assert set(regions["code"]) == {"R-NORTH", "R-SOUTH", "R-EAST", "R-WEST"}
    stores = units.filter(pl.col("level") == "store")
    assert set(stores["parent"]) == set(regions["code"])
    assert all(re.fullmatch(r"S-[A-Z]{3}-\d{2}", c) for c in stores["code"])
    assert stores["name"].n_unique() == stores.height

    assert 180 <= people.height <= 220
    assert people["email"].n_unique() == people.height
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@larkspur\.example", e) for e in people["email"])
    assert set(people["unit"]) <= codes
    roles = dict(people.group_by("role").len().iter_rows())
    assert 1 <= roles["exec"] <= 3 and roles["regional_manager"] == 4
    assert set(people.filter(pl.col("role") == "exec")["unit"]) == {"HQ"}
    sm = people.filter(pl.col("role") == "store_manager")
    assert sm.height == stores.height and set(sm["unit"]) == set(stores["code"])
    rm = people.filter(pl.col("role") == "regional_manager")
    assert set(rm["unit"]) == set(regions["code"])
    agents = people.filter(pl.col("role") == "agent")
    assert set(agents["unit"]) == set(stores["code"])  # every store has agents
    assert people["name"].str.split(" ").list.first().n_unique() > 80  # varied names

    for s in company.sources:
        assert set(s.frame["org_unit"]) <= set(stores["code"])
        # region attribute is the NAME of the store's region
        joined = (
            s.frame.select("org_unit", "region")
            .unique()
            .join(stores.select(pl.col("code").alias("org_unit"), "parent"), on="org_unit")
            .join(regions.select(pl.col("code").alias("parent"), pl.col("name").alias("rname")), on="parent")
        )
        assert (joined["region"] == joined["rname"]).all()


def test_date_range(company: DemoCompany) -> None:
    for s in company.sources:
        ts = s.frame["received_at"]
        assert ts.min().date() >= START and ts.max().date() <= DEMO_END
        assert (ts.max() - ts.min()) > timedelta(days=700)
        assert ts.is_sorted()
    assert (DEMO_END - START).days + 1 == TRUTH["period"]["days"] == 730


def test_text_rates(company: DemoCompany) -> None:
    rate = {s.kind: 1 - s.frame["text"].null_count() / s.frame.height for s in company.sources}
    assert 0.6 <= rate["survey"] <= 0.7
    assert rate["ticket"] >= 0.85
    assert rate["review"] == 1.0


def test_text_variety(company: DemoCompany) -> None:
    texts = _texts(company)["text"]
    assert texts.n_unique() >= 2000
    top = texts.value_counts(sort=True).row(0)
    assert top[1] / texts.len() <= 0.02, top
    assert texts.str.contains(" but |, although |, though |However").mean() > 0.03  # mixed sentiment
    assert texts.str.contains("on hold").any() and texts.str.contains("still waiting").any()
    assert texts.str.contains("[😊👍🙂😡👎😤🙄]").any()


def test_phrase_bank_and_theme_truth() -> None:
    themes = TRUTH["themes"]
    assert len(themes) >= 8
    for t in themes.values():
        assert t["n_phrasings"]["negative"] >= 8 and t["n_phrasings"]["positive"] >= 8
        assert t["keywords"] and 0 < t["mention_rate"] < 1
        assert t["effect_negative"] < t["answer_effect_negative"] < 0 < t["answer_effect_positive"]
        assert t["answer_effect_positive"] < t["effect_positive"]
    assert min(themes, key=lambda k: themes[k]["effect_negative"]) == "waiting_time"
    assert max(themes, key=lambda k: themes[k]["effect_positive"]) == "staff_friendliness"
    assert TRUTH["theme_ranking"]["most_negative"][0] == "waiting_time"
    assert TRUTH["theme_ranking"]["most_positive"][0] == "staff_friendliness"


def test_sentiment_agrees_with_score(company: DemoCompany) -> None:
    survey = _src(company, "survey").drop_nulls("text").with_columns(t=pl.col("text").str.to_lowercase())
    mean = survey["nps"].mean()
    neg = survey.filter(pl.col("t").str.contains("on hold|queue was|waited|rude|charged twice"))["nps"].mean()
    pos = survey.filter(pl.col("t").str.contains("above and beyond|lovely|worth every penny"))["nps"].mean()
    assert neg < mean - 1 and pos > mean + 0.5


def test_overall_and_regional_nps(company: DemoCompany) -> None:
    survey = _src(company, "survey")
    overall, se, _ = _nps(survey["nps"])
    assert 10 <= overall <= 35
    assert abs(overall - TRUTH["nps"]["overall_expected"]) < 4 * se + 1
    by = {r: _nps(survey.filter(pl.col("region") == r)["nps"])[0] for r in ("North", "South", "East", "West")}
    assert by["East"] - by["West"] > 10


def test_emerging_issue(company: DemoCompany) -> None:
    em = TRUTH["emerging"]
    start = datetime.combine(date.fromisoformat(em["start"]), datetime.min.time())
    pattern = "(?i)" + "|".join(re.escape(k) for k in em["keywords"])
    texts = _texts(company).with_columns(hit=pl.col("text").str.contains(pattern))
    assert texts.filter(pl.col("received_at") < start)["hit"].sum() == 0
    last_week = texts.filter(
        pl.col("received_at") >= datetime.combine(DEMO_END, datetime.min.time()) - timedelta(days=6)
    )
    first_week = texts.filter(
        (pl.col("received_at") >= start) & (pl.col("received_at") < start + timedelta(days=7))
    )
    share_last = last_week["hit"].mean()
    assert 0.07 <= share_last <= 0.26, share_last
    assert first_week["hit"].mean() < share_last
    assert em["n_phrasings"] >= 8


def test_pilot_did_default(company: DemoCompany) -> None:
    """20k rows give ~2.5k survey rows per region: the DiD has an SE of ~4.5 points, so test in SE units."""
    st, p = _pilot_stats(company), TRUTH["pilot"]
    print(f"\nrealised DiD {st['did']:.1f} (SE {st['did_se']:.1f}) vs planted {p['expected_did']}")
    assert abs(st["did"] - p["expected_did"]) <= max(6.0, 3 * st["did_se"])
    assert st["did"] > 0
    assert abs(st["control_change"] - p["expected_control_change"]) <= max(4.0, 3 * st["control_se"])
    assert abs(p["expected_nps"]["pilot_before"] - p["expected_nps"]["control_before"]) < 0.5


def test_pilot_did_large_other_seed(big: DemoCompany) -> None:
    st, p = _pilot_stats(big), TRUTH["pilot"]
    print(f"\nrealised DiD {st['did']:.1f} (SE {st['did_se']:.1f}) vs planted {p['expected_did']}")
    assert abs(st["did"] - p["expected_did"]) <= 6
    assert abs(st["control_change"]) <= 4
    assert abs(st["pilot_before"] - p["expected_nps"]["pilot_before"]) <= 3
    # large enough to be found at the default 20k rows (tests/sustain/test_outcomes.py), still plausible
    assert 15 <= p["expected_did"] <= 25


def test_pilot_truth_structure(company: DemoCompany) -> None:
    p = TRUTH["pilot"]
    codes = set(company.units["code"])
    assert {p["pilot_unit"], p["control_unit"]} <= codes
    assert set(p["pilot_stores"]) | set(p["control_stores"]) <= codes
    assert date.fromisoformat(p["start"]) == DEMO_END - timedelta(days=180)
    mech = p["mechanism"]
    assert mech["waiting_time_negative_share_after"] < mech["waiting_time_negative_share_before"]


def test_praised_staff(company: DemoCompany) -> None:
    staff = TRUTH["praised_staff"]
    assert 3 <= len(staff) <= 5
    people = {r["email"]: r for r in company.people.iter_rows(named=True)}
    texts = _texts(company)
    for s in staff:
        person = people[s["email"]]
        assert person["name"] == s["name"] and person["unit"] == s["unit"] and person["role"] == "agent"
        hit = pl.col("text").str.contains(rf"(?i)\b{re.escape(s['first_name'])}\b")
        own = texts.filter((pl.col("org_unit") == s["unit"]) & hit).height
        elsewhere = texts.filter((pl.col("org_unit") != s["unit"]) & hit).height
        expected = s["expected_count_per_20k_rows"]
        assert 0.5 * expected <= own <= 1.6 * expected, (s, own)
        assert elsewhere == 0


def _luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number][::-1]
    return sum(d if i % 2 == 0 else sum(divmod(2 * d, 10)) for i, d in enumerate(digits)) % 10 == 0


def test_planted_pii(company: DemoCompany) -> None:
    texts = _texts(company)["text"].to_list()
    cards = [m for t in texts for m in CARD_RE.findall(t)]
    assert cards and all(_luhn_ok(re.sub(r"\D", "", c)) for c in cards)
    with_pii = sum(bool(EMAIL_RE.search(t) or PHONE_RE.search(t) or CARD_RE.search(t)) for t in texts)
    assert 0.006 <= with_pii / len(texts) <= 0.015
    assert any(EMAIL_RE.search(t) for t in texts) and any(PHONE_RE.search(t) for t in texts)


def test_emerging_keywords_only_in_emerging_phrases() -> None:
    """The phrase bank must not leak the emerging issue's words into ordinary templates."""
    from importlib import resources

    import yaml

    bank = yaml.safe_load(resources.files("cxchange.demo").joinpath("phrases.yaml").read_text("utf-8"))
    bank.pop("emerging")
    blob = json.dumps(bank, ensure_ascii=False).lower()
    for kw in TRUTH["emerging"]["keywords"]:
        assert kw.lower() not in blob, kw


def _plain(x: object) -> bool:
    if isinstance(x, dict):
        return all(type(k) is str and _plain(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_plain(v) for v in x)
    return x is None or type(x) in (str, int, float, bool)


def test_truth_is_plain_json() -> None:
    assert _plain(TRUTH)
    assert json.loads(json.dumps(TRUTH)) == TRUTH
    for key in ("themes", "emerging", "pilot", "praised_staff", "seasonality", "nps", "pii"):
        assert key in TRUTH


def test_the_public_generate_is_the_function_whatever_was_imported_first() -> None:
    """Importing the submodule first must not leave the package's `generate` bound to a module (a
    submodule named like the function shadowed it, so `from cxchange.demo import generate` depended on
    which test file was collected first)."""
    import subprocess
    import sys

    code = (
        "import cxchange.demo.generator, cxchange.demo.truth, cxchange.demo.company\n"
        "from cxchange.demo import generate, TRUTH\n"
        "assert callable(generate) and generate.__name__ == 'generate', generate\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
