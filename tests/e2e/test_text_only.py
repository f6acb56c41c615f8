"""Customer requests to a bank (banking77: a short text and its intent, no date, no score), toured as a
new user does, as subprocesses on a fresh database.

`scores` said "no nps answers in scope" (there is no score of any kind), and `emerging`, after a
complete `analyze`, said "no analysed comments: ... run `cxchange analyze`": a circle.
"""

from __future__ import annotations

import csv

import pytest

from .conftest import Cx

REQUESTS = [
    ("I still have not received my new card, I ordered over a week ago.", "card_arrival"),
    ("My card payment was declined at the shop", "declined_card_payment"),
    ("Why is my top up still pending?", "pending_top_up"),
    ("The exchange rate you charged me is wrong", "exchange_rate"),
]


@pytest.mark.slow
def test_a_text_only_store_says_what_it_lacks_and_where_to_go(cx: Cx) -> None:
    path = cx.workdir / "banking77_test.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["text", "category"])
        out.writerows((f"{text} ({i})", category) for i in range(10) for text, category in REQUESTS)
    assert cx.json("import", str(path), "--source", "bank")["imported"] == 40
    assert cx.json("analyze")[0]["analysed"] == 40
    refused = cx.run("scores", ok=False)
    assert "no score answers in scope (all feedback): no nps, csat, ces or rating" in refused.err
    assert "`cxchange themes`" in refused.err
    asked = cx.run("scores", "--metric", "csat", ok=False)  # named: said as before
    assert "no csat answers in scope (all feedback)" in asked.err
    undated = cx.run("emerging", ok=False)
    assert "no dated analysed comments in scope" in undated.err and "`cxchange redate COLUMN`" in undated.err
    assert "run `cxchange analyze`" not in undated.err
    assert "no alerts fired" in cx.run("alerts").out  # it printed a blank line
    # undated: the report and a comparison of periods name the way to dates, not only the wall
    for args in (
        ("report", "--output", "r.html"),
        ("compare", "--by", "attr:category", "--vs", "previous-period"),
    ):
        assert "`cxchange redate COLUMN`" in cx.run(*args, ok=False).err
    assert cx.json("alerts") == []
