from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from cxchange.core.db import get_engine
from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.understand.analyze import analyze
from cxchange.understand.cli_taxonomy import builtin_taxonomy
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme
from cxchange.understand.themes import taxonomy as tx

ROWS = 1_500


def _load(engine: Engine, rows: int = ROWS) -> None:
    load_demo(engine, generate(rows=rows, seed=7), analyse=False)
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))


def _assignments(engine: Engine) -> set[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeedbackTheme.feedback_id, tx.Theme.name).join(
                tx.Theme, tx.Theme.id == FeedbackTheme.theme_id
            )
        ).all()
    return {(int(f), n) for f, n in rows}


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_analyze_is_incremental_and_edits_rematch_only_what_they_touch(engine: Engine) -> None:
    _load(engine)
    first = analyze(engine)
    with engine.connect() as conn:
        comments = conn.scalar(select(func.count()).select_from(tx.Theme.metadata.tables["feedback"]).where(
            tx.Theme.metadata.tables["feedback"].c.text.is_not(None)))  # fmt: skip
    assert first["analysed"] == comments == _count(engine, FeedbackSentiment)
    assert _count(engine, FeedbackTheme) > comments // 3
    again = analyze(engine)
    assert again["analysed"] == 0 and again["rematched"] == 0
    before = _assignments(engine)

    tx.add_terms(engine, "Delivery", keywords=["brilliant"])  # a word many comments use
    third = analyze(engine)
    assert third["analysed"] == 0 and third["rematched"] == comments
    after = _assignments(engine)
    changed = {n for _, n in before ^ after}
    assert changed == {"Delivery"}  # nothing else moved

    tx.rename_theme(engine, "Delivery", "Parcels")
    assert analyze(engine)["rematched"] == 0  # a rename needs no re-match
    assert {n for _, n in _assignments(engine)} >= {"Parcels"}


def test_same_comment_same_taxonomy_same_themes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = get_engine(f"sqlite:///{tmp_path / 'a.db'}")
    b = get_engine(f"sqlite:///{tmp_path / 'b.db'}")
    for e in (a, b):
        _load(e, 800)
    analyze(a, partition_rows=97)
    analyze(b, partition_rows=5000)
    assert _assignments(a) == _assignments(b)


def test_dask_local_cluster_gives_exactly_the_single_process_result(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("dask.distributed")
    a = get_engine(f"sqlite:///{tmp_path / 'a.db'}")
    b = get_engine(f"sqlite:///{tmp_path / 'b.db'}")
    for e in (a, b):
        _load(e, 800)
    single = analyze(a, partition_rows=200)
    multi = analyze(b, partition_rows=200, workers=2)
    assert single["executor"] == "local" and multi["executor"] == "dask"
    assert _assignments(a) == _assignments(b)
    with a.connect() as ca, b.connect() as cb:
        q = select(FeedbackSentiment.feedback_id, FeedbackSentiment.score, FeedbackSentiment.label).order_by(
            FeedbackSentiment.feedback_id
        )
        assert ca.execute(q).all() == cb.execute(q).all()
