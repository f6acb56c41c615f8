"""What discovery and analysis say besides their results (issue 15's bad input): a scope larger than
discovery reads is an even sample, named as such; comments in other languages make themes of their own
language and get no sentiment score, which is said instead of being left to be found."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cxchange.listen.ingest import ingest_items
from cxchange.understand import discovery
from cxchange.understand.analyze import analyze
from cxchange.understand.discovery import discover

ENGLISH = [
    "the room was dirty and the sheets were stained",
    "breakfast was cold and the coffee was awful",
    "friendly staff at the front desk, quick check in",
    "the wifi kept dropping in our room",
    "great location close to the beach and the station",
]
OTHER = [
    "La chambre était sale et le personnel très impoli à la réception.",
    "Das Zimmer war laut und das Frühstück kalt. Nie wieder!",
    "房间很脏，服务员态度很差。",
    "La habitación estaba sucia y el aire acondicionado no funcionaba.",
]


def _load(engine: Engine, english: int, other: int) -> None:
    texts = [f"{ENGLISH[i % 5]} ({i})" for i in range(english)] + [
        f"{OTHER[i % 4]} ({i})" for i in range(other)
    ]
    items = [
        {"external_id": f"x{i}", "received_at": f"2026-0{1 + i % 9}-1{i % 10}", "text": t, "nps": i % 11}
        for i, t in enumerate(texts)
    ]
    assert ingest_items(engine, "hotel", items)["imported"] == len(items)


def test_comments_in_other_languages_are_said(engine: Engine) -> None:
    _load(engine, english=40, other=40)
    found = discover(engine, embedder="static", seed=0)
    [note] = [n for n in found["notes"] if "not in English" in n]
    assert note.startswith("40 of 80 comments are not in English (") and "fr 10" in note and "zh 10" in note
    assert found["comments"] == found["comments_in_scope"] == 80
    done = analyze(engine)
    assert done["analysed"] == 80 and done["not_english"] == 40
    assert done["note"].startswith("40 of 80 comments analysed are not in English (")
    assert "'unsupported'" in done["note"] and "not neutral" in done["note"]


def test_english_comments_get_no_note(engine: Engine) -> None:
    _load(engine, english=60, other=1)  # one comment in 61 is under the 5 % that is worth a note
    assert discover(engine, embedder="static", seed=0)["notes"] == []
    done = analyze(engine)
    assert done["not_english"] == 1 and "note" in done  # analysis counts each one it could not score


def test_an_even_sample_of_a_larger_scope_is_named(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(engine, english=60, other=0)
    told: list[str] = []
    monkeypatch.setattr(discovery, "PROGRESS_FROM", 20)
    found = discover(engine, embedder="static", seed=0, max_comments=30, progress=told.append)
    assert found["comments"] == 30 and found["comments_in_scope"] == 60
    assert any(
        n.startswith("themes proposed from an even sample of 30 of the 60 comments") for n in found["notes"]
    )
    assert told == ["discovering themes in 30 comments of 60"]


def test_comments_without_words_are_counted(engine: Engine) -> None:
    _load(engine, english=30, other=0)
    bare = [
        {"external_id": f"b{i}", "received_at": "2026-03-03", "text": t, "nps": 5}
        for i, t in enumerate(["@HarbourHotels 4", "https://t.co/x9Yq2", "www.harbour.example 8", "👍"])
    ]
    ingest_items(engine, "hotel", bare)
    found = discover(engine, embedder="static", seed=0)
    assert "4 of 34 comments hold no word to group by" in " ".join(found["notes"])
