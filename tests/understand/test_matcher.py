from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.understand.themes.matcher import Matcher, ThemeSpec

SPECS = [
    ThemeSpec(1, "Waiting time", ("queue", "waiting time", "on hold")),
    ThemeSpec(2, "Staff", ("staff", "agent")),
    ThemeSpec(3, "Friendliness", ("friendly", "rude"), ("went above and beyond",), parent_id=2),
    ThemeSpec(4, "Refunds", ("refund*",)),
]


def ids(text: str) -> list[int]:
    return [m.theme_id for m in Matcher(SPECS).mentions(text)]


def test_inflections_and_whole_words() -> None:
    assert ids("The queues were long") == [1]
    assert ids("we queued for ages") == [1]
    assert ids("Queuing again") == [1]
    assert ids("barbequeue") == []  # whole words only
    assert ids("waiting   time was bad") == [1]  # any spacing inside a phrase
    assert ids("put on-hold twice") == [1]


def test_child_mentions_count_for_the_parent() -> None:
    assert sorted(ids("so rude")) == [2, 3]
    assert sorted(ids("She went above and beyond!")) == [2, 3]


def test_prefix_keyword_and_case() -> None:
    assert ids("REFUNDED at last") == [4]
    assert ids("no refunds") == [4]


def test_spans_point_at_the_keyword() -> None:
    text = "Staff were lovely but the queue was endless"
    found = {m.theme_id: text[m.start : m.end] for m in Matcher(SPECS).mentions(text)}
    assert found == {2: "Staff", 1: "queue"}


def test_empty_inputs() -> None:
    assert Matcher([]).mentions("anything") == []
    assert Matcher(SPECS).mentions(None) == []
    assert Matcher(SPECS).mentions("") == []
    assert Matcher([ThemeSpec(1, "x", ("   ", "*", "!!"))]).mentions("a b") == []


def test_matcher_pickles_for_workers() -> None:
    m = pickle.loads(pickle.dumps(Matcher(SPECS)))
    assert [x.theme_id for x in m.mentions("rude agent")] == [2, 3]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.lists(st.text(max_size=20), max_size=5))
def test_any_text_and_keywords_never_crash_and_are_deterministic(text: str, keywords: list[str]) -> None:
    m = Matcher([ThemeSpec(1, "x", tuple(keywords))])
    first = m.mentions(text)
    assert first == m.mentions(text)
    for mention in first:
        assert 0 <= mention.start < mention.end <= len(text)
