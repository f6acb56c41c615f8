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
    "propagate_labels",
    "sample_size",
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


def embed_sampled(
    embedder: Embedder,
    texts: Sequence[str],
    counts: sparse.csr_matrix,
    *,
    seed: int = 0,
    share: float = SAMPLE_SHARE,
    minimum: int = SAMPLE_MIN,
    maximum: int = SAMPLE_MAX,
    min_tokens: float = SAMPLE_MIN_TOKENS,
    alpha: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length embeddings for all ``texts`` (rows of ``counts``, their term counts); and the indices of
    the texts that were really embedded (all of them when the corpus is small)."""
    alpha = RIDGE_ALPHA if alpha is None else alpha
    n = len(texts)
    if counts.shape[0] != n:
        raise ValueError(f"{counts.shape[0]} count rows for {n} texts")
    idx = choose_sample(
        texts, seed=seed, share=share, minimum=minimum, maximum=maximum, min_tokens=min_tokens
    )
    if len(idx) >= n:
        return _unit(embedder.embed(list(texts)), n), np.arange(n)
    sampled = _unit(embedder.embed([texts[i] for i in idx]), len(idx))
    x = _tfidf(counts)
    xs = x[idx]
    gram = (xs @ xs.T).toarray()
    gram[np.diag_indices_from(gram)] += alpha
    coef = np.linalg.solve(gram, sampled)
    out = np.asarray(x @ (xs.T @ coef))  # this order: a (terms x dims) map, never an (n x sample) matrix
    out[idx] = sampled
    # A text sharing no word with the sample predicts zero: give it the sample's mean direction instead.
    empty = np.linalg.norm(out, axis=1) < 1e-12
    if empty.any():
        out[empty] = sampled.mean(axis=0)
    return normalize(out), idx


def propagate_labels(
    counts: sparse.csr_matrix, sample: np.ndarray, sample_labels: np.ndarray, *, c: float = CLASSIFIER_C
) -> np.ndarray:
    """A label for every row of ``counts``: the sampled rows keep ``sample_labels``, the others get the
    prediction of a linear SVM trained on the sample (TF-IDF of the same counts)."""
    sample_labels = np.asarray(sample_labels, dtype=np.int64)
    out = np.empty(counts.shape[0], dtype=np.int64)
    classes = np.unique(sample_labels)
    if len(classes) < 2:  # one cluster: nothing to learn
        out[:] = classes[0] if len(classes) else 0
    else:
        x = _tfidf(counts)
        model = LinearSVC(C=c, random_state=0).fit(x[sample], sample_labels)
        out[:] = model.predict(x)
    out[sample] = sample_labels
    return out


def _tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    return normalize(TfidfTransformer(sublinear_tf=True).fit_transform(counts)).tocsr()


def _unit(e: np.ndarray, rows: int) -> np.ndarray:
    e = np.asarray(e, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != rows:
        raise ValueError(f"embedder returned shape {e.shape} for {rows} texts")
    return normalize(np.nan_to_num(e))
