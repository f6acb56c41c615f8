"""A store of product reviews (a 1–5 rating, no NPS), as a new user tours it: the themes report, the
simulator and the opportunities work on the rating by default, as subprocesses on a fresh database."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import Cx

REVIEWS = [
    ("Waited an hour in the queue, very slow service", 1),
    ("Waited a long time in the queue", 2),
    ("Great price and friendly staff", 5),
    ("Good value for money, nice store", 4),
    ("The staff were helpful and friendly", 5),
]


def _reviews(path: Path) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Review Text", "Rating"])
        for i in range(200):
            text, stars = REVIEWS[i % len(REVIEWS)]
            out.writerow([f"{text} (order {i})", stars if i % 7 else min(5, stars + 1)])
    return path


@pytest.mark.slow
def test_a_ratings_only_store_gets_theme_impact_simulation_and_opportunities(cx: Cx) -> None:
    csv_path = _reviews(cx.workdir / "reviews.csv")
    cx.run(
        "import", str(csv_path), "--source", "reviews", "--map", "text=Review Text", "--map", "rating=Rating"
    )
    cx.run("themes", "import", "--builtin", "cx_default")
    cx.run("analyze")
    explicit = cx.json("themes", "--metric", "rating", "--boot", "200")
    impacts = {r["name"]: r for r in explicit if r["impact"] is not None}
    assert impacts and all(r["metric"] == "rating" for r in explicit)
    waiting = impacts["Waiting time"]
    assert (
        waiting["impact"] < 0 and waiting["ci_high"] < 0 and waiting["score_with"] < waiting["score_without"]
    )
    assert cx.json("themes", "--boot", "200") == explicit  # the default is the metric the store has
    table = cx.run("themes", "--boot", "100")
    assert "impact = mean rating all − mean rating without the theme" in table.out
    as_nps = cx.run("themes", "--metric", "nps", "--boot", "0")
    assert "no nps answers in scope" in as_nps.err and "`--metric rating`" in as_nps.err
    opportunities = cx.json("opportunities", "--draws", "200")
    assert opportunities[0]["theme"] == "Waiting time" and opportunities[0]["gain"] > 0
    printed = cx.run("opportunities", "--draws", "100")
    assert "gain = mean rating after − mean rating now" in printed.out
    sim = cx.json("simulate", "--fix", "Waiting time=0.5", "--draws", "200")
    assert sim["metric"] == "rating" and sim["projected"] > sim["baseline"]
    refused = cx.run("opportunities", "--metric", "nps", ok=False)
    assert "no NPS answers in scope" in refused.err and "`--metric rating`" in refused.err
    # scores, as themes: with no --metric the store's own metric, named in the title
    assert cx.json("scores") == cx.json("scores", "--metric", "rating") and cx.json("scores")[0]["n"] == 200
    assert "rating scores" in cx.run("scores").out
    assert "rating: each group vs rest" in cx.run("compare", "--by", "attr:order_parity").out
    scores = cx.run("scores", "--metric", "nps", ok=False)
    assert "there are 200 rating answers in scope (`--metric rating`)" in scores.err
