"""The TF-IDF path's saved matcher: discovery's own NMF projection, so saved themes place comments as
discovery grouped them.

Why not a classifier trained on discovery's labels: per-theme regressions placed only 56-67 % of new
comments where discovery would (eval/results/themes_fidelity.md), because they learn discovery's
labels from a sample instead of the rule that made them. Discovery labels a comment by projecting its
TF-IDF row (its subject noun lifted) onto the fine NMF topics (non-negative least squares) and taking
the topic that explains most of it; a comment that no topic explains (best weight under ``ASSIGN_MIN``)
and that holds verdict words goes to "Overall experience" (or the part of it its verdicts lean to).
This module keeps exactly that: the topics (``components``), which theme each topic is, the corpus's
nouns (for the subject lift), and the "Overall experience" block (its terms, IDF and parts). Placing
a comment is the same computation as discovery's, one comment at a time: no batch effects, so the
same comment and taxonomy version always get the same themes, and discovery's comments get exactly
discovery's labels.

Relevance of a theme for a comment = the comment's weight on the theme's topic (unit-norm row on a
unit-norm topic, about 0..1); a comment gets its best theme when that weight reaches ``ASSIGN_MIN`` and
another theme at ``SECONDARY`` of the best (discovery's memberships), at most ``relevance.MAX_THEMES``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "ASSIGN_MIN",
    "SECONDARY",
    "Projection",
    "first_subject",
    "nnls_weights",
    "unit_tfidf",
]

ASSIGN_MIN = 0.05  # smallest weight (unit-norm text on unit-norm topic) that counts as being about it
SECONDARY = 0.5  # another theme counts for a text at this share of its best theme's weight
OFF_TOPIC = 0.5  # a verdict comment with content words no topic explains: weaker in "Overall experience"


def nnls_weights(x: sparse.csr_matrix, h: np.ndarray) -> np.ndarray:
    """Per row of ``x``, the non-negative weights ``w`` minimising ||x_row - w @ h|| (exact, row by row).

    Why exact and per row: an iterative solver started from a batch-wide guess gives a comment weights
    that depend on the other comments in its batch; the saved matcher must place a comment the same
    way alone or in any batch, and the same way as discovery did. Solved in Gram form (k x k per row).
    """
    from scipy.linalg import cho_factor, solve_triangular
    from scipy.optimize import nnls

    n, k = x.shape[0], h.shape[0]
    w = np.zeros((n, k))
    if n == 0 or k == 0:
        return w
    gram = h @ h.T
    gram[np.diag_indices(k)] += 1e-10 * max(float(np.trace(gram)), 1e-12)  # duplicate topics stay solvable
    factor, _ = cho_factor(gram, lower=True)
    lower = np.tril(factor)
    b = np.asarray(x @ h.T)  # (n, k)
    # ||x - w h||^2 = ||L^T w - L^-1 b||^2 + const, with gram = L L^T
    rhs = solve_triangular(lower, b.T, lower=True).T
    design = lower.T
    for i in np.flatnonzero(np.abs(b).sum(1) > 0):
        w[i] = nnls(design, rhs[i])[0]
    return w


def unit_tfidf(
    docs: Sequence[list[str]], column: dict[str, int], idf: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Unit-length sublinear TF-IDF rows of ``docs`` (terms) over ``column`` (term -> column) with
    ``idf``, as sklearn's TfidfTransformer(sublinear_tf=True) weighs them; and per doc the share of its
    term uses the columns know."""
    from scipy import sparse

    rows, cols, vals = [], [], []
    coverage = np.zeros(len(docs))
    for i, terms in enumerate(docs):
        counts: dict[int, int] = {}
        for t in terms:
            j = column.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        coverage[i] = sum(counts.values()) / len(terms) if terms else 0.0
        for j, c in counts.items():
            rows.append(i)
            cols.append(j)
            vals.append((1.0 + np.log(c)) * idf[j])
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(idf)))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ x).tocsr(), coverage


def first_subject(
    tokens: list[str | None], heads: list[int], fold: dict[str, str], nouns: frozenset[str]
) -> str | None:
    """A text's subject: its first word after a determiner that the corpus uses as a noun (folded)."""
    for i in heads:
        t = tokens[i]
        if t is not None:
            w = fold.get(t, t)
            if w in nouns:
                return w
    return None


@dataclass
class Projection:
    """Discovery's grouping as data. ``components``: unit-norm fine topics over the model's content
    vocabulary; ``topic_class``: the model row (class) each topic places a comment into, -1 for a topic
    that labelled no comment; ``nouns``: the corpus's nouns (a text's subject is lifted by ``lift``).
    "Overall experience": ``overall_class`` (-1 when discovery made none), its verdict ``generic_vocab``
    with the IDF it was weighed by, and its parts (``generic_components`` rows, ``generic_class``)."""

    components: np.ndarray
    topic_class: np.ndarray
    nouns: frozenset[str]
    lift: float = 1.0
    overall_class: int = -1
    generic_vocab: list[str] = field(default_factory=list)
    generic_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    generic_components: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    generic_class: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def relevance(
        self,
        x: sparse.csr_matrix,
        subjects: list[str | None],
        column: dict[str, int],
        term_lists: list[list[str]],
        n_classes: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the relevance of each class (n x n_classes), and whether it is placed at all.
        ``x``: unit TF-IDF rows over the content vocabulary (``column``); ``term_lists``: the texts'
        terms (for the verdict words of "Overall experience")."""
        from scipy import sparse
        from sklearn.preprocessing import normalize

        n = x.shape[0]
        lift_rows = [i for i, s in enumerate(subjects) if s is not None and s in column]
        lift = sparse.csr_matrix(
            (np.full(len(lift_rows), self.lift), (lift_rows, [column[subjects[i]] for i in lift_rows])),  # type: ignore[index]
            shape=x.shape,
        )
        lifted = normalize(x + lift).tocsr()
        w = nnls_weights(lifted, self.components)
        mapped = self.topic_class >= 0
        p = np.zeros((n, n_classes))
        if mapped.any():
            np.add.at(p.T, self.topic_class[mapped], w[:, mapped].T)
        placed = w.max(1, initial=0.0) >= ASSIGN_MIN if w.shape[1] else np.zeros(n, bool)
        has_content = np.diff(x.indptr) > 0
        if self.generic_vocab:
            rest = np.flatnonzero(~placed)
            g = self._generic(term_lists, rest)
            verdicts = rest[np.diff(g.indptr) > 0]
            g = g[np.diff(g.indptr) > 0]
            if len(verdicts):
                strength = np.asarray(g.max(1).todense()).ravel() * np.where(
                    has_content[verdicts], OFF_TOPIC, 1.0
                )
                cls = np.full(len(verdicts), self.overall_class)
                if len(self.generic_class):  # the part its verdicts lean to (parts that labelled none: never)
                    gw = nnls_weights(g, self.generic_components)
                    strength *= gw.max(1) / np.maximum(gw.sum(1), 1e-12)
                    gw[:, self.generic_class < 0] = -1.0
                    cls = self.generic_class[gw.argmax(1)]
                known = cls >= 0
                verdicts, cls, strength = verdicts[known], cls[known], strength[known]
                p[verdicts] = 0.0
                p[verdicts, cls] = np.maximum(strength, ASSIGN_MIN)
                placed[verdicts] = True
        return p, placed

    def _generic(self, term_lists: list[list[str]], rows: np.ndarray) -> sparse.csr_matrix:
        """Unit sublinear TF-IDF rows over the verdict vocabulary, as discovery weighed them."""
        column = {t: j for j, t in enumerate(self.generic_vocab)}
        return unit_tfidf([term_lists[int(d)] for d in rows], column, self.generic_idf)[0]

    # ------------------------------------------------------------------------------------ storage
    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "projection_components": np.asarray(self.components, np.float64),
            "projection_topic_class": np.asarray(self.topic_class, np.int64),
            "projection_nouns": np.array(sorted(self.nouns), dtype=str),
            "projection_generic_vocab": np.array(self.generic_vocab, dtype=str),
            "projection_generic_idf": np.asarray(self.generic_idf, np.float64),
            "projection_generic_components": np.asarray(self.generic_components, np.float64),
            "projection_generic_class": np.asarray(self.generic_class, np.int64),
        }

    def meta(self) -> dict[str, float | int]:
        return {"lift": self.lift, "overall_class": self.overall_class}

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray], meta: dict[str, float | int]) -> Projection:
        """Read back from `arrays` (``z``: the loaded ``.npz``) and `meta`."""
        get = z.__getitem__
        return cls(
            components=get("projection_components").astype(np.float64),
            topic_class=get("projection_topic_class").astype(np.int64),
            nouns=frozenset(str(w) for w in get("projection_nouns")),
            lift=float(meta["lift"]),
            overall_class=int(meta["overall_class"]),
            generic_vocab=[str(w) for w in get("projection_generic_vocab")],
            generic_idf=get("projection_generic_idf").astype(np.float64),
            generic_components=get("projection_generic_components").astype(np.float64),
            generic_class=get("projection_generic_class").astype(np.int64),
        )
