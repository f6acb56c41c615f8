"""Themes from sentence embeddings: k-means on unit vectors, alike clusters nested, names from words."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.preprocessing import normalize

from cxchange.understand.themes.clustering import quiet
from cxchange.understand.themes.embedders import Embedder
from cxchange.understand.themes.naming import ThemeBuild, ctfidf
from cxchange.understand.themes.sampled import (
    choose_sample,
    embed_sampled,
    embed_unit,
    propagate_labels,
    text_features,
)

__all__ = ["embedding_themes"]

# Embedding back-end (tuned on the demo and clothing sets only, eval/themes_static_tuning.py; the
# minilm entries below also on banking77's train split; cfpb and banking77's test split held out).
EMB_FINE_SIZE = 20  # texts per fine k-means cluster, before alike clusters merge
# Per embedder name, where tuned apart from EMB_FINE_SIZE. minilm-onnx: 30 with merge rule ("z", 3.0),
# by eval/themes_granularity_tuning.py's committed criterion (sizes 10-30 x z 2.5-4 on demo and
# banking77_train): NMI demo 0.597, banking77_train 0.771 (20 with z 3.0: 0.584 / 0.775).
EMB_FINE_SIZE_BY_EMBEDDER: dict[str, int] = {"minilm-onnx": 30, "minilm-int8": 30}
EMB_FINE_MAX = 300  # most fine clusters (bounds k-means time on big corpora)
EMB_MERGE_SIM = 0.5  # fine clusters whose centred centroids are this alike (average linkage) are one theme
# The merge cut depends on the embedding space: per embedder name, where tuned apart from the default.
# minilm-onnx: ("z", 3.0), i.e. merge at 3 sd above the mean of the corpus's centred centroid cosines,
# by eval/themes_merge_tuning.py's committed criterion (least mean NMI regret over demo and
# banking77's train split, equal weight; constant cuts 0.3-1.01, z 1-3 and silhouette swept): NMI demo
# 0.584, banking77_train 0.775 (the former cut, sim 0.4 chosen on the demo alone: 0.583 / 0.720).
# minilm-int8 is the same network (int8 copy): the same rule, not measured apart.
MergeRule = tuple[str, float]  # see merge_groups: ("sim", cosine), ("z", sds), ("silhouette", max cosine)
MERGE_RULE_BY_EMBEDDER: dict[str, MergeRule] = {"minilm-onnx": ("z", 3.0), "minilm-int8": ("z", 3.0)}
MERGE_GRID = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))  # the cuts the silhouette rule weighs
SILHOUETTE_SAMPLE = 2000  # texts the silhouette is computed on (bounds its cost on big corpora)
EMB_REFINE = 3  # k-means steps from the merged centroids
EMB_CENTRE = True  # cluster unit vectors minus the corpus mean (in one domain every text shares a direction)
EMB_RESTARTS = 3  # k-means restarts (seeded)
EMB_GROUP_SIM = 0.25  # clusters whose centred centroids have at least this cosine nest under one parent
EMB_SECONDARY_GAP = 0.02  # another theme counts for a text within this cosine of its own centroid


def _kmeans(e: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and unit-norm centroids of k-means on unit-norm rows (cosine k-means, seeded)."""
    from sklearn.cluster import KMeans

    with quiet():  # duplicate texts can leave fewer distinct points than clusters
        km = KMeans(n_clusters=k, n_init=EMB_RESTARTS, random_state=seed).fit(e)
    return km.labels_.astype(np.int64), normalize(km.cluster_centers_)


def _unit_means(e: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, e.shape[1]))
    np.add.at(sums, labels, e)
    return normalize(sums)


def _clusters(
    e: np.ndarray, k_top: int, seed: int, rule: MergeRule | None = None, fine_size: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and unit centroids: many small k-means clusters, then those alike merged (average linkage
    on centroids minus the corpus mean, cut by ``rule``, see `merge_groups`), then a few k-means steps.

    Why not a fixed count: how many subjects a corpus has is what discovery must find (9 planted themes
    in the demo, 77 intents in a banking help desk); a cut on similarity lets the data say it, while a
    count fixed on one corpus splits or merges the subjects of another.
    """
    rule = ("sim", EMB_MERGE_SIM) if rule is None else rule
    n = len(e)
    k_fine = min(n, max(k_top, min(EMB_FINE_MAX, n // (fine_size or EMB_FINE_SIZE))))
    labels, cent = _kmeans(e, k_fine, seed)
    if k_fine < 2 or (rule[0] == "sim" and rule[1] > 1.0):
        return labels, cent
    k_fine = len(cent)
    sizes = np.maximum(np.bincount(labels, minlength=k_fine), 1).astype(float)
    sums = np.zeros_like(cent)
    np.add.at(sums, labels, e)
    centred = normalize(sums / sizes[:, None] - e.mean(0))
    groups = merge_groups(centred, rule, e, labels, seed)
    k = int(groups.max()) + 1
    labels = groups[labels]
    cent = _unit_means(e, labels, k)
    for _ in range(EMB_REFINE):
        labels = (e @ cent.T).argmax(1)
        present = np.unique(labels)
        cent = _unit_means(e, np.searchsorted(present, labels), len(present))
        labels = np.searchsorted(present, labels)
    return labels, cent


def merge_groups(
    centred: np.ndarray, rule: MergeRule, e: np.ndarray, labels: np.ndarray, seed: int
) -> np.ndarray:
    """Group id (0..) per fine cluster: average linkage on the cosine of its centred centroids, cut by
    ``rule``:

    * ``("sim", c)``: clusters at least ``c`` alike are one theme (one cut for every corpus);
    * ``("z", z)``: the cut is ``z`` standard deviations above the mean of this corpus's centroid
      similarities (what counts as "alike" is relative to how alike this corpus's clusters are);
    * ``("silhouette", c)``: of the cuts in MERGE_GRID up to ``c``, the one whose grouping of the
      texts ``e`` (fine ``labels``) has the highest mean silhouette (cosine, on a seeded sample of
      SILHOUETTE_SAMPLE texts): the number of themes the data separate best.
    """
    k = len(centred)
    sim = np.clip(centred @ centred.T, -1.0, 1.0)
    tree = linkage(squareform(np.clip(1.0 - sim, 0.0, 2.0), checks=False), method="average")

    def cut(c: float) -> np.ndarray:
        return fcluster(tree, t=1.0 - c, criterion="distance").astype(np.int64) - 1

    kind, value = rule
    if kind == "sim":
        return cut(value)
    if kind == "z":
        upper = sim[np.triu_indices(k, 1)]
        return cut(float(upper.mean() + value * upper.std()))
    if kind == "silhouette":
        from sklearn.metrics import silhouette_score

        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(e), size=min(len(e), SILHOUETTE_SAMPLE), replace=False))
        dist = np.clip(1.0 - e[pick] @ e[pick].T, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        best, best_score = cut(1.01), -2.0
        for c in MERGE_GRID:
            if c > value:
                continue
            g = cut(c)
            lab = g[labels[pick]]
            if not 2 <= len(np.unique(lab)) < len(pick):
                continue
            score = float(silhouette_score(dist, lab, metric="precomputed"))
            if score > best_score:
                best, best_score = g, score
        return best
    raise ValueError(f"unknown merge rule {rule!r}")


def _merge_rule(embedder: Embedder) -> MergeRule:
    return MERGE_RULE_BY_EMBEDDER.get(str(getattr(embedder, "name", "")), ("sim", EMB_MERGE_SIM))


def _fine_size(embedder: Embedder) -> int:
    return EMB_FINE_SIZE_BY_EMBEDDER.get(str(getattr(embedder, "name", "")), EMB_FINE_SIZE)


def embedding_themes(
    b: ThemeBuild,
    embedder: Embedder,
    texts: list[str],
    rows: np.ndarray,
    counts: sparse.csr_matrix,
    vocab: np.ndarray,
    k_top: int,
    seed: int,
    min_size: int,
    n_keywords: int,
    embed_share: float,
) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray] | None:
    """Themes from sentence embeddings: k-means on unit-norm vectors, every text in ``rows`` assigned.

    Fine clusters become leaves; clusters whose centroids are alike nest under one parent (average
    linkage), at most ``k_top`` top-level themes. Names and keywords: c-TF-IDF of each cluster's
    content terms (``counts``), so the output reads like the TF-IDF path's.
    Why k-means, not HDBSCAN: a density clusterer leaves a large share of texts as noise; every text
    here has content words and belongs somewhere.
    Returns the unit embeddings of ``rows`` as clustered (approximate for texts outside the sample;
    centred), each leaf theme's centroid (by theme index) and the centre subtracted; None if no rows.
    """
    if len(rows) == 0:
        return None
    sample = choose_sample(texts, seed=seed, share=embed_share)
    if len(sample) == len(rows):  # a small corpus or a cheap embedder: every text embedded
        e = embed_unit(embedder, texts)
        centre = e.mean(0) if EMB_CENTRE else np.zeros(e.shape[1])
        e = normalize(e - centre)
        best, cent = _clusters(e, k_top, seed, _merge_rule(embedder), _fine_size(embedder))
    else:  # clusters come from the real embeddings only; the other texts are placed by their words
        features = text_features(counts[rows])
        e = embed_sampled(embedder, texts, features, sample)
        centre = e.mean(0) if EMB_CENTRE else np.zeros(e.shape[1])
        e = normalize(e - centre)
        in_sample, cent = _clusters(e[sample], k_top, seed, _merge_rule(embedder), _fine_size(embedder))
        best = propagate_labels(features, sample, in_sample)
    for _ in range(3):  # clusters under min_size: their texts go to the nearest kept centroid
        sizes = np.bincount(best, minlength=len(cent))
        keep = sizes >= min_size
        if not keep.any():  # too few texts for several themes: the biggest cluster takes them all
            keep = sizes == sizes.max()
        if keep.all():
            break
        cent = cent[keep]
        best = (e @ cent.T).argmax(1)
        sums = np.zeros_like(cent)
        np.add.at(sums, best, e)
        cent = normalize(sums)
    k = len(cent)
    sim = e @ cent.T
    if len(sample) == len(rows):  # every text embedded: each goes to its nearest centroid, as a matcher will
        best = sim.argmax(1)
    top = sim[np.arange(len(rows)), best]
    sizes = np.bincount(best, minlength=k).astype(float)
    onehot = sparse.csr_matrix((np.ones(len(rows)), (best, np.arange(len(rows)))), shape=(k, len(rows)))
    leaf_counts = (onehot @ counts[rows]).tocsr()
    h = ctfidf(leaf_counts)
    # Nest alike clusters: average linkage on the cosine of centroids minus the corpus mean (in one domain
    # every centroid points the same way), cut at EMB_GROUP_SIM, merged further past k_top groups.
    if k > 1:
        means = np.zeros_like(cent)
        np.add.at(means, best, e)
        centred = normalize(means / np.maximum(sizes, 1.0)[:, None] - e.mean(0))
        dist = squareform(np.clip(1.0 - centred @ centred.T, 0.0, 2.0), checks=False)
        tree = linkage(dist, method="average")
        groups = fcluster(tree, t=1.0 - EMB_GROUP_SIM, criterion="distance").astype(np.int64) - 1
        if groups.max() + 1 > k_top:
            groups = fcluster(tree, t=k_top, criterion="maxclust").astype(np.int64) - 1
    else:
        groups = np.zeros(1, np.int64)
    n_groups = int(groups.max()) + 1
    by_size = np.argsort(-np.bincount(groups, weights=sizes, minlength=n_groups), kind="stable")
    to_group = sparse.csr_matrix((np.ones(k), (groups, np.arange(k))), shape=(n_groups, k))
    gh = ctfidf((to_group @ leaf_counts).tocsr())
    leaf = np.zeros(k, np.int64)

    def add(h_row: np.ndarray, h_all: np.ndarray, parent: int | None, avoid: str = "") -> int:
        return b.add_scored(h_row, h_all, vocab, n_keywords, parent, avoid)

    for g in by_size:
        members = np.flatnonzero(groups == g)
        members = members[np.argsort(-sizes[members], kind="stable")]
        if len(members) == 1:
            leaf[members[0]] = add(h[members[0]], h, None)
            continue
        pid = add(gh[g], gh, None)
        for t in members:  # a sub-theme is not named after its parent
            leaf[t] = add(h[t], h, pid, b.themes[pid]["name_term"])
    b.labels[rows] = leaf[best]
    b.strength[rows] = top
    # A text close to another cluster's centroid (nearly as close as to its own) is about that one too.
    near = sim >= (top - EMB_SECONDARY_GAP)[:, None]
    near[np.arange(len(rows)), best] = False
    r_idx, c_idx = np.nonzero(near)
    for i, d in enumerate(rows):
        b.memberships[d].append(int(leaf[best[i]]))
    for r in np.lexsort((-sim[r_idx, c_idx], r_idx)):
        b.memberships[rows[r_idx[r]]].append(int(leaf[c_idx[r]]))
    return e, {int(leaf[j]): cent[j] for j in range(k)}, centre
