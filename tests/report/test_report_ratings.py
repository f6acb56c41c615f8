"""The executive report of a store that has star ratings and no NPS: its score is the rating, and theme
impact and key drivers are on the rating (they were "impact on NPS: not enough answers")."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from cxchange.listen.service import ImportOptions, import_frame
from cxchange.report.build import build_report
from cxchange.report.render import render_html
from cxchange.understand.analyze import analyze
from cxchange.understand.cli_taxonomy import builtin_taxonomy
from cxchange.understand.themes import taxonomy as tx

TEXTS = [
    ("The staff were rude and slow", 1),
    ("Waited an hour in the queue", 2),
    ("Great price, friendly staff", 5),
    ("Lovely shop, easy visit", 4),
]


def test_a_ratings_store_reports_on_its_rating(engine: Engine) -> None:
    rows = 240
    frame = pl.DataFrame(
        {
            "Comment": [f"{TEXTS[i % 4][0]} (visit {i})" for i in range(rows)],
            "Stars": [str(min(5, TEXTS[i % 4][1] + (i % 7 == 0))) for i in range(rows)],
            "Date": [f"2026-{1 + (i % 6):02d}-{1 + (i % 27):02d}" for i in range(rows)],
        }
    )
    options = ImportOptions(
        source="reviews", map_options=("text=Comment", "rating=Stars", "received_at=Date")
    )
    import_frame(engine, frame, options)
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    analyze(engine)
    data = build_report(engine, period="2026-Q2")
    assert [s["metric"] for s in data["scores"]] == ["rating"]
    assert data["metric"] == "rating" and data["metric_label"] == "Rating"
    waiting = next(t for t in data["themes"]["all"] if t["name"] == "Waiting time")
    assert (
        waiting["impact"] is not None
        and waiting["impact"] < 0
        and waiting["score_with"] < waiting["score_without"]
    )
    assert any(line.startswith("Biggest drag on Rating:") for line in data["highlights"])
    html = render_html(data)
    assert "Top themes by impact on Rating" in html and "Key drivers of Rating" in html
    assert "impact on NPS" not in html and "drivers of NPS" not in html
