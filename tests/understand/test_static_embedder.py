"""The static embedder: distilled MiniLM token rows, numpy + tokenizers only, and its artefact checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxchange.core.errors import InputError
from cxchange.understand.themes import discover_themes, embedders
from cxchange.understand.themes.embedders import STATIC_TOKENIZER, STATIC_VECTORS, StaticEmbedder


def _unit(e: np.ndarray) -> np.ndarray:
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def test_similar_requests_are_closer_than_unrelated_ones() -> None:
    e = _unit(
        embedders.get_embedder("static").embed(  # type: ignore[union-attr]
            ["my card has not arrived yet", "when will my new card be delivered", "the dress fits well", ""]
        )
    )
    assert e.shape == (4, e.shape[1]) and e.shape[1] >= 128
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    assert not e[3].any()  # nothing to embed: a zero row, not noise


def test_corpus_weights_lift_rare_tokens_and_keep_the_table_shared() -> None:
    base = embedders.get_embedder("static")
    assert isinstance(base, StaticEmbedder)
    texts = ["love the fit of this dress", "love the fit of these jeans", "love the fit"] * 5
    w = base.corpus_weights(texts)
    tok = base._tokenizer
    love, jeans = tok.token_to_id("love"), tok.token_to_id("jeans")
    assert w[jeans] > w[love]
    weighted = base.weighted(w)
    assert weighted._table is base._table and base.token_weights is None
    a, b = _unit(weighted.embed(texts[:2])), _unit(base.embed(texts[:2]))
    assert a[0] @ a[1] < b[0] @ b[1]  # the words that tell them apart weigh more
    with pytest.raises(InputError, match="token weights"):
        base.weighted(np.ones(3))


def test_missing_or_damaged_artefact_is_an_error_naming_the_file(tmp_path: Path) -> None:
    missing = StaticEmbedder(tmp_path / "nope.npz", STATIC_TOKENIZER)
    with pytest.raises(InputError, match=r"nope\.npz"):
        missing.embed(["x"])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(InputError, match=r"bad\.npz"):
        StaticEmbedder(bad, STATIC_TOKENIZER).embed(["x"])
    bad_tok = tmp_path / "tok.json.gz"
    bad_tok.write_bytes(b"\x1f\x8b broken")
    with pytest.raises(InputError, match=r"tok\.json\.gz"):
        StaticEmbedder(STATIC_VECTORS, bad_tok).embed(["x"])


def test_cluster_count_follows_the_data() -> None:
    """Two subjects give fewer themes than eight: the count is found, not fixed."""
    rng = np.random.default_rng(0)
    subjects = [
        "my card has not arrived", "I was charged twice", "the app keeps crashing", "my refund is late",
        "the queue was very long", "the staff were rude", "the parcel was damaged", "the price went up",
    ]  # fmt: skip
    fillers = ["please help", "today"]

    def corpus(k: int) -> list[str]:
        return [f"{subjects[i % k]} {fillers[int(rng.integers(2))]}" for i in range(400)]

    two = discover_themes(corpus(2), embedder="static", seed=0)
    eight = discover_themes(corpus(8), embedder="static", seed=0)
    n_two, n_eight = (len(set(f.labels.tolist()) - {-1}) for f in (two, eight))
    assert n_two < n_eight and n_eight >= 6


def test_static_path_imports_no_torch() -> None:
    code = (
        "import sys; from cxchange.understand.themes import discover_themes; "
        "discover_themes(['the queue was long', 'rude staff here'] * 20, embedder='static'); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules, 'model2vec' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False False"


def test_static_discovery_recovers_the_demo_planted_themes() -> None:
    import polars as pl

    from cxchange.demo import generate

    planted = generate(3_000, seed=42).planted.filter(pl.col("text").is_not_null())
    found = discover_themes(planted["text"].to_list(), seed=0, embedder="static", with_model=True)
    assert found.embedder == "static" and found.unassigned / planted.height < 0.1
    for name in ("waiting_time", "staff_friendliness", "delivery", "billing", "returns_refunds"):
        mentions = (planted[name] != 0).to_numpy()
        purity = max(
            float(mentions[found.labels == i].mean())
            for i in range(len(found.themes))
            if (found.labels == i).sum() >= 20
        )
        assert purity >= 0.8, (name, purity)


def test_projected_table_gives_the_projection_of_the_mean() -> None:
    emb = StaticEmbedder()
    texts = ["my card has not arrived yet", "", "🙂", "the dress fits well and the colour is lovely"]
    dims = emb.embed(texts).shape[1]
    matrix = np.random.default_rng(0).normal(size=(dims, 6))
    np.testing.assert_allclose(emb.projected(matrix).embed(texts), emb.embed(texts) @ matrix, atol=1e-4)
    with pytest.raises(InputError, match="projection of shape"):
        emb.projected(np.ones((dims + 1, 6)))


def test_a_text_gets_the_same_row_alone_and_in_a_batch() -> None:
    emb = StaticEmbedder()
    texts = ["", "slow app", "the refund never came", "🙂", "great"]
    batch = emb.embed(texts)
    for i, t in enumerate(texts):
        assert np.array_equal(emb.embed([t])[0], batch[i])
