"""Streaming ingest's one-pass check of an item (`_plainly_fine`) never accepts what the full check
refuses: the answer for every item is the full check's."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.listen.ingest import ID_MAX, ITEM_KEYS, _full_refusal, _plainly_fine, _refusal

_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["a\x00b", "x\\u0000", "x" * (ID_MAX + 1), "x" * ID_MAX, ""]),
)
_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(10**200, 10**210), st.floats(), _TEXT
)
_NESTED = st.one_of(st.lists(_SCALAR, max_size=2), st.dictionaries(st.text(max_size=3), _SCALAR, max_size=2))
_ATTR_NAME = st.one_of(st.text(max_size=6), st.sampled_from(["text", "org_unit", "__x", "unit", "channel"]))
_ATTRIBUTES = st.one_of(
    st.dictionaries(_ATTR_NAME, st.one_of(_SCALAR, _NESTED), max_size=3),
    _SCALAR,
    st.lists(_SCALAR, max_size=1),
)
_KEY = st.one_of(st.sampled_from(sorted(ITEM_KEYS - {"attributes"})), st.just("surprise"))
_ITEM = st.one_of(
    st.builds(
        lambda fields, attrs: {**fields, **({"attributes": attrs} if attrs is not None else {})},
        st.dictionaries(_KEY, st.one_of(_SCALAR, _NESTED), max_size=5),
        st.one_of(st.none(), _ATTRIBUTES),
    ),
    _SCALAR,
    st.lists(_SCALAR, max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(_ITEM)
def test_the_quick_check_only_passes_what_the_full_check_accepts(item: Any) -> None:
    if _plainly_fine(item):
        assert _full_refusal(item) is None
    assert _refusal(item) == _full_refusal(item)


def test_the_usual_item_takes_the_quick_path() -> None:
    item = {
        "external_id": "a1",
        "nps": 9,
        "text": "great staff",
        "unit": "U1",
        "attributes": {"channel": "web"},
    }
    assert _plainly_fine(item) and _refusal(item) is None
    assert not _plainly_fine({**item, "text": "a\x00"}) and _refusal({**item, "text": "a\x00"})
