"""What the Decide → Change → Sustain tour on public data (Skytrax seat reviews with airlines as units,
the IBM telco churn file, Netflix store reviews; `eval/tour_decide.py`) found, as subprocesses on a fresh
database with its own org:

- `drivers --from attrs:…,Contract` stopped with "column 'Contract' is not numeric": a churn analysis
  could not ask about contract type, the telco file's strongest driver; and "29 row(s) missing the
  target or a predictor were left out" did not say which of five sub-ratings was blank;
- `raci check` said "no errors, no warnings" (and `initiative status` "0 error(s)") before anyone had a
  letter, and eight Change listings (raci show, readiness report, comms list, …) printed a blank line
  with exit 0 where there was nothing yet;
- the success measures' table said "baseline" and "now", and a pilot "met" its target beside a control
  that had moved twice as far, where the Initiatives page says which windows, the change and pilot −
  control.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import Cx

AIRLINES = ("A1", "A2", "A3", "A4")


def write_airlines(folder: Path) -> dict[str, Path]:
    """Four airlines; reviews of 2025 with an NPS-like 0–10 score, a 1–5 legroom rating, a 0–5 TV
    rating blank in every 10th row, and a cabin. Legroom drives the score; premium cabins score higher."""
    files = {name: folder / f"{name}.csv" for name in ("units", "people", "reviews")}
    files["units"].write_text(
        "code,name,parent,level\nCO,Airlines,,company\n" + "".join(f"{a},{a},CO,airline\n" for a in AIRLINES)
    )
    files["people"].write_text(
        "name,email,unit,role\nSam Sponsor,sam@air.test,CO,exec\nOlly Owner,olly@air.test,CO,manager\n"
    )
    with files["reviews"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["airline", "date", "review", "score", "legroom", "tv", "cabin"])
        for i in range(240):
            legroom = 1 + (i * 7) % 5
            cabin = ("Economy", "Economy", "Premium", "Business")[i % 4]
            score = min(10, 2 * legroom - 1 + (1 if cabin != "Economy" else 0) + i % 2)
            tv = "" if i % 10 == 0 else str((i * 3) % 6)
            text = "no legroom, my knees hurt" if legroom < 3 else "plenty of legroom, comfy seat"
            date = f"2025-{1 + i % 12:02d}-{1 + i % 27:02d}"
            out.writerow([AIRLINES[i % 4], date, text, score, legroom, tv, cabin])
    return files


@pytest.mark.slow
def test_decide_and_change_say_what_they_left_out_and_what_is_missing(cx: Cx) -> None:
    files = write_airlines(cx.workdir)
    cx.run("org", "import", str(files["units"]), "--people", str(files["people"]))
    cx.run(
        "import", str(files["reviews"]), "--source", "air", "--map", "org_unit=airline", "--map", "nps=score"
    )

    drivers = cx.run("drivers", "--from", "attrs:legroom,tv,cabin", "--boot", "0", "--format", "json")
    table = drivers.json()
    names = {d["driver"] for d in table["drivers"]}
    assert names == {"legroom", "tv", "cabin=Business", "cabin=Premium"}, names
    assert "cabin: 3 categories, each but 'Economy' (the most common, the reference)" in drivers.err
    assert "24 row(s) missing the target or a predictor were left out (blank: tv 24)" in drivers.err
    premium = next(d for d in table["drivers"] if d["driver"] == "cabin=Premium")
    assert premium["direction"] == "+" and 0.2 < premium["performance"] < 0.3  # a quarter fly premium

    created = cx.json(
        "initiative", "create", "--name", "Legroom", "--framework", "cx10", "--sponsor", "sam@air.test",
        "--owner", "olly@air.test", "--units", "A1,A2,A3,A4", "--pilot-units", "A1,A2",
        "--control-units", "A3,A4", "--start", "2025-07-01",
    )  # fmt: skip
    ini = str(created["id"])
    check = cx.run("raci", "check", ini, "--format", "json").json()
    assert [(f["level"], f["rule"]) for f in check] == [("warning", "no-matrix")]
    status = cx.run("initiative", "status", ini)
    assert "0 error(s), 1 warning(s)" in status.out
    for command, needle in (
        (("raci", "show", ini), f"no RACI matrix for initiative {ini} yet: `cxchange raci import {ini}"),
        (("readiness", "report", ini), f"no readiness assessment for initiative {ini} yet"),
        (("comms", "list", ini), f"plan one with `cxchange comms add {ini}"),
        (("training", "list", ini), "no training session"),
        (("resistance", "list", ini), "no resistance logged"),
        (("impact", "show", ini), "no change impact assessed"),
        (("initiative", "metric", "list", ini), "no success measure"),
        (("alerts", "rule", "list"), "no alert rules yet"),
    ):
        shown = cx.run(*command)
        assert needle in shown.out, (command, shown.out)
        assert cx.run(*command, "--format", "json").json() == []  # scripts still get an empty list

    measure = cx.run("initiative", "metric", "add", ini, "--metric", "nps", "--target", "+5")
    for column in ("baseline (365 days before)", "now (since start)", "change", "pilot − control"):
        assert column in measure.out, measure.out
    row = cx.json("initiative", "metric", "list", ini)[0]
    shown_gap = f"{row['pilot_minus_control']:+g}"
    assert shown_gap in measure.out
