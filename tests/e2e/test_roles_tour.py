"""What the role tour on the public hotel reviews (1–5 stars, hotels under cities under provinces) found in
the commands, as subprocesses on a fresh database:

- a mean rating's interval ran to 10 on a five-star scale ("4.5 (95 % CI 1.0 to 10.0)" for two reviews
  of 4 and 5) in `scores`, the scorecard, the Overview's chart and the executive report;
- the executive report measured every initiative on NPS first, in a store without NPS: "nps: not
  measurable: no nps data for the initiative's units" under each initiative;
- a case opened by a rating rule showed no score (cases carried NPS and CSAT only);
- `feedback --offset`, `cases list --limit`, `recognition --limit` and `alerts --limit` past a 64-bit
  integer printed a traceback, and a limit of 0 or below listed everything.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

from .conftest import Cx

HUGE = str(10**20)


def write_hotels(folder: Path) -> dict[str, Path]:
    """Two hotels in one province: in 2026-Q2 H-1 has 30 reviews, H-2 two (a 4 and a 5); one review of
    July ends the quarter (a scorecard shows the latest complete period)."""
    files = {name: folder / f"{name}.csv" for name in ("units", "people", "reviews")}
    files["people"].write_text("name,email,unit,role\nOlive Owner,olive@hotels.test,HQ,owner\n")
    with files["units"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "parent", "level"])
        out.writerows([["HQ", "Hotels", "", "company"], ["P-CA", "CA", "HQ", "province"]])
        out.writerows([["H-1", "Sea View", "P-CA", "hotel"], ["H-2", "Bay Inn", "P-CA", "hotel"]])
    with files["reviews"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["hotel", "date", "text", "stars"])
        out.writerows(["H-1", f"2026-05-{1 + i % 28:02d}", f"stay number {i}", 1 + i % 5] for i in range(30))
        out.writerows([["H-2", "2026-06-03", "nice and quiet", 4], ["H-2", "2026-06-04", "lovely staff", 5]])
        out.writerow(["H-1", "2026-07-01", "a july stay", 3])
    return files


def _imported(cx: Cx) -> None:
    files = write_hotels(cx.workdir)
    cx.run("org", "import", str(files["units"]), "--people", str(files["people"]))
    cx.run(
        "import",
        str(files["reviews"]),
        "--source",
        "hotels",
        "--map",
        "org_unit=hotel",
        "--map",
        "rating=stars",
    )


def test_a_mean_rating_interval_stays_on_the_five_star_scale(cx: Cx) -> None:
    _imported(cx)
    [two] = cx.json("scores", "--where", "unit=H-2")
    assert (two["n"], two["score"]) == (2, 4.5)
    assert two["ci_low"] >= 1.0 and two["ci_high"] == 5.0  # was 10.0: the widest scale an import takes
    cards = cx.json("scorecard", "--by", "org:hotel", "--min-n", "1")
    assert {r["unit"]: r["ci_high"] for r in cards}["H-2"] == 5.0
    cx.run("report", "--period", "2026-Q2", "--unit", "P-CA", "--output", str(cx.workdir / "ca.html"))
    html = (cx.workdir / "ca.html").read_text()
    bounds = [float(x) for x in re.findall(r"(\d+\.\d) – (\d+\.\d)", html) for x in x]
    assert bounds and max(bounds) <= 5.0, sorted(set(bounds))


def test_the_report_measures_initiatives_on_the_stores_own_score(cx: Cx) -> None:
    _imported(cx)
    owner = ("--sponsor", "olive@hotels.test", "--owner", "olive@hotels.test")
    cx.run("initiative", "create", "--name", "Bathrooms", "--framework", "kotter", "--units", "P-CA",
           *owner, "--start", "2026-05-15")  # fmt: skip
    out = cx.workdir / "exec.html"
    cx.run("report", "--period", "2026-Q2", "--output", str(out))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    assert "no nps data" not in text and "nps :" not in text
    section = text[text.index("Initiatives and measured outcomes") :]
    assert "Bathrooms" in section and "rating :" in section, section[:600]


def test_a_ten_point_source_keeps_its_ratings_above_five(cx: Cx) -> None:
    _imported(cx)
    tens = cx.workdir / "tens.csv"
    tens.write_text("hotel,date,text,score\nH-2,2026-09-01,superb,9\nH-2,2026-09-02,very good,8\n")
    cx.run("import", str(tens), "--source", "survey10", "--rating-scale", "10", "--map", "org_unit=hotel",
           "--map", "rating=score")  # fmt: skip
    [ten] = cx.json("scores", "--where", "source=survey10")
    assert ten["ci_high"] > 5.0  # a 1–10 source in the store: 8.5's interval is not cut at 5


def test_lists_refuse_a_limit_or_offset_the_database_cannot_hold(cx: Cx) -> None:
    _imported(cx)
    for args in (
        ("feedback", "--offset", HUGE),
        ("feedback", "--limit", HUGE),
        ("cases", "list", "--limit", HUGE),
        ("cases", "list", "--limit", "0"),
        ("recognition", "--limit", HUGE),
        ("alerts", "--limit", HUGE),
        ("alerts", "--limit", "-1"),
        ("audit", "--limit", HUGE),
        ("audit", "--limit", "-1"),
    ):
        refused = cx.run(*args, ok=False)
        assert "--limit" in refused.err or "--offset" in refused.err
    assert len(cx.json("feedback", "--limit", "3")) == 3


def test_cases_list_shows_the_rating_that_opened_a_case(cx: Cx) -> None:
    files = write_hotels(cx.workdir)
    cx.run("org", "import", str(files["units"]))
    cx.run("cases", "rule", "add", "--kind", "rating", "--max", "2", "--within", "30d")
    recent = cx.workdir / "recent.csv"
    day = date.today() - timedelta(days=3)
    recent.write_text(f"hotel,date,text,stars\nH-1,{day},the room smelled of smoke,2\nH-2,{day},lovely,5\n")
    cx.run("import", str(recent), "--source", "hotels", "--map", "org_unit=hotel", "--map", "rating=stars")
    [case] = list(csv.DictReader(io.StringIO(cx.run("cases", "list", "--format", "csv").out)))
    assert (case["unit"], case["rating"], case["nps"]) == ("H-1", "2.0", "")  # no rating column before
