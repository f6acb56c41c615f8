"""Embedding a sample and predicting the rest (cxchange.understand.themes.sampled)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from cxchange.understand.themes.sampled import (
    choose_sample,
    embed_sampled,
    embed_unit,
    propagate_labels,
    sample_size,
    text_features,
    token_estimate,
)

TOPICS = {
    "queue": "the queue was endless and the wait at the till took forever",
    "refund": "my refund never arrived and the money is still missing",
    "staff": "the staff were friendly and the assistant was lovely",
}


class _TopicEmbedder:
    """One axis per topic word found in the text; records what it was asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[float(k in t) for k in TOPICS] + [0.01] for t in texts])


def _corpus(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    words = {k: v.split() for k, v in TOPICS.items()}
    keys = list(TOPICS)
    return [" ".join(rng.choice(words[keys[i % 3]], size=6)) + f" {keys[i % 3]}" for i in range(n)]


def _features(texts: list[str]) -> sparse.csr_matrix:
    return text_features(CountVectorizer().fit_transform(texts).tocsr())


def _embed(embedder: _TopicEmbedder, texts: list[str], **sample: float) -> tuple[np.ndarray, np.ndarray]:
    """What discovery does: choose the sample, then embed it all or embed the sample and predict."""
    idx = choose_sample(texts, **sample)  # type: ignore[arg-type]
    if len(idx) == len(texts):
        return embed_unit(embedder, texts), idx
    return embed_sampled(embedder, texts, _features(texts), idx), idx


@given(st.integers(0, 200_000), st.floats(0.01, 1.0), st.integers(1, 1000), st.integers(1000, 10_000))
def test_sample_size_bounds(n: int, share: float, minimum: int, maximum: int) -> None:
    s = sample_size(n, share, minimum, maximum)
    assert 0 <= s <= n
    if n <= minimum or share >= 1.0:
        assert s == n  # small corpora are embedded whole
    else:
        assert s >= minimum and s <= max(minimum, maximum)
    assert sample_size(n, 1.0, minimum, maximum) == n


def test_small_corpus_is_embedded_whole() -> None:
    texts = _corpus(50)
    fake = _TopicEmbedder()
    e, idx = _embed(fake, texts, minimum=100)
    assert len(idx) == 50 and fake.seen == texts
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0)


def test_only_the_sample_is_embedded_and_the_rest_land_near_their_topic() -> None:
    texts = _corpus(3_000)
    fake = _TopicEmbedder()
    e, idx = _embed(fake, texts, seed=3, share=0.1, minimum=50, min_tokens=0)
    assert len(idx) == 300 and len(fake.seen) == 300
    assert sorted(fake.seen) == sorted(texts[i] for i in idx)
    assert e.shape == (3_000, 4) and np.allclose(np.linalg.norm(e, axis=1), 1.0)
    # Sampled rows keep their own (normalised) embedding; predicted rows point to their topic's axis.
    own = fake.embed([texts[i] for i in idx])
    assert np.allclose(e[idx], own / np.linalg.norm(own, axis=1, keepdims=True))
    topic = np.arange(3_000) % 3
    assert (e[:, :3].argmax(1) == topic).mean() > 0.95


def test_labels_spread_from_the_sample_by_words() -> None:
    texts = _corpus(2_000)
    features = _features(texts)
    idx = choose_sample(texts, seed=0, share=0.05, minimum=10, min_tokens=0)
    topic = np.arange(2_000) % 3
    labels = propagate_labels(features, idx, topic[idx])
    assert np.array_equal(labels[idx], topic[idx])  # the sample keeps its own clusters
    assert (labels == topic).mean() > 0.95
    assert np.array_equal(propagate_labels(features, idx, np.zeros(len(idx))), np.zeros(2_000))


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    texts = _corpus(2_000)
    a, ia = _embed(_TopicEmbedder(), texts, seed=1, share=0.1, minimum=10, min_tokens=0)
    b, ib = _embed(_TopicEmbedder(), texts, seed=1, share=0.1, minimum=10, min_tokens=0)
    _, ic = _embed(_TopicEmbedder(), texts, seed=2, share=0.1, minimum=10, min_tokens=0)
    assert np.array_equal(ia, ib) and np.array_equal(a, b)
    assert not np.array_equal(ia, ic)


def test_text_sharing_no_word_with_the_sample_still_gets_a_unit_vector() -> None:
    texts = [*_corpus(400), "zebra xylophone"]
    e, idx = _embed(_TopicEmbedder(), texts, seed=0, share=0.1, minimum=10, min_tokens=0)
    assert 400 not in idx
    assert np.isfinite(e).all() and np.isclose(np.linalg.norm(e[400]), 1.0)


def test_bad_shapes_are_errors() -> None:
    texts = _corpus(20)

    class Wrong:
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts) + 1, 3))

    with pytest.raises(ValueError, match="feature rows"):
        embed_sampled(_TopicEmbedder(), texts, _features(texts[:10]), np.arange(5))
    with pytest.raises(ValueError, match="embedder returned shape"):
        embed_unit(Wrong(), texts)


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 60), st.integers(0, 5))
def test_any_size_gives_one_unit_row_per_text(n: int, seed: int) -> None:
    texts = _corpus(n)
    e, idx = _embed(_TopicEmbedder(), texts, seed=seed, share=0.2, minimum=5, min_tokens=0)
    assert e.shape[0] == n and len(idx) == min(n, max(5, round(0.2 * n)))
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0)


def test_short_texts_grow_the_sample_to_the_token_floor() -> None:
    texts = _corpus(5_000)  # about 11 tokens each
    cost = token_estimate(texts)
    plain = choose_sample(texts, seed=0, share=0.1, minimum=10, min_tokens=0)
    grown = choose_sample(texts, seed=0, share=0.1, minimum=10, min_tokens=20_000)
    assert len(plain) == 500 and set(plain) <= set(grown)  # the first sample is kept, then grown
    assert 20_000 <= cost[grown].sum() < 20_000 + cost.max()
    assert list(grown) == sorted(set(grown.tolist()))
    assert len(choose_sample(texts, min_tokens=10 * cost.sum())) == 5_000  # small corpus: every text
    assert token_estimate(["word " * 10_000])[0] == 256  # the model truncates
