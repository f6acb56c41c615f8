"""core/bulk.py on SQLite and PostgreSQL: COPY stores exactly what an INSERT would (nulls, floats to the
last bit, text with COPY's special characters), constraints still hold, `id_in` picks the same rows, and
`inserted_id` is the new row's id."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from tests.e2e.world import make_feedback

from cxchange.core.bulk import id_in, insert_rows, inserted_id
from cxchange.listen.import_types import ImportOptions
from cxchange.listen.models import Feedback
from cxchange.listen.service import import_file
from cxchange.understand.models import AnalysisRun, FeedbackSentiment


@pytest.fixture
def stored(engine: Engine, tmp_path) -> list[int]:  # type: ignore[no-untyped-def]
    """40 feedback rows and one analysis run (id 1); the rows' ids."""
    csv = tmp_path / "fb.csv"
    make_feedback(csv, date.today(), rows=40)
    import_file(engine, csv, ImportOptions(source="s"))
    with engine.begin() as conn:
        conn.execute(insert(AnalysisRun).values(id=1, backend="fast", taxonomy_version=0, scope={}))
        return [int(i) for i in conn.scalars(select(Feedback.id).order_by(Feedback.id))]


def test_insert_rows_stores_exactly_what_was_given(engine: Engine, stored: list[int]) -> None:
    rows = [
        (stored[0], 0.1 + 0.2, "positive", "en", "fast", 1),
        (stored[1], None, "neutral", None, "fast", 1),
        (stored[2], -1e-300, "neg\tat\\ive\n", "x,y", "fast", 1),  # COPY's delimiters and escapes
    ]
    columns = ("feedback_id", "score", "label", "language", "backend", "run_id")
    with engine.begin() as conn:
        insert_rows(conn, FeedbackSentiment.__table__, columns, rows)
        insert_rows(conn, FeedbackSentiment.__table__, columns, [])  # nothing: no statement, no error
    with engine.connect() as conn:
        back = conn.execute(
            select(*[FeedbackSentiment.__table__.c[c] for c in columns]).order_by("feedback_id")
        )
        assert [tuple(r) for r in back] == rows


def test_insert_rows_keeps_the_constraints_and_the_transaction(engine: Engine, stored: list[int]) -> None:
    columns = ("feedback_id", "score", "label", "language", "backend", "run_id")
    with engine.begin() as conn:
        insert_rows(
            conn, FeedbackSentiment.__table__, columns, [(stored[0], 0.5, "positive", "en", "fast", 1)]
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(delete(FeedbackSentiment))
        insert_rows(
            conn, FeedbackSentiment.__table__, columns, [(stored[1], 0.5, "positive", "en", "fast", 1)] * 2
        )
    with engine.connect() as conn:  # the failed transaction took its deletion with it
        assert conn.scalars(select(FeedbackSentiment.feedback_id)).all() == [stored[0]]


def test_id_in_selects_the_same_rows_as_in(engine: Engine, stored: list[int]) -> None:
    wanted = [*stored[3:30:3], 10**12]  # and an id that is not there
    with engine.connect() as conn:
        found = conn.scalars(
            select(Feedback.id).where(id_in(Feedback.id, wanted, conn.dialect.name)).order_by(Feedback.id)
        ).all()
        both = select(Feedback.id).where(
            id_in(Feedback.id, wanted[:4], conn.dialect.name),
            id_in(Feedback.id, wanted[2:], conn.dialect.name),
        )
        assert conn.scalars(both).all() == wanted[2:4]  # two lists in one statement keep their own values
    assert found == wanted[:-1]


def test_inserted_id_is_the_new_rows_id(engine: Engine) -> None:
    with engine.begin() as conn:
        first = inserted_id(conn, insert(AnalysisRun).values(backend="fast", taxonomy_version=0, scope={}))
        second = inserted_id(conn, insert(AnalysisRun).values(backend="best", taxonomy_version=0, scope={}))
        backends = dict(conn.execute(select(AnalysisRun.id, AnalysisRun.backend)).all())
    assert type(first) is int and type(second) is int
    assert second > first
    assert (backends[first], backends[second]) == ("fast", "best")
