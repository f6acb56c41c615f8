"""Recognition: name matching (pure), praise detection, the service on both databases, and the planted
praised staff of the demo company found with full precision (never a person of another unit)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select
from tests.web.scoping_world import copy_of_demo

from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.models import OrgUnit
from cxchange.org.tree import import_org_rows
from cxchange.sustain import hooks
from cxchange.sustain.recognition import (
    NameIndex,
    Staff,
    _is_praise,
    edit_distance_at_most_1,
    list_recognitions,
    match_names,
    nickname_groups,
    people_named,
    recognition_counts,
    record_recognitions,
)

STAFF = [
    (1, "Priya Shah"),
    (2, "Daniel Brown"),
    (3, "Katherine Jones"),
    (4, "Will Smith"),
    (5, "Sam Green"),
    (6, "Sam White"),
    (7, "Grace Hill"),
]


def named(text: str) -> list[tuple[int, str]]:
    return [(m.person_id, m.matched) for m in people_named(STAFF, text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Priya at the Ashby store was brilliant", [(1, "Priya")]),
        ("ask for priya, she sorted it", [(1, "priya")]),  # lower case is fine for a non-word
        ("Dan was great", [(2, "Dan")]),  # nickname
        ("Danny sorted it", [(2, "Danny")]),
        ("Kate went above and beyond", [(3, "Kate")]),
        ("Pryia was lovely", [(1, "Pryia")]),  # typo (swap), name of 5+ letters
        ("Danial helped me", [(2, "Danial")]),  # typo (substitution)
        ("Katherin was kind", [(3, "Katherin")]),  # typo (deletion)
        ("thanks to Mr Shah", [(1, "Shah")]),  # surname, capitalised
        ("Priya Shah's help was great", [(1, "Priya Shah")]),
        ("Sam White was great", [(6, "Sam White")]),  # a shared first name needs the surname
        ("Sam was great", []),  # ambiguous: two Sams
        ("I will be back", []),  # an everyday word is not a name in lower case
        ("Will do again", []),  # nor as the first word of a sentence
        ("Thanks to Will for his help", [(4, "Will")]),
        ("grace under pressure", []),
        ("the trace was fine", []),  # a lower-case near-miss is an ordinary word, not a typo
        ("the brown box arrived", []),
        ("Tom was great", []),  # nobody called Tom here
    ],
)
def test_match_names(text: str, expected: list[tuple[int, str]]) -> None:
    assert named(text) == expected


def test_short_names_get_no_typo_tolerance_and_helpers() -> None:
    idx = NameIndex.build([Staff(1, "Ravi Patel"), Staff(2, "Lucy Ward")])
    assert [m.person_id for m in match_names("Ravi was kind", idx)] == [1]
    assert match_names("Ravo was kind", idx) == []  # 4 letters: exact only
    assert match_names("Lucky me", idx) == []
    assert edit_distance_at_most_1("priya", "pryia")
    assert edit_distance_at_most_1("kate", "kates")
    assert not edit_distance_at_most_1("priya", "prays")
    assert "daniel" in nickname_groups()["dan"]
    assert match_names("", idx) == []


def test_praise_rule() -> None:
    assert _is_praise(0.6, "negative")  # the clause about the person is positive
    assert not _is_praise(-0.5, "positive", "Priya was rude")
    assert _is_praise(0.0, "positive", "I spoke to Priya")
    assert not _is_praise(0.0, "neutral", "I spoke to Priya")
    assert _is_praise(-0.1, "neutral", "Priya deserves a pay rise")  # a cue the lexicon misreads
    assert not _is_praise(-0.6, "neutral", "thanks to Priya for nothing, useless")


UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "S1", "name": "Ashby", "parent": "HQ", "level": "store"},
    {"code": "S2", "name": "Barton", "parent": "HQ", "level": "store"},
]
PEOPLE = [
    {"name": "Priya Shah", "email": "priya@x.test", "unit": "S1", "role": "agent"},
    {"name": "Daniel Brown", "email": "dan@x.test", "unit": "S1", "role": "agent"},
    {"name": "Marcus Green", "email": "marcus@x.test", "unit": "S2", "role": "agent"},
]


def test_service_records_praise_in_the_unit_only(engine: Engine) -> None:
    from cxchange.understand.analyze import analyze

    import_org_rows(engine, [dict(u) for u in UNITS], [dict(p) for p in PEOPLE])
    base = datetime(2026, 5, 1, 10)
    rows = [
        ("S1", "Priya was brilliant, thank you"),
        ("S1", "Dan was wonderful and so helpful"),
        ("S1", "Marcus was brilliant"),  # Marcus works at S2: never matched across units
        ("S2", "Marcus was brilliant"),
        ("S2", "Priya was brilliant"),  # Priya works at S1
        ("S1", "Priya was rude and unhelpful"),  # not praise
        ("S1", "The store was lovely, no names"),
    ]
    frame = pl.DataFrame(
        {"external_id": [f"E{i}" for i in range(len(rows))],
         "received_at": [base + timedelta(days=i) for i in range(len(rows))],
         "org_unit": [u for u, _ in rows], "text": [t for _, t in rows], "rating": [5] * len(rows)}
    )  # fmt: skip
    maps = tuple(f"{c}={c}" for c in frame.columns)
    import_frame(
        engine, frame, ImportOptions(source="reviews", kind="review", map_options=maps, close_loop=False)
    )
    result = analyze(engine, backend="fast")  # records recognitions through hooks.after_analyze
    run = result["run"]
    assert result["recognitions"] == 3
    out = hooks.after_analyze(engine, run)
    assert out["errors"] == [] and out["recognitions"] == 0  # idempotent
    assert hooks.after_analyze(engine, run)["recognitions"] == 0  # idempotent
    recs = list_recognitions(engine)
    got = sorted((r["email"], r["unit"], r["text"]) for r in recs)
    assert got == [
        ("dan@x.test", "S1", "Dan was wonderful and so helpful"),
        ("marcus@x.test", "S2", "Marcus was brilliant"),
        ("priya@x.test", "S1", "Priya was brilliant, thank you"),
    ]
    assert [r["email"] for r in list_recognitions(engine, unit="S2")] == ["marcus@x.test"]
    assert len(list_recognitions(engine, since=date(2026, 5, 2))) == 2
    assert len(list_recognitions(engine, until=date(2026, 5, 2))) == 1
    assert sum(recognition_counts(engine).values()) == 3
    assert record_recognitions(engine)["recognitions"] == 0  # a full rescan adds nothing


# --- the demo company ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_recognitions(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the session's demo (20,000 rows, seed 42, analysed: what this module loaded and analysed
    itself before, ~8 s of CPU again), its analysis followed by the recognition hook."""
    from cxchange.core.db import get_engine
    from cxchange.understand.models import AnalysisRun

    engine = get_engine(copy_of_demo(demo_engine, tmp_path_factory.mktemp("recog") / "demo.db"))
    with engine.connect() as conn:
        [run] = conn.execute(select(AnalysisRun.id)).scalars().all()  # the demo's one analysis
    hooks.after_analyze(engine, run)
    with engine.connect() as conn:
        texts = conn.execute(
            select(Feedback.id, Feedback.text, OrgUnit.code)
            .join(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
            .where(Feedback.text.is_not(None))
        ).all()
    return {"recs": list_recognitions(engine), "texts": texts}


def test_demo_praised_staff_found_with_high_precision(demo_recognitions: dict[str, Any]) -> None:
    from cxchange.demo import TRUTH

    praised = TRUTH["praised_staff"]
    assert len(praised) == 4
    recs = demo_recognitions["recs"]
    unit_of = {p["email"]: p["unit"] for p in praised}
    # never a person of another unit, and only the people customers really praise
    assert all(r["unit"] == unit_of.get(r["email"]) for r in recs)
    truth = {
        (fid, p["email"])
        for fid, text, code in demo_recognitions["texts"]
        for p in praised
        if code == p["unit"] and re.search(rf"\b{p['first_name']}\b", text, re.I)
    }
    found = {(r["feedback_id"], r["email"]) for r in recs}
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.98, precision
    assert recall >= 0.85, recall
    for p in praised:  # each of the four, about as often as planted
        n = sum(r["email"] == p["email"] for r in recs)
        assert n >= 0.5 * p["expected_count_per_20k_rows"], (p["name"], n)
