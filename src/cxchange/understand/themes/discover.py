"""Theme discovery: what customers talk about, named, nested, with example comments.

Pure computation (texts in, plain data out), no torch and no downloads; seconds for tens of thousands
of comments on a laptop CPU, deterministic for a given seed.

How it works:

1. Clean each text (HTML, URLs, e-mail addresses, redaction placeholders such as ``[EMAIL]`` or ``XXXX``,
   numbers, order codes, emoji) and tokenise it. Inflections fold onto a base form seen in the same
   corpus (``waited``/``waiting`` -> ``wait``); key phrases are adjacent non-stop words (``credit report``).
2. Split the vocabulary: *content* terms say what a comment is about; *generic* terms are verdicts that
   fit any subject (``great``, ``terrible``, ``service``). Why: verdict words run through every subject
   and would pull unrelated comments together, yet "Great service overall" is still feedback (it goes to
   "Overall experience").
3. Each text's *subject* - the first noun after a determiner ("this dress", "the queue", "my refund") - can
   be lifted in its TF-IDF row (``SUBJECT_LIFT``; a quarter of short texts' lift for long ones), so that
   themes form around what comments are about. A word counts as a noun when it mostly follows a
   determiner in this corpus.
4. NMF finds fine topics; extra NMF rounds on the texts it explains poorly give rarer wordings a home;
   topics owning too few texts are dropped. Fine topics whose comments share vocabulary nest under one
   parent; past ``max_themes`` top-level themes, the smallest groups nest under "Other topics".
5. Each text gets its best theme (``labels``, most specific) and every theme that explains a good share of
   it (``memberships``). Texts with nothing usable (empty, "n/a", emoji only) stay unassigned (-1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from cxchange.understand.themes.clustering import OverallBlock, content_themes, overall_theme
from cxchange.understand.themes.embedded import embedding_themes
from cxchange.understand.themes.embedders import (
    Embedder,
    RecordingEmbedder,
    StaticEmbedder,
    adaptive_choice,
    get_embedder,
    is_long,
    resolve,
)
from cxchange.understand.themes.naming import ThemeBuild, describe
from cxchange.understand.themes.normalise import Noise, corpus_noise, normalise
from cxchange.understand.themes.sampled import SAMPLE_SHARE, embed_unit
from cxchange.understand.themes.text import (
    GENERIC_WORDS,
    STOP_WORDS,
    find_subjects,
    fold_map,
    head_nouns,
    is_generic,
    text_terms,
    tokenise,
)

__all__ = ["GENERIC_WORDS", "STOP_WORDS", "DiscoveredTheme", "Discovery", "discover_themes"]

STATIC_IDF = False  # weight static token rows by the corpus's IDF (chosen on demo and clothing only)
# The TF-IDF path's saved matcher: "projection" (discovery's own NMF projection, projection.py) or
# "regression" (per-theme logistic regressions trained on discovery's labels, relevance.fit_model).
TFIDF_MATCHER = "projection"
FINE_PER_SQRT = 1 / 2  # first NMF: sqrt(n / mean terms per text)/2 topics, between max_themes and 4x that
# ... and never fewer than this many times the top-level slots (long texts sit at this floor, so it sets
# how many leaf themes they get). 0.5, with SUBJECT_LIFT 0.25, by eval/themes_long_margin.py's committed
# criterion: the largest smallest margin over BERTopic on the two tuning sets, Blitzer and clothing
# (results eval/results/themes_long_margin.md: NMI 0.444 vs 0.482 and 0.309 vs 0.383; no lift or floor
# tried reached BERTopic on clothing). The earlier choice (lift 0, by mean NMI) gave clothing 0.219.
FINE_FLOOR = 0.5
# Added to a long text's subject noun (its TF-IDF row has unit length) before topics are found. A little
# lift makes clothing's themes garments ("this dress", "the top") instead of size or fabric remarks
# (0.219 -> 0.309); more splits Blitzer's reviews by their scattered first nouns ("the author", "the plot",
# "the unit": 0.493 at 0 -> 0.444 at 0.25 -> 0.318 at 1.0).
SUBJECT_LIFT = 0.25
# With a number: a long corpus gets SUBJECT_LIFT only when its subjects concentrate, i.e. when the top-level
# slots' count of its commonest subject nouns are the subjects of at least this share of its texts
# (`subject_concentration`); else no lift. None: SUBJECT_LIFT always. The sweep's rule candidate (1/3,
# lift 1, floor 1) tied the chosen setting on the smallest margin; the tie rule prefers no corpus statistic.
SUBJECT_SHARE_MIN: float | None = None
# Short corpora on the TF-IDF path (`--embedder tfidf`; `adaptive` sends them to an embedder) keep the
# settings chosen on the demo before: the long-text sweep did not look at short texts.
SHORT_FINE_FLOOR, SHORT_SUBJECT_LIFT = 1.0, 1.0


@dataclass(frozen=True)
class DiscoveredTheme:
    """One theme. ``size`` counts texts whose label is this theme or a theme below it."""

    name: str  # unique within one Discovery
    keywords: list[str]  # words and short phrases as customers write them, for keyword matching
    parent: int | None
    size: int
    representatives: list[int]  # indices of typical texts, most typical first


@dataclass
class Discovery:
    """Themes plus, per input text, its most specific theme (``labels``, -1 = unassigned)."""

    themes: list[DiscoveredTheme]
    labels: np.ndarray
    unassigned: int
    # Per text, every theme it is about (most specific level), its label first; [] when unassigned.
    memberships: list[list[int]] = field(default_factory=list)
    # With ``with_model``: what places new comments as discovery did (relevance.ThemeModel; its
    # ``classes`` index ``themes``); None when not asked for or nothing was assigned.
    model: Any = None
    noise: Noise | None = None  # what normalisation stripped (brands, boilerplate)
    embedder: str = ""  # the back-end used, by name ("adaptive" resolved); "" for an embedder object
    # With ``with_model`` and an embedding model: per input text index, (relevance.text_key of the string
    # embedded, the embedder's raw vector), for `analyze` to reuse; empty otherwise.
    vectors: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)

    def top_level(self) -> np.ndarray:
        """Labels mapped to their top-level ancestor (-1 stays -1)."""
        root = list(range(len(self.themes)))
        for i in root:
            while (p := self.themes[root[i]].parent) is not None:
                root[i] = p
        return np.array([*root, -1], dtype=np.int64)[self.labels]


# ---------------------------------------------------------------------------------------------- entry
def discover_themes(
    texts: Sequence[str | None],
    *,
    max_themes: int = 12,
    seed: int = 0,
    min_share: float = 0.005,
    fine_topics: int | None = None,
    n_keywords: int = 10,
    n_representatives: int = 5,
    embedder: str | Embedder = "adaptive",
    embed_share: float = SAMPLE_SHARE,
    with_model: bool = False,
) -> Discovery:
    """Discover up to ``max_themes`` top-level themes, with sub-themes, in ``texts``.

    ``min_share``: the smallest theme as a share of the texts (never fewer than 3 texts).
    ``fine_topics``: NMF topics before grouping (default about sqrt(n / mean terms per text) / 2, between
    max_themes and 4x that).
    ``embedder``: ``"adaptive"`` (default: ``"minilm-onnx"`` when installed, else ``"static"``, for
    short texts, else ``"tfidf"``; see ``embedders.adaptive_choice``), ``"minilm-onnx"`` (MiniLM via
    onnxruntime), ``"static"`` (distilled token vectors), ``"tfidf"`` (TF-IDF + NMF),
    ``"minilm"`` (sentence embeddings,
    needs the ``embeddings`` extra; ``fine_topics`` then does not apply) or any object with
    ``embed(texts) -> np.ndarray``. Names and keywords come from the texts' words either way.
    ``embed_share``: with an embedder, the share of texts really embedded (a seeded sample, at least a
    few hundred): clusters are found among them and the other texts are placed from their words
    (``sampled.py``). 1.0 embeds every text.
    ``with_model``: also fit the model that assigns these themes to new comments (``relevance.py``).
    """
    n = len(texts)
    if isinstance(embedder, str) and resolve(embedder) == "adaptive":
        embedder = adaptive_choice(texts)
    used = resolve(embedder) if isinstance(embedder, str) else ""
    dense = get_embedder(embedder)  # None: the TF-IDF + NMF path; checked before any work
    if n == 0:
        return Discovery([], np.zeros(0, np.int64), 0, [], embedder=used)
    max_themes = max(1, int(max_themes))
    min_size = max(3, round(min_share * n))

    noise = corpus_noise(texts)
    cleaned = [normalise(t, noise) for t in texts]
    parsed = [tokenise(t) for t in cleaned]
    tokens, heads = [p[0] for p in parsed], [p[1] for p in parsed]
    fold = fold_map(Counter(w for toks in tokens for w in toks if w is not None))
    subjects, nouns = find_subjects(tokens, heads, fold)
    # A term must be used by a few texts (more in big corpora: a rare word cannot make a theme).
    vec = CountVectorizer(
        analyzer=lambda d: d, min_df=max(2, n // 5000) if n >= 20 else 1, max_df=0.7 if n >= 50 else 1.0
    )
    try:
        term_lists = [text_terms(toks, fold) for toks in tokens]
        counts_x = vec.fit_transform(term_lists).tocsr()
    except ValueError:  # no term at all (empty, filler or emoji only)
        return Discovery([], np.full(n, -1, np.int64), n, [[] for _ in range(n)], embedder=used)
    vocab = vec.get_feature_names_out()
    generic = np.array([is_generic(t) for t in vocab])
    content_x, content_vocab = counts_x[:, np.flatnonzero(~generic)], vocab[~generic]
    generic_x, generic_vocab = counts_x[:, np.flatnonzero(generic)], vocab[generic]
    has_content = np.diff(content_x.indptr) > 0
    has_generic = np.diff(generic_x.indptr) > 0

    b = ThemeBuild(
        [],
        np.full(n, -1, np.int64),
        np.zeros(n),
        [[] for _ in range(n)],
        head_nouns(tokens, heads, fold),
        noise.acronyms,
    )
    # Keep a top-level slot for "Overall experience" when enough texts could end up there.
    k_top = max(1, max_themes - int(has_generic.sum() >= min_size))
    # Short comments word one subject many ways and need many fine topics; long texts carry enough words
    # each to be placed well by a few, and more topics would only split subjects by side remarks.
    n_terms = np.diff(content_x.indptr)[has_content]
    per_text = float(n_terms.mean()) if len(n_terms) else 1.0
    k_auto = round(np.sqrt(int(has_content.sum()) / max(per_text, 1.0)) * FINE_PER_SQRT)
    long = is_long(texts)
    floor, subject_lift = (FINE_FLOOR, SUBJECT_LIFT) if long else (SHORT_FINE_FLOOR, SHORT_SUBJECT_LIFT)
    if long and SUBJECT_SHARE_MIN is not None and subject_concentration(subjects, k_top) < SUBJECT_SHARE_MIN:
        subject_lift = 0.0
    k_fine = fine_topics or min(max(round(floor * k_top), k_auto, 1), 4 * k_top)
    k_fine = min(k_fine, int(has_content.sum()), content_x.shape[1])
    embedded: tuple[np.ndarray, dict[int, np.ndarray], np.ndarray] | None = None
    topics: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None  # idf, topics, their themes, lift
    overall: OverallBlock | None = None
    if dense is not None:
        if STATIC_IDF and isinstance(dense, StaticEmbedder):  # this corpus's rare tokens weigh more
            dense = dense.weighted(dense.corpus_weights(cleaned))
        if with_model:  # keep each text's vector: the saved matcher's texts need not be embedded again
            dense = RecordingEmbedder(dense)
        rows = np.flatnonzero(has_content)
        if getattr(dense, "cheap", False):  # embedding every text costs less than placing most by words
            embed_share = 1.0
        embedded = embedding_themes(b, dense, [cleaned[d] for d in rows], rows, content_x, content_vocab,
                                    k_top, seed, min_size, n_keywords, embed_share)  # fmt: skip
    elif k_fine >= 1:
        transformer = TfidfTransformer(sublinear_tf=True).fit(content_x)
        tfidf = transformer.transform(content_x).tocsr()
        column = {t: j for j, t in enumerate(content_vocab)}
        with_subject = [d for d, w in enumerate(subjects) if w in column]
        cols = [column[w] for w in subjects if w in column]
        lift = sparse.csr_matrix((np.full(len(cols), subject_lift), (with_subject, cols)), shape=tfidf.shape)
        lifted = normalize(tfidf + lift).tocsr()
        h, leaf = content_themes(b, lifted, tfidf, content_vocab, k_fine, k_top, seed, min_size, n_keywords)
        topics = (transformer.idf_, h, leaf, subject_lift)
    # Overall experience: texts with verdict words only, plus texts whose content fits no theme.
    idx = np.flatnonzero((b.labels == -1) & has_generic)
    if len(idx) >= min_size and sum(t["parent"] is None for t in b.themes) < max_themes:
        overall = overall_theme(
            b, generic_x, generic_vocab, idx, has_content[idx], seed, min_size, n_keywords
        )

    describe(b, tokens, fold, n_representatives)
    keep = [i for i, t in enumerate(b.themes) if t["size"] > 0]  # drop empty themes, renumber the rest
    remap = np.full(len(b.themes) + 1, -1, np.int64)
    remap[keep] = np.arange(len(keep))
    parents = [None if t["parent"] is None else int(remap[t["parent"]]) for t in b.themes]
    keys = ("name", "keywords", "size", "representatives")
    out = [DiscoveredTheme(parent=parents[i], **{k: b.themes[i][k] for k in keys}) for i in keep]
    labels = remap[b.labels]
    memberships = [[int(remap[m]) for m in ms if remap[m] >= 0] for ms in b.memberships]
    model = None
    vectors: dict[int, tuple[str, np.ndarray]] = {}
    if with_model:
        from cxchange.understand.themes.relevance import fit_model, text_key

        name = getattr(dense, "name", "")
        e_all, centroids, centre = None, None, None
        if embedded is not None and dense is not None and getattr(dense, "cheap", False) and name:
            # The saved matcher is discovery's centroids: texts without content words ("Overall
            # experience") are embedded too, so that theme has a centroid like the others.
            e_rows, by_theme, centre = embedded
            e_all = np.zeros((n, e_rows.shape[1]))
            e_all[np.flatnonzero(has_content)] = e_rows
            rest = np.flatnonzero((labels >= 0) & ~has_content)
            if len(rest):
                e_all[rest] = normalize(embed_unit(dense, [cleaned[d] for d in rest]) - centre)
            centroids = {int(remap[t]): c for t, c in by_theme.items() if remap[t] >= 0}
        if topics is not None and TFIDF_MATCHER == "projection":
            model = _projection_model(labels, remap, topics, content_vocab, nouns, fold, noise, overall,
                                      generic_vocab)  # fmt: skip
        else:
            model = fit_model(
                term_lists, labels, fold=fold, noise=noise, embeddings=e_all, embedder=name,
                centroids=centroids, token_weights=getattr(dense, "token_weights", None), centre=centre,
            )  # fmt: skip
        if model is not None and model.reuses_vectors and isinstance(dense, RecordingEmbedder):
            # Texts grouping did not need (no content word, no theme: "What is this witdrawal", "n/a")
            # are embedded here too, while the model is loaded: otherwise `analyze` loads the embedder
            # for them alone (1 of 3,080 banking77_train requests; bench/results/
            # themes_session_banking77_train.json). Their vectors are only stored, never clustered.
            missing = [c for c in dict.fromkeys(cleaned) if c not in dense.seen]
            if missing and getattr(dense, "cheap", False):
                dense.embed(missing)
            for d, c in enumerate(cleaned):  # the strings the matcher will embed (its noise is `noise`)
                v = dense.seen.get(c)
                if v is not None:
                    vectors[d] = (text_key(c), v)
    return Discovery(out, labels, int((labels == -1).sum()), memberships, model, noise, used, vectors)


def subject_concentration(subjects: Sequence[str | None], k: int) -> float:
    """Share of the texts whose subject noun (``text.find_subjects``) is one of the ``k`` commonest
    subjects: high when a corpus's comments name a few things first ("this dress", "the top"), low when
    their first nouns scatter ("the author", "the plot", "the unit")."""
    counts = Counter(s for s in subjects if s is not None)
    return sum(c for _, c in counts.most_common(max(k, 0))) / len(subjects) if subjects else 0.0


def _projection_model(
    labels: np.ndarray,
    remap: np.ndarray,
    topics: tuple[np.ndarray, np.ndarray, np.ndarray, float],
    vocab: np.ndarray,
    nouns: frozenset[str],
    fold: dict[str, str],
    noise: Noise,
    overall: OverallBlock | None,
    generic_vocab: np.ndarray,
) -> Any:
    """The saved matcher of TF-IDF discovery: its NMF projection (projection.py), over the themes that
    labelled a comment (``classes``, as `fit_model` numbers them). None when none did."""
    from cxchange.understand.themes.projection import ASSIGN_MIN, Projection
    from cxchange.understand.themes.relevance import ThemeModel

    classes = np.unique(labels[labels >= 0])
    if len(classes) == 0:
        return None
    idf, h, leaf, subject_lift = topics

    def row_of(themes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Model row of each (pre-renumbering) theme index, -1 for a theme that labelled nothing."""
        final = remap[np.asarray(themes, np.int64)] if len(themes) else np.zeros(0, np.int64)
        pos = np.searchsorted(classes, final)
        ok = (final >= 0) & (pos < len(classes))
        ok[ok] = classes[pos[ok]] == final[ok]
        return np.where(ok, pos, -1).astype(np.int64)

    topic_class = row_of(leaf)
    coef = np.zeros((len(classes), len(vocab)))
    mapped = topic_class >= 0
    np.add.at(coef, topic_class[mapped], h[mapped])
    projection = Projection(h, topic_class, frozenset(nouns), subject_lift)
    if overall is not None:
        projection.overall_class = int(row_of([overall.theme])[0])
        projection.generic_vocab = [str(t) for t in generic_vocab]
        projection.generic_idf = np.asarray(overall.idf, np.float64)
        projection.generic_components = overall.parts
        projection.generic_class = row_of(overall.part_themes)
    model = ThemeModel(classes, [str(t) for t in vocab], np.asarray(idf, np.float64), coef,
                       np.zeros(len(classes)), dict(fold), noise, projection=projection)  # fmt: skip
    model.min_relevance = model.secondary_relevance = ASSIGN_MIN
    return model
