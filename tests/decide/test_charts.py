from __future__ import annotations

from cxchange.decide.charts import bar_chart, line_chart


def test_user_text_in_charts_is_escaped() -> None:
    evil = '<script>alert(1)</script>"><img onerror=x>'
    for svg in (
        line_chart([evil, "b"], [1.0, None], title=evil),
        bar_chart([evil], [3.0], title=evil),
        line_chart([], [], title=evil),
    ):
        assert "<script" not in svg and "<img" not in svg
        assert "&lt;script&gt;" in svg


def test_gaps_split_the_line() -> None:
    svg = line_chart(["a", "b", "c", "d"], [1.0, None, 2.0, 3.0], title="t")
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 3
