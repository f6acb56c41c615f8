"""Themes from TF-IDF: fine NMF topics grouped into parents, and "Overall experience" for verdicts."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer

from cxchange.understand.themes.naming import OTHER_NAME, OVERALL_NAME, ThemeBuild, top_terms
from cxchange.understand.themes.projection import ASSIGN_MIN, OFF_TOPIC, SECONDARY, nnls_weights

__all__ = ["OverallBlock", "content_themes", "nmf", "overall_theme", "quiet"]

RESIDUAL_FIT, RESIDUAL_ROUNDS = 0.15, 2  # short texts fitting no topic this well get topics of their own
SHORT_TERMS = 10  # a text with at most this many content terms (words and phrases) is short
GROUP_SIM = 0.15  # fine topics whose comments are this similar nest under one parent
ATTACH_SIM = 0.02  # past max_themes, a small group joins its most similar big one when at least this similar


@contextmanager
def quiet() -> Iterator[None]:
    """Iterations are capped on purpose; tiny inputs make sklearn's loss a rounding error below zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
        yield


def nmf(x: sparse.csr_matrix, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """NMF from a seeded SVD start; returns (W, H) with H rows scaled to unit norm."""
    # A loose tolerance: topics settle long before the loss does, and the last digits cost the most time.
    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=150, tol=1e-3)
    with quiet():
        w = model.fit_transform(x)
    norms = np.linalg.norm(model.components_, axis=1)
    norms[norms == 0] = 1.0
    return w * norms, model.components_ / norms[:, None]


def _weights(x: sparse.csr_matrix, h: np.ndarray) -> np.ndarray:
    """Non-negative weights of every text on fixed topics: exact per text, as the saved matcher computes
    them (projection.nnls_weights), so that it places discovery's comments exactly as discovery did."""
    return nnls_weights(x, h)


def _topics(x: sparse.csr_matrix, k: int, seed: int, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fine topics that cover the corpus: NMF, then NMF rounds on the texts it explains poorly.

    Why: one NMF spends its topics on the commonest wordings; rarer ways of saying something ("got a
    good discount") would otherwise fit no topic. Only short texts get these extra topics: a long text
    that no topic explains well mixes several subjects, and topics carved from such mixtures split the
    corpus by side remarks rather than by what texts are about.
    """
    n_terms = np.diff(x.indptr)
    has_terms = n_terms > 0
    _, h = nmf(x, k, seed)
    w = _weights(x, h)
    for _ in range(RESIDUAL_ROUNDS):
        weak = np.flatnonzero(has_terms & (n_terms <= SHORT_TERMS) & (w.max(1) < RESIDUAL_FIT))
        k_more = min(round(np.sqrt(len(weak)) / 3), k // 2)
        if len(weak) < 2 * min_size or k_more < 1:
            break
        h = np.vstack([h, nmf(x[weak], k_more, seed)[1]])
        w = _weights(x, h)
    for _ in range(3):  # drop topics that own too few texts; their texts go to their next-best topic
        sizes = np.bincount(w.argmax(1)[w.max(1) >= ASSIGN_MIN], minlength=h.shape[0])
        keep = np.flatnonzero(sizes >= min_size)
        if len(keep) == len(sizes):
            break
        h = h[keep]
        if len(keep) == 0:
            return np.zeros((x.shape[0], 0)), h
        w = _weights(x, h)
    return w, h


def content_themes(
    b: ThemeBuild,
    x: sparse.csr_matrix,
    base: sparse.csr_matrix,
    vocab: np.ndarray,
    k_fine: int,
    k_top: int,
    seed: int,
    min_size: int,
    n_keywords: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fine NMF topics on ``x``, grouped (by their comments in ``base``) into at most ``k_top`` top-level
    themes; a group of several topics becomes a parent with the topics as sub-themes. Returns the topics
    (unit rows over ``vocab``) and the theme (index into ``b.themes``) each topic labels its texts with.

    Why fine-then-group: one subject is worded many ways ("queue", "on hold", "waited 40 minutes"); a
    coarse NMF mixes unrelated wordings to fill its quota, while fine topics are each clean.
    """
    w, h = _topics(x, k_fine, seed, min_size)
    if h.shape[0] == 0:
        return h, np.zeros(0, np.int64)
    best, top = w.argmax(1), w.max(1)
    ok = top >= ASSIGN_MIN
    sizes = np.bincount(best[ok], minlength=h.shape[0]).astype(float)
    groups, sim = _group_topics(base, best, ok, h.shape[0])
    by_size = np.argsort(-np.bincount(groups, weights=sizes), kind="stable")
    if len(by_size) > k_top:
        # More groups than top-level slots: a small group nests under the big group its comments are most
        # like (mean similarity of their topics); only groups like none of them go to "Other topics".
        big = by_size[: k_top - 1]
        for g in by_size[k_top - 1 :]:
            mine = groups == g
            like = np.array([sim[np.ix_(mine, groups == c)].mean() for c in big])
            if like.max() >= ATTACH_SIM:
                groups[mine] = big[int(like.argmax())]
        grown = np.bincount(groups, weights=sizes, minlength=len(by_size))
        rest = [g for g in by_size[k_top - 1 :] if (groups == g).any()]
        by_size = np.array([*big[np.argsort(-grown[big], kind="stable")], *rest], np.int64)
    cut = len(by_size) if len(by_size) <= k_top else k_top - 1
    leaf = np.zeros(h.shape[0], np.int64)

    def add(h_row: np.ndarray, parent: int | None, avoid: str = "") -> int:
        return b.add_scored(h_row, h, vocab, n_keywords, parent, avoid)

    def add_group(g: int, parent: int | None) -> None:
        members = np.flatnonzero(groups == g)
        members = members[np.argsort(-sizes[members], kind="stable")]
        if len(members) == 1:
            leaf[members[0]] = add(h[members[0]], parent)
            return
        pid = add(sizes[members] @ h[members], parent)
        for t in members:  # a sub-theme is not named after its parent ("Staff > Rude", not "Staff > Staff")
            leaf[t] = add(h[t], pid, b.themes[pid]["name_term"])

    for g in by_size[:cut]:
        add_group(g, None)
    if cut < len(by_size):
        in_other = np.isin(groups, by_size[cut:])
        other = b.add(
            [t for t, _ in top_terms(sizes @ (h * in_other[:, None]), h, vocab, n_keywords)], None, OTHER_NAME
        )
        for g in by_size[cut:]:
            add_group(g, other)
    idx = np.flatnonzero(ok)
    b.labels[idx] = leaf[best[idx]]
    b.strength[idx] = top[idx]
    # A comment about several things belongs to each theme that explains enough of it (its label first).
    wi = w[idx]
    rows, cols = np.nonzero(wi >= np.maximum(ASSIGN_MIN, SECONDARY * top[idx])[:, None])
    for r in np.lexsort((-wi[rows, cols], rows)):
        b.memberships[idx[rows[r]]].append(int(leaf[cols[r]]))
    return h, leaf


def _group_topics(
    x: sparse.csr_matrix, best: np.ndarray, ok: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group id per fine topic: average-linkage clustering of what the topics' comments say; and the
    topics' similarity matrix.

    Similarity = cosine of the comments' mean TF-IDF minus the corpus mean (words every comment uses do not
    make everything similar). Why comments, not the NMF term vectors: NMF makes topics nearly orthogonal,
    while the comments behind "queue" and "till open" still share words (both mention the queue).
    """
    if k == 1:
        return np.zeros(1, np.int64), np.ones((1, 1))
    rows = np.flatnonzero(ok)
    onehot = sparse.csr_matrix((np.ones(len(rows)), (best[rows], rows)), shape=(k, x.shape[0]))
    counts = np.maximum(np.asarray(onehot.sum(1)).ravel(), 1.0)
    centroid = np.asarray((onehot @ x).todense()) / counts[:, None]
    centroid = np.maximum(centroid - np.asarray(x.mean(0)).ravel(), 0.0)
    centroid /= np.maximum(np.linalg.norm(centroid, axis=1, keepdims=True), 1e-12)
    sim = centroid @ centroid.T
    np.fill_diagonal(sim, 1.0)
    tree = linkage(squareform(np.clip(1.0 - sim, 0.0, 1.0), checks=False), method="average")
    return fcluster(tree, t=1.0 - GROUP_SIM, criterion="distance").astype(np.int64) - 1, sim


@dataclass
class OverallBlock:
    """What places a comment in "Overall experience" as `overall_theme` did: the theme, the IDF its
    verdict words were weighed by, and its parts (topic rows over all verdict words, theme per row;
    empty when it was not split)."""

    theme: int
    idf: np.ndarray
    parts: np.ndarray
    part_themes: list[int]


def overall_theme(
    b: ThemeBuild,
    x: sparse.csr_matrix,
    vocab: np.ndarray,
    idx: np.ndarray,
    off_topic: np.ndarray,
    seed: int,
    min_size: int,
    n_keywords: int,
) -> OverallBlock:
    """One theme for verdict-only comments, split (e.g. praise vs complaint) when that split is clean.

    ``off_topic`` marks texts that have content words no theme explains: they belong here, but pure
    verdicts ("All good.") make the better examples.
    """
    transformer = TfidfTransformer(sublinear_tf=True).fit(x[idx])
    sub = transformer.transform(x[idx]).tocsr()
    weight = np.asarray(sub.sum(0)).ravel()
    tid = b.add(
        [str(vocab[j]) for j in np.argsort(-weight, kind="stable")[:n_keywords] if weight[j] > 0],
        None,
        OVERALL_NAME,
    )
    block = OverallBlock(tid, transformer.idf_, np.zeros((0, x.shape[1])), [])
    b.labels[idx] = tid
    b.strength[idx] = np.asarray(sub.max(1).todense()).ravel() * np.where(off_topic, OFF_TOPIC, 1.0)
    for d in idx:
        b.memberships[d].append(tid)
    min_child = max(min_size, round(0.1 * len(idx)))
    cols = np.flatnonzero(weight)
    for k in (3, 2):
        if len(idx) < k * min_child or len(cols) < 3 * k:
            continue
        _, h = nmf(sub[:, cols], k, seed)
        w = nnls_weights(sub[:, cols], h)  # as the saved matcher places a comment (one at a time)
        best = w.argmax(1)
        clarity = w.max(1) / np.maximum(w.sum(1), 1e-12)
        # Keep the split only if every part is sizeable and most comments clearly lean one way.
        if np.bincount(best, minlength=k).min() < min_child or np.median(clarity) < 0.75:
            continue
        full = np.zeros((k, x.shape[1]))
        full[:, cols] = h
        ids = []
        for c in range(k):
            ids.append(b.add_scored(full[c], full, vocab, n_keywords, tid))
        child = np.array(ids)[best]
        b.labels[idx] = child
        b.strength[idx] *= clarity  # a part's examples are the comments that clearly lean its way
        for d, c in zip(idx, child, strict=True):
            b.memberships[d][-1] = int(c)
        return OverallBlock(tid, transformer.idf_, full, ids)
    return block
