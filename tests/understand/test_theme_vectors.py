"""`analyze` reuses the vectors `themes discover --save` computed: each comment is embedded once, and
the themes are the same as when it embeds them itself (issue 15's speed target)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select

from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.listen.models import Feedback
from cxchange.understand.analyze import analyze
from cxchange.understand.discovery import NOT_JSON, discover, save_discovery
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme, ThemeVector
from cxchange.understand.themes import embedders
from cxchange.understand.themes.embedders import RecordingEmbedder, StaticEmbedder
from cxchange.understand.themes.relevance import ThemeModel, text_key

ROWS = 600


class Counting:
    """The static embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.texts = 0

    def wrap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        inner = StaticEmbedder.embed

        def embed(me: StaticEmbedder, texts: list[str]) -> np.ndarray:
            self.texts += len(texts)
            return inner(me, texts)

        monkeypatch.setattr(StaticEmbedder, "embed", embed)


def _assignments(engine: Engine) -> list[tuple[int, int, float | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeedbackTheme.feedback_id, FeedbackTheme.theme_id, FeedbackTheme.relevance).order_by(
                FeedbackTheme.feedback_id, FeedbackTheme.theme_id
            )
        ).all()
    return [(int(f), int(t), r) for f, t, r in rows]


def _discover_save(engine: Engine) -> dict:
    load_demo(engine, generate(rows=ROWS, seed=3), analyse=False)
    result = discover(engine, embedder="static", seed=0)
    assert result["embedder"] == "static"
    save_discovery(engine, result)
    return result


def test_analyze_embeds_no_comment_discovery_embedded_and_assigns_the_same(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _discover_save(engine)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(ThemeVector))
    # Every comment, also those grouping did not need (no content word, no theme: "n/a", emoji).
    assert stored == len(result["vectors"]) == result["comments"]
    counter = Counting()
    counter.wrap(monkeypatch)
    analyze(engine)
    reused = _assignments(engine)
    assert reused and counter.texts == 0
    # The same comments and taxonomy version, the vectors gone: analyze embeds them itself and gives
    # every comment the same themes with the same relevances.
    with engine.begin() as conn:
        conn.execute(delete(FeedbackTheme))
        conn.execute(delete(FeedbackSentiment))
        conn.execute(delete(ThemeVector))
    analyze(engine)
    assert counter.texts >= stored
    assert _assignments(engine) == reused


def test_comments_without_content_words_get_vectors_and_the_same_themes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery stores vectors for the comments it did not group (no content word), so that analyze
    need not load the embedder for them; their themes are those analyze gives when it embeds them."""
    load_demo(engine, generate(rows=ROWS, seed=3), analyse=False)
    with engine.begin() as conn:  # a few comments with no word discovery can use
        ids = conn.scalars(select(Feedback.id).order_by(Feedback.id).limit(5)).all()
        for fid, text in zip(ids, ["n/a", "???", "What is this witdrawal", "ok", "-"], strict=True):
            conn.execute(Feedback.__table__.update().where(Feedback.id == fid).values(text=text))
    result = discover(engine, embedder="static", seed=0)
    save_discovery(engine, result)
    with engine.connect() as conn:
        have = set(conn.scalars(select(ThemeVector.feedback_id)))
    assert set(ids) <= have
    counter = Counting()
    counter.wrap(monkeypatch)
    analyze(engine)
    assert counter.texts == 0
    reused = _assignments(engine)
    with engine.begin() as conn:
        conn.execute(delete(FeedbackTheme))
        conn.execute(delete(FeedbackSentiment))
        conn.execute(delete(ThemeVector).where(ThemeVector.feedback_id.in_(ids)))
    analyze(engine)
    assert counter.texts == len(ids)  # embedded by analyze itself now
    assert _assignments(engine) == reused


def test_a_comment_whose_text_changed_is_embedded_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored vector is used only for the very string it was computed from."""
    _discover_save(engine)
    with engine.begin() as conn:
        conn.execute(ThemeVector.__table__.update().values(text_key="0" * 32))
    counter = Counting()
    counter.wrap(monkeypatch)
    analyze(engine)
    assert counter.texts > 0


def test_discovery_result_keeps_vectors_out_of_its_printable_part(engine: Engine) -> None:
    result = _discover_save(engine)
    assert set(NOT_JSON) <= set(result)
    fid, key, vec = result["vectors"][0]
    assert isinstance(fid, int) and len(key) == 32 and vec.dtype == np.float32


def test_recording_embedder_embeds_each_text_once_with_its_own_row() -> None:
    static = embedders.get_embedder("static")
    assert static is not None
    rec = RecordingEmbedder(static)
    texts = ["card not arrived", "refund please", "card not arrived", "pin blocked"]
    out = rec.embed(texts)
    assert len(rec.seen) == 3 and np.array_equal(out[0], out[2])
    assert np.allclose(out, np.vstack([static.embed([t]) for t in texts]), atol=1e-6)
    assert rec.name == "static" and rec.cheap


def test_model_uses_known_vectors_only_for_their_string(monkeypatch: pytest.MonkeyPatch) -> None:
    from cxchange.understand.themes.discover import discover_themes

    texts = ["my card has not arrived", "I was charged twice", "the app keeps crashing"] * 20
    found = discover_themes(texts, embedder="static", seed=0, with_model=True)
    model = ThemeModel.from_bytes(found.model.to_bytes())
    assert model.reuses_vectors and found.vectors
    known = {key: v for key, v in found.vectors.values()}
    assert all(text_key(model.embedded_text(t)) in known for t in texts)  # keys survive the round-trip
    counter = Counting()
    counter.wrap(monkeypatch)
    with_known = model.assign(texts, known=known)
    assert counter.texts == 0
    assert with_known == model.assign(texts)
    assert counter.texts == len(texts)
