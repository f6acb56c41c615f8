"""How fine embedding clusters merge into themes (embedded.merge_groups): each rule on known geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.preprocessing import normalize

from cxchange.understand.themes.embedded import merge_groups


def _blobs(n_groups: int, per_group: int, fine_per_group: int, spread: float, seed: int = 0):
    """Texts around ``n_groups`` orthogonal directions, each group cut into ``fine_per_group`` fine
    clusters; returns (unit texts, fine label per text, centred unit centroids, true group per fine)."""
    rng = np.random.default_rng(seed)
    dim = 32
    axes = np.eye(dim)[:n_groups]
    e, fine = [], []
    for g in range(n_groups):
        for f in range(fine_per_group):
            sub = normalize((axes[g] + 0.04 * rng.normal(size=dim))[None, :])[
                0
            ]  # a fine cluster near its group
            pts = normalize(sub + spread * rng.normal(size=(per_group // fine_per_group, dim)))
            e.append(pts)
            fine += [g * fine_per_group + f] * len(pts)
    x = np.vstack(e)
    labels = np.array(fine)
    k = n_groups * fine_per_group
    means = np.vstack([x[labels == j].mean(0) for j in range(k)])
    centred = normalize(means - x.mean(0))
    truth = np.repeat(np.arange(n_groups), fine_per_group)
    return x, labels, centred, truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        len({(int(i), int(j)) for i, j in zip(a, b, strict=True)})
        == len(set(a.tolist()))
        == len(set(b.tolist()))
    )


def test_sim_rule_is_the_average_linkage_cut_at_that_cosine() -> None:
    x, labels, centred, _ = _blobs(4, 60, 3, 0.3)
    dist = squareform(np.clip(1.0 - centred @ centred.T, 0.0, 2.0), checks=False)
    for c in (0.2, 0.4, 0.7):
        want = fcluster(linkage(dist, method="average"), t=1.0 - c, criterion="distance") - 1
        assert np.array_equal(merge_groups(centred, ("sim", c), x, labels, 0), want)


def test_sim_rule_at_the_extremes_merges_all_or_nothing() -> None:
    x, labels, centred, _ = _blobs(3, 60, 4, 0.3)
    assert len(set(merge_groups(centred, ("sim", -1.0), x, labels, 0).tolist())) == 1
    assert len(set(merge_groups(centred, ("sim", 1.01), x, labels, 0).tolist())) == len(centred)


def test_silhouette_rule_finds_the_groups_the_texts_form() -> None:
    x, labels, centred, truth = _blobs(5, 80, 4, 0.05)
    groups = merge_groups(centred, ("silhouette", 0.9), x, labels, 0)
    assert _same_partition(groups, truth)


def test_silhouette_rule_is_deterministic_and_respects_its_ceiling() -> None:
    x, labels, centred, _ = _blobs(5, 80, 4, 0.05)
    a = merge_groups(centred, ("silhouette", 0.9), x, labels, 3)
    assert np.array_equal(a, merge_groups(centred, ("silhouette", 0.9), x, labels, 3))
    # With no cut in the grid allowed, every fine cluster stays its own theme.
    none = merge_groups(centred, ("silhouette", 0.0), x, labels, 0)
    assert len(set(none.tolist())) == len(centred)


def test_z_rule_cut_moves_with_the_corpus_similarities() -> None:
    x, labels, centred, truth = _blobs(4, 80, 4, 0.2)
    upper = np.clip(centred @ centred.T, -1, 1)[np.triu_indices(len(centred), 1)]
    z = 1.0
    c = float(upper.mean() + z * upper.std())
    assert np.array_equal(
        merge_groups(centred, ("z", z), x, labels, 0), merge_groups(centred, ("sim", c), x, labels, 0)
    )
    # A large z cuts above every similarity: nothing merges.
    assert len(set(merge_groups(centred, ("z", 50.0), x, labels, 0).tolist())) == len(centred)
    assert truth.max() + 1 <= len(centred)


def test_unknown_rule_is_an_error() -> None:
    x, labels, centred, _ = _blobs(2, 20, 2, 0.2)
    with pytest.raises(ValueError, match="unknown merge rule"):
        merge_groups(centred, ("median", 0.5), x, labels, 0)
