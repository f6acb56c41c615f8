"""An airline's seat reviews (a 1–10 rating, no NPS, airlines as units), toured as a new user does:
the change and sustain half of the loop (success measures, outcomes and their plan, the scorecard) on
the score the store has and the org it has, as subprocesses on a fresh database.

On the Skytrax seat reviews every one of these answered "no nps data" or "no org level 'store'".
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from .conftest import Cx

AIRLINES = ["AERO", "BLUE", "CLOUD", "DELTA-WING", "EAGLE", "FALCON"]
PILOT, CONTROL = AIRLINES[:3], AIRLINES[3:]
START = date(2014, 7, 1)
TEXTS = [
    ("no legroom at all and the seat would not recline", 2),
    ("the seat was narrow and my back hurt after the long haul flight", 3),
    ("comfortable seat and plenty of legroom", 8),
    ("friendly crew, good food, decent seat", 7),
]


def write_airlines(folder: Path) -> dict[str, Path]:
    """Units (a group and six airlines), two people, and 12 months of reviews: 12 a month per airline,
    the pilot airlines rated 2 points better from the start. The airline is a column, never mapped."""
    rng = random.Random(7)
    files = {name: folder / f"{name}.csv" for name in ("units", "people", "reviews")}
    with files["units"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "parent", "level"])
        out.writerow(["ALL", "All airlines", "", "group"])
        out.writerows([code, code.title(), "ALL", "airline"] for code in AIRLINES)
    with files["people"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "email", "unit", "role"])
        out.writerow(["Ann Sponsor", "ann@air.test", "ALL", "executive"])
        out.writerow(["Owen Owner", "owen@air.test", "ALL", "manager"])
    with files["reviews"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["airline_name", "date", "content", "overall_rating"])
        day = date(2014, 1, 1)
        while day < date(2015, 1, 1):
            for code in AIRLINES:
                for i in range(12):
                    text, base = TEXTS[rng.randrange(len(TEXTS))]
                    lift = 2 if code in PILOT and day >= START else 0
                    rating = max(1, min(10, base + lift + rng.choice([-1, 0, 0, 1])))
                    when = day + timedelta(days=(i * 2) % 28)
                    out.writerow([code.lower(), when.isoformat(), f"{text} ({code} {when} {i})", rating])
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return files


@pytest.mark.slow
def test_a_ratings_store_measures_its_initiative_on_ratings_without_being_told(cx: Cx) -> None:
    files = write_airlines(cx.workdir)
    cx.json("org", "import", str(files["units"]), "--people", str(files["people"]))
    cx.json(
        "import", str(files["reviews"]), "--source", "seat-reviews", "--rating-scale", "10",
        "--map", "org_unit=airline_name", "--map", "rating=overall_rating",
    )  # fmt: skip
    created = cx.json(
        "initiative", "create", "--name", "Seat comfort", "--framework", "cx10", "--sponsor", "ann@air.test",
        "--owner", "owen@air.test", "--units", ",".join(AIRLINES), "--pilot-units", ",".join(PILOT),
        "--control-units", ",".join(CONTROL), "--start", START.isoformat(),
    )  # fmt: skip
    ini = str(created["id"])
    # the success measure the business case proposes for a ratings store ("rating: +N points")
    measure = cx.json("initiative", "metric", "add", ini, "--metric", "rating", "--target", "+1")
    assert measure
    outcome = cx.json("outcomes", ini)
    assert outcome["metric"] == "rating" and outcome["mode"] == "did"
    assert outcome == cx.json("outcomes", ini, "--metric", "rating")
    assert outcome["did"] > 1  # the pilot airlines gained about 2 points
    assert "rating, pilot vs control" in cx.run("outcomes", ini).out
    plan = cx.json("outcomes", "plan", ini)
    assert plan == cx.json("outcomes", "plan", ini, "--metric", "rating")
    refused = cx.run("outcomes", ini, "--metric", "nps", ok=False)  # asked for: still said plainly
    assert "no nps data" in refused.err
    card = cx.json("scorecard")
    assert {r["unit"] for r in card} == set(AIRLINES)  # the org's lowest level: airlines
    # the latest complete quarter (the last review is from 23 December)
    assert {r["metric"] for r in card} == {"rating"} and card[0]["period"] == "2014-Q3"
    assert card == cx.json("scorecard", "--by", "org:airline", "--metric", "rating")
    assert "rating scorecard, 2014-Q3" in cx.run("scorecard").out


@pytest.mark.slow
def test_reviews_imported_without_their_airline_mapped_are_linked_by_that_column(cx: Cx) -> None:
    """The Skytrax path: reviews imported first, airline left as a plain column; the units come after.
    Importing again with the mapping skips every row as a duplicate (and now says so, naming the way
    out); `org link airline_name` links them, and scores by unit see every airline."""
    files = write_airlines(cx.workdir)
    reviews = ("import", str(files["reviews"]), "--source", "seat-reviews", "--rating-scale", "10")
    first = cx.json(*reviews)
    assert first["imported"] == 864 and first["unknown_unit_rows"] == 0  # airline_name: an attribute
    assert cx.json("org", "import", str(files["units"]))[0]["feedback_linked"] == 0
    again = cx.run(*reviews, "--map", "org_unit=airline_name")
    assert "864 row(s) of this source were stored before without org_unit" in again.out
    assert "`cxchange org link airline_name`" in again.out
    assert {r["group"]["unit"] for r in cx.json("scores", "--by", "unit")} == {None}  # the dead end
    linked = cx.json("org", "link", "airline_name")
    assert linked["feedback_linked"] == 864 and linked["unknown_units"] == []
    by_unit = {r["group"]["unit"]: r["n"] for r in cx.json("scores", "--by", "unit")}
    assert by_unit == {code.title(): 144 for code in AIRLINES}
    assert "linked 0 feedback row(s)" in cx.run("org", "link", "airline_name").out
    refused = cx.run("org", "link", "airline", ok=False)
    assert "no feedback has the attribute 'airline'" in refused.err


def test_app_reviews_imported_undated_are_dated_from_their_kept_column(cx: Cx) -> None:
    """Google Play's export names its date `at`, which no rule knows: the reviews are imported undated
    (the import names `at` as a column that reads as dates). Importing again with the mapping skips
    every row as a duplicate, and says so with the way out; `redate at` dates them."""
    path = cx.workdir / "app.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["text", "score", "appVersion", "at"])
        for i in range(60):
            out.writerow(
                [
                    f"review {i}: {TEXTS[i % 4][0]}",
                    1 + i % 5,
                    "8.1",
                    f"2024-0{4 + i % 3}-1{i % 9} 1{i % 10}:00:00",
                ]
            )
    first = cx.run("import", str(path), "--source", "playstore")
    assert "read as dates: at" in first.out and "`cxchange redate COLUMN`" in first.out
    again = cx.run("import", str(path), "--source", "playstore", "--map", "received_at=at")
    assert "60 row(s) of this source were stored before without received_at" in again.out
    assert "`cxchange redate at`" in again.out
    assert [r["group"]["month"] for r in cx.json("scores", "--by", "month")] == [None]  # the dead end
    dated = cx.json("redate", "at")
    assert dated["dated"] == 60 and dated["unread"] == 0
    months = {r["group"]["month"]: r["n"] for r in cx.json("scores", "--by", "month")}
    assert months == {"2024-04": 20, "2024-05": 20, "2024-06": 20}
    assert "dated 0 feedback row(s)" in cx.run("redate", "at").out
    # every row dated now: importing again says nothing of dates it would not fill in
    assert (
        "stored before without"
        not in cx.run("import", str(path), "--source", "playstore", "--map", "received_at=at").out
    )
