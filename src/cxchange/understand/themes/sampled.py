"""Embedding discovery from a sample: embed a share of the texts, place the rest by their words.

Why: running the transformer is nearly all of an embedding discovery's time, and the themes of a corpus
are settled long before every comment is embedded. A seeded random sample is embedded and clustered;
then every other text

* gets its cluster from a linear SVM on TF-IDF (content words) trained on the sample's
  clusters (`propagate_labels`): it learns which words mark each cluster ("dress", "mortgage"), and
  ignores the words every cluster uses;
* gets an approximate embedding (`embed_sampled`), for nesting clusters and for secondary themes: a
  kernel ridge regression from its TF-IDF vector to the sample's embeddings, that is a
  similarity-weighted mix of the embeddings of sampled texts using the same words.

Sampled texts keep their own embeddings and clusters. Deterministic for a seed. Settings were chosen on
the demo company and the clothing reviews only (eval/results/themes_*_sampled.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from cxchange.understand.themes.embedders import Embedder

__all__ = [
    "SAMPLE_MIN",
    "SAMPLE_SHARE",
    "choose_sample",
    "embed_sampled",
    "embed_unit",
    "propagate_labels",
    "sample_size",
    "text_features",
    "token_estimate",
]

# Share of texts embedded, and the fewest embedded when a corpus has more than that (chosen on the demo
# and clothing sets only; see eval/results/themes_*_sampled.md).
SAMPLE_SHARE = 0.15
SAMPLE_MIN = 300
SAMPLE_MAX = 5000  # bounds the embedding time on big corpora (not tuned: the tuning sets stay below it)
# Never embed less than about this many tokens (about 3 s of MiniLM on 2 cores): below it sampling saves
# little time and costs much quality (demo generator, 1,600 short comments: embedding 300 of them
# halved a planted theme's purity). Chosen on the demo generator only.
SAMPLE_MIN_TOKENS = 40_000
MAX_TOKENS = 256  # all-MiniLM-L6-v2 truncates longer inputs, so a text never costs more
RIDGE_ALPHA = 1.0  # regularisation of the TF-IDF -> embedding regression (kernel ridge, linear kernel)
CLASSIFIER_C = 0.1  # inverse regularisation of the TF-IDF -> cluster linear SVM (strong: few sampled texts)


def sample_size(
    n: int, share: float = SAMPLE_SHARE, minimum: int = SAMPLE_MIN, maximum: int = SAMPLE_MAX
) -> int:
    """How many of ``n`` texts to embed: ``share`` of them, at least ``minimum``, at most ``maximum``."""
    if share >= 1.0:
        return n
    return int(min(n, max(minimum, min(maximum, round(share * n)))))


def token_estimate(texts: Sequence[str]) -> np.ndarray:
    """About how many model tokens each text costs: words x 1.3 (word pieces), at most the model's 256."""
    return np.minimum(np.array([len(t.split()) for t in texts], dtype=np.float64) * 1.3 + 2, MAX_TOKENS)


def choose_sample(
    texts: Sequence[str],
    *,
    seed: int = 0,
    share: float = SAMPLE_SHARE,
    minimum: int = SAMPLE_MIN,
    maximum: int = SAMPLE_MAX,
    min_tokens: float = SAMPLE_MIN_TOKENS,
) -> np.ndarray:
    """Sorted indices of the texts to embed: a seeded sample of ``sample_size`` texts, grown (in seeded
    random order) until it holds ``min_tokens`` estimated tokens; all texts when the corpus is smaller."""
    n = len(texts)
    s = sample_size(n, share, minimum, maximum)
    if s >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=s, replace=False)
    cost = token_estimate(texts)
    short = min_tokens - float(cost[idx].sum())
    if short > 0:  # short texts: a small sample is little work and would cluster poorly, take more
        rest = np.setdiff1d(np.arange(n), idx)
        rest = rest[rng.permutation(len(rest))]
        more = int(np.searchsorted(np.cumsum(cost[rest]), short)) + 1
        idx = np.concatenate([idx, rest[:more]])
    return np.sort(idx)


def text_features(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Unit-length TF-IDF rows of term ``counts``: what places the texts that were not embedded."""
    return normalize(TfidfTransformer(sublinear_tf=True).fit_transform(counts)).tocsr()


def embed_unit(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """``embedder``'s vectors for ``texts``, checked (one row per text) and scaled to unit length."""
    e = np.asarray(embedder.embed(list(texts)), dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != len(texts):
        raise ValueError(f"embedder returned shape {e.shape} for {len(texts)} texts")
    return normalize(np.nan_to_num(e))


def embed_sampled(
    embedder: Embedder,
    texts: Sequence[str],
    features: sparse.csr_matrix,
    sample: np.ndarray,
    *,
    alpha: float = RIDGE_ALPHA,
) -> np.ndarray:
    """Unit-length vectors for all ``texts``: the ``sample`` embedded, every other text predicted from its
    ``features`` row (`text_features`) by kernel ridge regression on the sample's embeddings."""
    if features.shape[0] != len(texts):
        raise ValueError(f"{features.shape[0]} feature rows for {len(texts)} texts")
    sampled = embed_unit(embedder, [texts[i] for i in sample])
    xs = features[sample]
    gram = (xs @ xs.T).toarray()
    gram[np.diag_indices_from(gram)] += alpha
    coef = np.linalg.solve(gram, sampled)
    out = np.asarray(features @ (xs.T @ coef))  # this order: a (terms x dims) map, never (n x sample)
    out[sample] = sampled
    # A text sharing no word with the sample predicts zero: give it the sample's mean direction instead.
    empty = np.linalg.norm(out, axis=1) < 1e-12
    if empty.any():
        out[empty] = sampled.mean(axis=0)
    return normalize(out)


def propagate_labels(
    features: sparse.csr_matrix, sample: np.ndarray, sample_labels: np.ndarray, *, c: float = CLASSIFIER_C
) -> np.ndarray:
    """A label for every row of ``features``: the sampled rows keep ``sample_labels``, the others get the
    prediction of a linear SVM trained on the sample."""
    sample_labels = np.asarray(sample_labels, dtype=np.int64)
    if len(np.unique(sample_labels)) < 2:  # one cluster: nothing to learn
        return np.full(features.shape[0], sample_labels[0] if len(sample_labels) else 0, dtype=np.int64)
    out = LinearSVC(C=c, random_state=0).fit(features[sample], sample_labels).predict(features)
    out = np.asarray(out, dtype=np.int64)
    out[sample] = sample_labels
    return out
