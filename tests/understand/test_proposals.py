"""Theme proposals reviewed before they join the taxonomy: propose, accept with renames, merges and drops."""

from __future__ import annotations

import random

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.understand import proposals
from cxchange.understand.proposals import Choice
from cxchange.understand.themes.taxonomy import theme_rows

KINDS = {
    "parcel": ["the parcel arrived late", "courier lost my parcel", "parcel delivery was slow again"],
    "refund": ["still waiting for my refund", "refund never arrived after the return", "refund took weeks"],
    "password": ["cannot reset my password", "password reset email never came", "locked out, password fails"],
}


def _load(engine: Engine, n: int = 240, source: str = "tickets") -> None:
    rng = random.Random(4)
    rows = []
    for i in range(n):
        kind = list(KINDS)[i % 3]
        text = f"{rng.choice(KINDS[kind])} {rng.choice(['today', 'this week', 'again', ''])}".strip()
        rows.append({"id": f"{source}{i}", "text": text, "day": f"2026-03-{1 + i % 28:02d}"})
    options = ImportOptions(source=source, map_options=("external_id=id", "text=text", "received_at=day"))
    import_frame(engine, pl.DataFrame(rows), options)


def test_accept_renames_merges_and_drops(engine: Engine) -> None:
    _load(engine)
    proposal = proposals.propose(engine, source="tickets", max_themes=4, embedder="tfidf")
    names = [t["name"] for t in proposal["themes"]]
    assert len(names) >= 3
    top = [i for i, t in enumerate(proposal["themes"]) if t["parent"] is None]
    keep, merged, dropped = top[0], top[1], top[2]
    choices = [Choice(i, keep=True) for i in range(len(names))]
    choices[keep] = Choice(keep, keep=True, name="Renamed by a person")
    choices[merged] = Choice(merged, keep=True, merge_into=keep)
    choices[dropped] = Choice(dropped, keep=False)
    done = proposals.accept(
        engine, source="tickets", max_themes=4, seed=0, embedder="tfidf",
        expected_fingerprint=proposal["fingerprint"], choices=choices,
    )  # fmt: skip
    taxonomy = {r["name"] for r in theme_rows(engine)}
    assert "Renamed by a person" in taxonomy
    assert names[merged] not in taxonomy and names[dropped] not in taxonomy
    assert done["merged"] == [names[merged]] and names[dropped] in done["dropped"]


def test_accept_refuses_when_the_comments_changed(engine: Engine) -> None:
    _load(engine)
    proposal = proposals.propose(engine, source="tickets", max_themes=4, embedder="tfidf")
    _load(engine, n=30, source="other")  # another source's comments do not change this proposal
    args = {"source": "tickets", "max_themes": 4, "seed": 0, "embedder": "tfidf",
            "expected_fingerprint": proposal["fingerprint"], "choices": [Choice(0)]}  # fmt: skip
    rows = [{"id": "late1", "text": "parcel lost by the courier", "day": "2026-04-01"}]
    options = ImportOptions(source="tickets", map_options=("external_id=id", "text=text", "received_at=day"))
    import_frame(engine, pl.DataFrame(rows), options)  # a new comment in the proposal's own source
    with pytest.raises(InputError, match="changed since"):
        proposals.accept(engine, **args)
    assert proposals.fingerprint(engine, "tickets") != proposal["fingerprint"]


def test_choices_are_checked(engine: Engine) -> None:
    _load(engine)
    p = proposals.propose(engine, source="tickets", max_themes=4, embedder="tfidf")
    args = {"source": "tickets", "max_themes": 4, "seed": 0, "embedder": "tfidf",
            "expected_fingerprint": p["fingerprint"]}  # fmt: skip
    n = len(p["themes"])
    with pytest.raises(InputError, match="no proposal kept"):
        proposals.accept(engine, **args, choices=[Choice(i, keep=False) for i in range(n)])
    with pytest.raises(InputError, match="cannot be merged"):
        proposals.accept(engine, **args, choices=[Choice(0, merge_into=0)])
    with pytest.raises(InputError, match="same name"):
        proposals.accept(engine, **args, choices=[Choice(0, name="Twice"), Choice(1, name="twice")])
    with pytest.raises(InputError, match="no source"):
        proposals.propose(engine, source="nope", embedder="tfidf")


def test_backlog_counts_what_analysis_has_left(engine: Engine) -> None:
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    _load(engine, n=60)
    assert proposals.backlog(engine) == {
        "comments": 60, "analysed": 0, "not_analysed": 60, "running": False, "run": None,
    }  # fmt: skip
    add_theme(engine, "Refunds", keywords=["refund"])
    analyze(engine)
    after = proposals.backlog(engine)
    assert (after["analysed"], after["not_analysed"], after["running"]) == (60, 0, False)
