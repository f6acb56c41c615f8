"""Clause splitting and sentiment per theme mention."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.understand.sentiment import get_backend, score_mentions, score_mentions_batch, split_clauses
from cxchange.understand.sentiment.base import Sentiment


def clauses(text: str) -> list[str]:
    return [text[a:b] for a, b in split_clauses(text)]


def mention(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("staff were lovely but the queue was endless", ["staff were lovely", "but the queue was endless"]),
        ("Great food. Slow service!  Never again", ["Great food.", "Slow service!", "Never again"]),
        ("good value; however the room was dirty", ["good value;", "however the room was dirty"]),
        (
            "Although the food was good, the service was slow",
            ["Although the food was good,", "the service was slow"],
        ),
        ("I liked it even though it was late", ["I liked it", "even though it was late"]),
        ("The food was good, the service was awful", ["The food was good,", "the service was awful"]),
        ("cheap, yet it works", ["cheap,", "yet it works"]),
        ("Not yet delivered", ["Not yet delivered"]),
        ("line one\nline two", ["line one", "line two"]),
        ("Great!!! :)", ["Great!!! :)"]),
        ("the price is 3.50 per cup", ["the price is 3.50 per cup"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_clauses(text: str, expected: list[str]) -> None:
    assert clauses(text) == expected


@pytest.mark.parametrize("name", ["fast", "best"])
def test_mentions_get_their_clause_sentiment(name: str) -> None:
    backend = get_backend(name)
    text = "staff were lovely but the queue was endless"
    staff, queue = score_mentions(backend, text, [mention(text, "staff"), mention(text, "queue")])
    assert staff is not None and staff > 0.05
    assert queue is not None and queue < -0.05


def test_mentions_order_out_of_range_and_empty() -> None:
    backend = get_backend("fast")
    text = "Checkout was quick and easy. The delivery was late and the box was damaged."
    spans = [mention(text, "box"), mention(text, "Checkout"), (500, 505), mention(text, "delivery")]
    box, checkout, outside, delivery = score_mentions(backend, text, spans)
    assert box == delivery and box is not None and box < 0
    assert checkout is not None and checkout > 0
    assert outside is None
    assert score_mentions(backend, text, []) == []
    assert score_mentions(backend, "", [(0, 3)]) == [None]


def test_mentions_in_text_that_cannot_be_scored() -> None:
    text = "Le service était très lent et le personnel pas aimable"
    assert score_mentions(get_backend("fast"), text, [mention(text, "service")]) == [None]


class CountingBackend:
    """Wraps a back-end and records what it was asked to score."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = get_backend("fast")
        self.calls: list[list[str]] = []

    def score(self, texts: list[str]) -> list[Sentiment]:  # type: ignore[override]
        self.calls.append(list(texts))
        return self.inner.score(texts)


def test_batch_scores_each_distinct_clause_once() -> None:
    texts = [
        "The app is great but support never called back",
        "The app is great but delivery was late",
        "Love it",
    ]
    items = [
        (texts[0], [mention(texts[0], "app"), mention(texts[0], "support")]),
        (texts[1], [mention(texts[1], "app"), mention(texts[1], "delivery")]),
        (texts[2], []),
    ]
    counting = CountingBackend()
    out = score_mentions_batch(counting, items)
    assert len(counting.calls) == 1
    assert len(counting.calls[0]) == 3  # "The app is great" is scored once for both texts
    assert out == [score_mentions(get_backend("fast"), t, s) for t, s in items]
    assert out[0][0] == out[1][0] and out[2] == []


_words = st.lists(
    st.sampled_from(["good", "bad", "but", "the", "staff", "queue", ",", ".", ";", "\n", "although", "yet",
                     "!!!", "😡", "however", "though", " ", "is", "slow"]),
    max_size=40,
).map(" ".join)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(max_size=120), _words), data=st.data())
def test_clause_properties(text: str, data: st.DataObject) -> None:
    spans = split_clauses(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert text[start:end].strip() == text[start:end]
        previous_end = end
    n = len(text)
    span = st.tuples(st.integers(0, n + 5), st.integers(0, 10)).map(lambda t: (t[0], t[0] + t[1]))
    mentions = data.draw(st.lists(span, max_size=6))
    scores = score_mentions(get_backend("fast"), text, mentions)
    assert len(scores) == len(mentions)
    assert all(s is None or -1.0 <= s <= 1.0 for s in scores)
