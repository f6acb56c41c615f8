"""The shared CLI layer: one span grammar, one rounding rule, one way to print an answer."""

from __future__ import annotations

import json
import math

import pytest

from cxchange.core.errors import InputError
from cxchange.core.output import emit, rounded
from cxchange.core.spans import parse_span, parse_window
from cxchange.sustain.outcomes import parse_window as outcomes_window
from cxchange.understand.service import parse_span as understand_span


@pytest.mark.parametrize(
    ("text", "days"),
    [("30d", 30), ("12w", 84), ("6m", 180), ("1y", 365), ("45", 45), (45, 45), (" 8 W ", 56), ("2M", 60)],
)
def test_one_span_grammar(text: str | int, days: int) -> None:
    assert parse_span(text, "--window") == days
    # the services that parsed spans before use this grammar (every form either accepted stays accepted)
    assert understand_span(text, "--window") == days
    assert outcomes_window(text, "--after") == days


@pytest.mark.parametrize("text", ["0d", "", "d", "-3d", "1.5w", "3q", "all", "7 days", "١٢d"])
def test_bad_spans_are_refused_naming_the_option(text: str) -> None:
    with pytest.raises(InputError, match=r"^--baseline wants a span like 30d, 12w, 6m or 1y, got "):
        parse_span(text, "--baseline")


def test_all_is_a_window_not_a_span() -> None:
    assert parse_window("all", "--before") is None
    assert parse_window(" ALL ", "--before") is None
    assert parse_window("4w", "--before") == 28


def test_one_rounding_rule() -> None:
    assert rounded(1.23456) == 1.23
    assert rounded(1.23456, 3) == 1.235
    assert rounded(None) is None
    assert rounded(math.nan) is None
    assert rounded(math.inf) is None
    assert rounded(2) == 2.0


def test_emit_json_list_and_dict(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"id": 3, "units": ["N", "S"], "owner": {"email": "a@x", "name": None}, "links": [{"unit": "N"}]}
    emit(data, "json")
    assert json.loads(capsys.readouterr().out) == data

    emit(data, "csv")  # a dict is one CSV row; nested values stay machine-readable
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,units,owner,links"
    assert lines[1].startswith('3,"[""N"", ""S""]",')

    emit(data, "table", title="t", tables=("links",))  # field/value, then the nested list as its own table
    out = capsys.readouterr().out
    assert "N, S" in out and "email=a@x" in out and "name=" not in out
    assert out.index("owner") < out.index("links")

    emit([{"a": 1, "tags": ["x", "y"]}], "csv")
    assert capsys.readouterr().out == 'a,tags\n1,"[""x"", ""y""]"\n'
