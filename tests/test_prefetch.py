"""The bounded prefetching iterator: order, errors, early stop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxchange.core.prefetch import prefetch


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=4))
def test_same_items_in_order(items: list[int], depth: int) -> None:
    assert list(prefetch(iter(items), depth=depth)) == items


def test_producer_error_is_raised_in_order() -> None:
    def gen():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for x in prefetch(gen()):
            got.append(x)
    assert got == [1]


def test_consumer_stopping_early_stops_producer() -> None:
    produced = []

    def gen():  # type: ignore[no-untyped-def]
        for i in range(1000):
            produced.append(i)
            yield i

    for x in prefetch(gen(), depth=2):
        if x == 3:
            break
    assert len(produced) < 10
