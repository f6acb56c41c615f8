"""A discovered theme's own matcher: the model that grouped its comments, with a calibrated threshold.

Why: keywords saved from discovery are the words a cluster uses most, and most of them ("account",
"called", "flight") occur in most comments, so re-matching them tags nearly everything with nearly
everything. Discovery already knows which words *separate* its themes; this keeps that knowledge.

The model: logistic regression (one against the rest per theme, liblinear: 30x faster here than the
multinomial lbfgs fit and as accurate) on the same TF-IDF terms discovery used (same cleaning, tokens,
inflection folding and key phrases), trained on discovery's labels (its most specific theme per
comment). Relevance of a theme for a comment = its probability: the themes' sigmoids, scaled to
sum to 1. Thresholds are calibrated
on the training comments when the model is made:

* a comment gets its best theme when that probability reaches ``min_relevance`` (the 2nd percentile of
  the training comments' best probabilities: nearly every comment like the ones discovered gets one);
* it gets another theme when that one is at least ``SECONDARY_SHARE`` of the best and reaches
  ``secondary_relevance`` (the lower quartile of the best probabilities: as clear as a typical weak
  primary theme), at most ``MAX_THEMES`` themes;
* a comment whose words the model mostly does not know (``coverage`` under ``min_coverage``, half the
  1st percentile of the training comments') gets none: it is not like what was discovered.

Probabilities for calibration come from 3-fold cross-fitting (in-sample ones are near 1).

With embedding discovery (``embedder`` set, e.g. "static") the model is the clusters themselves: a
theme's relevance for a comment is the cosine of the comment's embedding with the theme's centroid, so
``analyze`` places comments exactly as k-means grouped them. Thresholds are calibrated the same way, on
the training comments' best cosines (in-sample cosines are not inflated the way fitted probabilities
are: a centroid is one mean, not a fitted classifier). A secondary theme must come within
``CENTROID_GAP`` of the best cosine. The TF-IDF part then only names the word that explains an
assignment (``coef`` = each theme's class TF-IDF), and comments whose words it does not know still
get themes: the embedding knows word pieces the vocabulary lacks.

With TF-IDF discovery (``projection`` set) the model is discovery's own NMF projection
(projection.py): comments are placed by the same computation that labelled discovery's comments, and
the regression part is not fitted (``coef`` = each theme's topic, only to name the word behind an
assignment).

Deterministic (lbfgs, no sampling). Stored as a NumPy ``.npz`` (no pickle): safe to load from a file.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cxchange.understand.themes.normalise import Noise, normalise
from cxchange.understand.themes.projection import Projection, first_subject, unit_tfidf
from cxchange.understand.themes.text import text_terms, tokenise

if TYPE_CHECKING:  # imported where features are built: every command that loads a taxonomy loads this
    from scipy import sparse  # module, and scipy.sparse costs ~0.3 s of start-up

__all__ = ["FORMAT", "ModelFileError", "ThemeModel", "fit_model", "model_digest", "text_key"]

FORMAT = 3  # bumped when the stored layout or the featurisation changes (2: centroids, 3: projection)
READS = (1, 2, 3)  # formats this version loads: 1 has no centroids, 2 no projection; both read as before
LR_CLASS_WEIGHT = "balanced"  # eval/themes_fidelity.py: themes keep discovery's proportions (see _fit_rest)
LR_C = 1.0  # inverse regularisation (chosen on the demo and clothing sets only: 0.3 / 1 / 3 / 10 tried)
SECONDARY_SHARE = 0.5
MAX_THEMES = 3  # most themes one comment gets from one model
PRIMARY_QUANTILE, SECONDARY_QUANTILE, COVERAGE_QUANTILE = 0.02, 0.25, 0.01
COVERAGE_SHARE = 0.5  # out of domain: knowing under half the words the least-known 1 % of comments had
CENTROID_GAP = 0.02  # another theme counts when its centroid is within this cosine of the best one
# Caps on the calibrated cosines: a corpus of repeated texts (every comment at cosine 1 to its centroid)
# would otherwise set thresholds no new comment reaches.
CENTROID_MIN_CAP, CENTROID_SECONDARY_CAP = 0.5, 0.6


class ModelFileError(ValueError):
    """A stored model that cannot be read (damaged, or written by another format version)."""


@dataclass
class ThemeModel:
    """Row ``i`` of ``coef`` scores the theme ``classes[i]`` (an index into discovery's theme list
    when fitted; the service maps it to a theme id when saving)."""

    classes: np.ndarray
    vocab: list[str]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    fold: dict[str, str]
    noise: Noise
    min_relevance: float = 0.0
    secondary_relevance: float = 0.0
    min_coverage: float = 0.0
    centroids: np.ndarray | None = None  # unit rows per class: relevance = cosine (embedding mode)
    embedder: str = ""  # the embedder (by name) whose space the centroids live in
    token_weights: np.ndarray | None = None  # the static embedder's per-token weights at discovery
    centre: np.ndarray | None = None  # subtracted from unit embeddings before the cosine (corpus mean)
    projection: Projection | None = None  # TF-IDF discovery's NMF topics: relevance = topic weight
    _column: dict[str, int] = field(default_factory=dict, repr=False)
    _forms: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._column = {t: j for j, t in enumerate(self.vocab)}

    # ------------------------------------------------------------------------------------ scoring
    def features(self, texts: Sequence[str | None]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Unit TF-IDF rows over ``vocab``, and per text the share of its term uses the model knows."""
        return self.features_of_terms(
            [text_terms(tokenise(normalise(t, self.noise))[0], self.fold) for t in texts]
        )

    def _projected(self, texts: Sequence[str | None]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        """Features, relevance per model row and whether placed, by discovery's projection."""
        assert self.projection is not None
        parsed = [tokenise(normalise(t, self.noise)) for t in texts]
        terms = [text_terms(toks, self.fold) for toks, _ in parsed]
        nouns = self.projection.nouns
        subjects = [first_subject(toks, heads, self.fold, nouns) for toks, heads in parsed]
        x, _ = self.features_of_terms(terms)
        p, placed = self.projection.relevance(x, subjects, self._column, terms, len(self.classes))
        return x, p, placed

    def features_of_terms(self, docs: Sequence[list[str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """`features` of texts already cut into discovery's terms."""
        return unit_tfidf(docs, self._column, self.idf)

    def probabilities(self, x: sparse.csr_matrix) -> np.ndarray:
        if len(self.classes) == 1:
            return np.ones((x.shape[0], 1))
        z = np.asarray(x @ self.coef.T) + self.intercept
        sig: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return np.asarray(sig / np.maximum(sig.sum(1, keepdims=True), 1e-300))

    def assign(
        self,
        texts: Sequence[str | None],
        groups: Sequence[int | None] | None = None,
        known: Mapping[str, np.ndarray] | None = None,
    ) -> list[list[tuple[int, float, str]]]:
        """Per text, (theme, relevance, the term that weighed most) for each theme it is about, most
        relevant first; [] when it is about none. A theme is a row of ``classes`` or, with ``groups``
        (per row: the theme it counts for, None to drop it), a value of ``groups`` whose rows' relevances
        add up (themes merged after discovery). ``known``: embeddings already computed by this model's
        embedder, by ``text_key`` of the string embedded (`embedded_text`); those texts are not
        embedded again."""
        keys = list(range(len(self.classes))) if groups is None else list(groups)
        if len(keys) != len(self.classes):
            raise ValueError(f"{len(keys)} groups for {len(self.classes)} model rows")
        targets = sorted({k for k in keys if k is not None})
        col = {k: j for j, k in enumerate(targets)}
        agg = np.zeros((len(keys), len(targets)))
        for r, k in enumerate(keys):
            if k is not None:
                agg[r, col[k]] = 1.0
        if self.projection is not None:
            x, p_rows, placed = self._projected(texts)
            p = p_rows @ agg
        elif self.centroids is not None:
            terms = [text_terms(tokenise(normalise(t, self.noise))[0], self.fold) for t in texts]
            x, _ = self.features_of_terms(terms)
            p_rows, placed = self.cosines(texts, known)
            # A comment with no word left once handles, links and numbers are out ("@brand 4") is about
            # no theme: its embedding (of "4") lies near some centroid all the same, and a discovery
            # with one theme gave it to 39 of 40 such comments.
            placed &= np.array([bool(t) for t in terms], dtype=bool)
            # merged themes: a comment is as close to the merged theme as to its nearest part
            p = np.zeros((len(texts), len(targets)))
            for j in range(len(targets)):
                p[:, j] = p_rows[:, np.flatnonzero(agg[:, j])].max(1)
        else:
            x, coverage = self.features(texts)
            p_rows = self.probabilities(x)
            p = p_rows @ agg
            placed = (np.diff(x.indptr) > 0) & (coverage >= self.min_coverage)
        out: list[list[tuple[int, float, str]]] = []
        for i in range(len(texts)):
            if not targets or not placed[i]:
                out.append([])
                continue
            row = p[i]
            best = int(row.argmax())
            if row[best] < self.min_relevance:
                out.append([])
                continue
            if self.centroids is not None:
                floor = max(self.secondary_relevance, row[best] - CENTROID_GAP)
            else:
                floor = max(self.secondary_relevance, SECONDARY_SHARE * row[best])
            order = np.argsort(-row, kind="stable")[:MAX_THEMES]
            picked = [int(g) for g in order if g == best or row[g] >= floor]
            found = []
            for g in picked:
                rows_of_g = np.flatnonzero(agg[:, g])
                strongest = int(rows_of_g[np.argmax(p_rows[i, rows_of_g])])
                found.append((targets[g], round(float(row[g]), 4), self._top_term(x, i, strongest)))
            out.append(found)
        return out

    def embedded_text(self, text: str | None) -> str:
        """The string this model's embedder embeds for ``text`` (discovery's normalisation)."""
        return normalise(text, self.noise)

    @property
    def reuses_vectors(self) -> bool:
        """Whether stored embeddings (by ``text_key``) can stand for this model's own: an embedding
        model whose embedder is used as is (not re-weighted per corpus)."""
        return self.centroids is not None and bool(self.embedder) and self.token_weights is None

    def cosines(
        self, texts: Sequence[str | None], known: Mapping[str, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of each text's embedding with each centroid, and whether the text embeds at all.
        ``known``: see `assign` (used only when `reuses_vectors`)."""
        assert self.centroids is not None
        strings = [self.embedded_text(t) for t in texts]
        e = np.zeros((len(texts), self.centroids.shape[1]))
        todo = list(range(len(texts)))
        if known and self.reuses_vectors:
            todo = []
            for i, s in enumerate(strings):
                v = known.get(text_key(s))
                if v is not None and v.shape == (e.shape[1],):
                    e[i] = v
                else:
                    todo.append(i)
        if todo:
            e[todo] = self._embed([strings[i] for i in todo])
        return self._cosines(e)

    def _embed(self, strings: list[str]) -> np.ndarray:
        from cxchange.understand.themes.embedders import get_embedder

        assert self.centroids is not None
        embedder = get_embedder(self.embedder)
        if embedder is None:
            raise ModelFileError(f"theme model names embedder {self.embedder!r}, which has no vectors")
        if self.token_weights is not None:
            weighted = getattr(embedder, "weighted", None)
            if weighted is None:
                raise ModelFileError(f"embedder {self.embedder!r} cannot weight tokens as this model needs")
            embedder = weighted(self.token_weights)
        e = np.asarray(embedder.embed(strings), dtype=np.float64)
        if e.shape != (len(strings), self.centroids.shape[1]):
            raise ModelFileError(
                f"embedder {self.embedder!r} gives {e.shape[1] if e.ndim == 2 else '?'} dimensions, the "
                f"stored centroids have {self.centroids.shape[1]}: re-run `cxchange themes discover --save`"
            )
        return e

    def _cosines(self, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.centroids is not None
        norms = np.linalg.norm(e, axis=1)
        known = norms > 0
        e = e / np.maximum(norms, 1e-12)[:, None]
        if self.centre is not None:
            e = (e - self.centre) * known[:, None]
            e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        return e @ self.centroids.T, known

    def _top_term(self, x: sparse.csr_matrix, i: int, c: int) -> str:
        """The comment's term that pushes it most towards row ``c`` (what explains the assignment)."""
        lo, hi = x.indptr[i], x.indptr[i + 1]
        cols = x.indices[lo:hi]
        if len(cols) == 0:
            return ""
        weight = x.data[lo:hi] * (self.coef[c, cols] if len(self.classes) > 1 else 1.0)
        return self.vocab[int(cols[int(np.argmax(weight))])]

    def span(self, text: str, term: str) -> tuple[int, int]:
        """Where ``term`` (a folded word or phrase) first appears in ``text``; the whole text if nowhere."""
        pattern = self._forms.get(term)
        if pattern is None:
            word = term.split(" ")[0]
            forms = sorted({word, *(raw for raw, base in self.fold.items() if base == word)}, key=len)
            pattern = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in reversed(forms)) + r")\b", re.I)
            self._forms[term] = pattern
        m = pattern.search(text)
        return (m.start(), m.end()) if m else (0, len(text))

    # ------------------------------------------------------------------------------------ storage
    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT,
            "min_relevance": self.min_relevance,
            "secondary_relevance": self.secondary_relevance,
            "min_coverage": self.min_coverage,
            "noise": self.noise.as_dict(),
            "embedder": self.embedder,
        }
        if self.projection is not None:
            meta["projection"] = self.projection.meta()
        buf = io.BytesIO()
        keys = sorted(self.fold)
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(meta, sort_keys=True)),
            "classes": np.asarray(self.classes, np.int64),
            "vocab": np.array(self.vocab, dtype=str),
            "idf": np.asarray(self.idf, np.float64),
            "coef": np.asarray(self.coef, np.float32),
            "intercept": np.asarray(self.intercept, np.float64),
            "fold_keys": np.array(keys, dtype=str),
            "fold_values": np.array([self.fold[k] for k in keys], dtype=str),
        }
        arrays.update({
            k: np.asarray(v, np.float32)
            for k, v in (("centroids", self.centroids), ("token_weights", self.token_weights),
                         ("centre", self.centre))
            if v is not None
        })  # fmt: skip
        if self.projection is not None:
            arrays.update(self.projection.arrays())
        np.savez_compressed(buf, allow_pickle=False, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ThemeModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") not in READS:
                    raise ModelFileError(
                        f"theme model format {meta.get('format')!r}, this cxchange reads format {FORMAT}"
                    )
                return cls(
                    classes=z["classes"].astype(np.int64),
                    vocab=[str(v) for v in z["vocab"]],
                    idf=z["idf"].astype(np.float64),
                    coef=z["coef"].astype(np.float64),
                    intercept=z["intercept"].astype(np.float64),
                    fold=dict(zip(map(str, z["fold_keys"]), map(str, z["fold_values"]), strict=True)),
                    noise=Noise.from_dict(meta.get("noise", {})),
                    min_relevance=float(meta["min_relevance"]),
                    secondary_relevance=float(meta["secondary_relevance"]),
                    min_coverage=float(meta["min_coverage"]),
                    embedder=str(meta.get("embedder", "")),
                    projection=Projection.from_arrays(z, meta["projection"])
                    if "projection" in meta
                    else None,
                    **{
                        k: z[k].astype(np.float64)
                        for k in ("centroids", "token_weights", "centre")
                        if k in z.files
                    },
                )
        except ModelFileError:
            raise
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ModelFileError(f"not a cxchange theme model ({exc})") from None


def model_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_key(embedded: str) -> str:
    """The key a stored embedding of the string ``embedded`` is found by (32 hex digits)."""
    return hashlib.blake2b(embedded.encode("utf-8"), digest_size=16).hexdigest()


def fit_model(
    term_lists: Sequence[list[str]],
    labels: np.ndarray,
    *,
    fold: dict[str, str],
    noise: Noise,
    embeddings: np.ndarray | None = None,
    embedder: str = "",
    centroids: dict[int, np.ndarray] | None = None,
    token_weights: np.ndarray | None = None,
    centre: np.ndarray | None = None,
) -> ThemeModel | None:
    """A model that places comments like discovery did: trained on ``term_lists`` (discovery's terms per
    text) and ``labels`` (its most specific theme per text, -1 = none). None when nothing was labelled.
    With ``embeddings`` (unit rows, one per text, from the embedder named ``embedder``): the centroid
    model (see the module's docstring)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    labels = np.asarray(labels, np.int64)
    rows = np.flatnonzero(labels >= 0)
    if len(rows) == 0:
        return None
    docs = [term_lists[int(i)] for i in rows]
    vec = CountVectorizer(analyzer=lambda d: d, min_df=2 if len(rows) >= 20 else 1)
    try:
        counts = vec.fit_transform(docs).tocsr()
    except ValueError:  # no term at all
        return None
    vocab = [str(t) for t in vec.get_feature_names_out()]
    idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
    y = labels[rows]
    classes = np.unique(y)
    if embeddings is not None:
        return _centroid_model(counts, vocab, idf, y, classes, embeddings[rows], embedder, fold, noise,
                               centroids or {}, token_weights, centre)  # fmt: skip
    if len(classes) == 1:
        coef, intercept = np.zeros((1, len(vocab))), np.zeros(1)
    else:
        x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        coef, intercept = _fit_rest(x, y, classes)
    model = ThemeModel(classes, vocab, idf, coef, intercept, dict(fold), noise)
    # Calibrate on probabilities the model gives comments it was not trained on (3-fold, seeded):
    # in-sample probabilities are near 1 and would set thresholds no new comment reaches.
    x, coverage = model.features_of_terms(docs)
    best = _held_out_best(x, y, classes) if len(classes) > 1 else np.ones(len(y))
    model.min_relevance = round(float(np.quantile(best, PRIMARY_QUANTILE)), 4)
    model.secondary_relevance = round(float(np.quantile(best, SECONDARY_QUANTILE)), 4)
    model.min_coverage = round(COVERAGE_SHARE * float(np.quantile(coverage, COVERAGE_QUANTILE)), 4)
    return model


def _centroid_model(
    counts: sparse.csr_matrix,
    vocab: list[str],
    idf: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
    e: np.ndarray,
    embedder: str,
    fold: dict[str, str],
    noise: Noise,
    given: dict[int, np.ndarray],
    token_weights: np.ndarray | None,
    centre: np.ndarray | None,
) -> ThemeModel:
    """Centroids of the labelled comments' unit embeddings; ``coef`` = each theme's TF-IDF over its
    comments minus the corpus mean (only to name the word behind an assignment)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer

    onehot = sparse.csr_matrix(
        (np.ones(len(y)), (np.searchsorted(classes, y), np.arange(len(y)))), shape=(len(classes), len(y))
    )
    sizes = np.maximum(np.asarray(onehot.sum(1)).ravel(), 1.0)
    sums = np.asarray(onehot @ e)
    for i, c in enumerate(classes):
        if int(c) in given:
            sums[i] = given[int(c)]
    centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    mean_x = np.asarray((onehot @ x).todense()) / sizes[:, None]
    coef = np.maximum(mean_x - np.asarray(x.mean(0)).ravel(), 0.0)
    model = ThemeModel(
        classes, vocab, idf, coef, np.zeros(len(classes)), dict(fold), noise,
        centroids=centroids, embedder=embedder, token_weights=token_weights, centre=centre,
    )  # fmt: skip
    unit = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    best = (unit @ centroids.T).max(1)
    model.min_relevance = round(min(float(np.quantile(best, PRIMARY_QUANTILE)), CENTROID_MIN_CAP), 4)
    model.secondary_relevance = round(
        min(float(np.quantile(best, SECONDARY_QUANTILE)), CENTROID_SECONDARY_CAP), 4
    )
    return model


def _held_out_best(x: sparse.csr_matrix, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each comment's best probability from a model fitted without it (stratified 3-fold, seeded)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.searchsorted(classes, y))
    folds = int(min(3, counts.min()))
    if folds < 2:  # a theme of one comment: too few to hold any out
        return np.full(len(y), 1.0 / len(classes))
    best = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        coef, intercept = _fit_rest(x[train], y[train], classes)
        z = np.asarray(x[test] @ coef.T) + intercept
        sig = 1.0 / (1.0 + np.exp(-z))
        best[test] = (sig / np.maximum(sig.sum(1, keepdims=True), 1e-300)).max(1)
    return best


def _fit_rest(x: sparse.csr_matrix, y: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a logistic regression of it against the rest: (coef rows, intercepts) in ``classes``
    order (a class absent from ``y`` gets a row that never wins). Balanced class weights: unweighted,
    a theme of 5 % is a 1-in-20 class whose intercept outvotes the few words that name it, so comments
    drift to the largest theme (skytrax: the largest theme held 29 % in discovery, 58 % after analyze;
    eval/themes_fidelity.py)."""
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((len(classes), x.shape[1]))
    intercept = np.full(len(classes), -30.0)
    for i, c in enumerate(classes):
        target = (y == c).astype(np.int64)
        if 0 < target.sum() < len(target):
            lr = LogisticRegression(C=LR_C, solver="liblinear", class_weight=LR_CLASS_WEIGHT).fit(x, target)
            coef[i], intercept[i] = lr.coef_[0], lr.intercept_[0]
        elif target.sum() == len(target):
            intercept[i] = 30.0
    return coef, intercept
