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
3. Each text's *subject* - the first noun after a determiner ("this dress", "the queue", "my refund") - is
   lifted in its TF-IDF row, so that themes form around what comments are about rather than around
   how they say it. A word counts as a noun when it mostly follows a determiner in this corpus.
4. NMF finds fine topics; extra NMF rounds on the texts it explains poorly give rarer wordings a home;
   topics owning too few texts are dropped. Fine topics whose comments share vocabulary nest under one
   parent; past ``max_themes`` top-level themes, the smallest groups nest under "Other topics".
5. Each text gets its best theme (``labels``, most specific) and every theme that explains a good share of
   it (``memberships``). Texts with nothing usable (empty, "n/a", emoji only) stay unassigned (-1).
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.decomposition import NMF, non_negative_factorization
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from cxchange.understand.themes.embedders import Embedder, get_embedder
from cxchange.understand.themes.normalise import Noise, corpus_noise, normalise
from cxchange.understand.themes.sampled import (
    SAMPLE_SHARE,
    choose_sample,
    embed_sampled,
    embed_unit,
    propagate_labels,
    text_features,
)

__all__ = ["GENERIC_WORDS", "STOP_WORDS", "DiscoveredTheme", "Discovery", "discover_themes"]

OVERALL_NAME, OTHER_NAME = "Overall experience", "Other topics"
SUBJECT_LIFT = 1.0  # added to a text's subject noun (its TF-IDF row has unit length)
NOUN_SHARE = 0.4  # a word is a noun when at least this share of its uses follow a determiner
FINE_PER_SQRT = 1 / 2  # first NMF: sqrt(n / mean terms per text)/2 topics, between max_themes and 4x that
RESIDUAL_FIT, RESIDUAL_ROUNDS = 0.15, 2  # short texts fitting no topic this well get topics of their own
SHORT_TERMS = 10  # a text with at most this many content terms (words and phrases) is short
ASSIGN_MIN = 0.05  # smallest weight (unit-norm text on unit-norm topic) that counts as being about it
SECONDARY = 0.5  # another theme counts for a text at this share of its best theme's weight
GROUP_SIM = 0.15  # fine topics whose comments are this similar nest under one parent
ATTACH_SIM = 0.02  # past max_themes, a small group joins its most similar big one when at least this similar
VARIANT_SHARE = 0.15  # another written form of a keyword is listed at this share of its uses
# Embedding back-end (tuned on the demo and clothing sets only; CFPB held out).
EMB_FINE_FACTOR = 1.0  # k-means clusters (leaf themes) per top-level slot
EMB_RESTARTS = 3  # k-means restarts (seeded)
EMB_GROUP_SIM = 0.25  # clusters whose centred centroids have at least this cosine nest under one parent
EMB_SECONDARY_GAP = 0.02  # another theme counts for a text within this cosine of its own centroid


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# sklearn's English list minus words that are subjects in feedback (a bill, a call, interest on a loan,
# the top or back of a garment, thick or thin fabric, a full refund).
_KEEP = _words(
    "bill call interest amount system top bottom thick thin fire full front side back empty "
    "serious made move detail fill"
)
# Contractions lose their apostrophe in tokenising; filler, intensifiers and meta words carry no subject.
_FILLER = _words(
    """
    im ive id ill youre youve youd theyre theyve weve wasnt isnt arent dont didnt doesnt cant couldnt wont
    wouldnt shouldnt havent hasnt hadnt thats theres whats heres lets aint gonna wanna gotta yeah yes na
    nope none nothing comment comments nil nah idk tbh lol btw pls plz hi hello hey dear regards sincerely
    just really actually literally basically simply truly definitely maybe probably also like little
    got get gets getting go goes going went gone come came coming say says said tell told know knew think
    thought want wanted need needed make makes making use used using lot lots bit way thing things stuff
    someone anyone everyone people person day days week weeks month months year years today yesterday
    time times did does doing having let oh etc absolutely extremely incredibly genuinely super properly
    seriously totally completely utterly review reviews reviewer reviewers feedback survey xx xxx xxxx us
    """
)
STOP_WORDS: frozenset[str] = frozenset((ENGLISH_STOP_WORDS - _KEEP) | _FILLER)
DETERMINERS = _words("the this these that those my our your their a an its his her")
# Overall verdicts and generic nouns: they say how, not what. Not here on purpose: quality, value,
# friendly, helpful, rude, slow - they name a subject (product, price, staff, speed).
GENERIC_WORDS: frozenset[str] = _words(
    """
    good great excellent bad poor terrible awful horrible dreadful shocking appalling fantastic brilliant
    amazing awesome wonderful superb perfect outstanding lovely nice fine decent average mediocre ok okay
    happy unhappy pleased satisfied dissatisfied disappointed disappointing disappoint impressed
    impressive love loved hate hated like liked best worst better worse recommend recommended
    recommendation fault complain complaint complaints complaining joke rubbish useless pathetic disgrace
    disgraceful unacceptable acceptable frustrating frustrated annoyed annoying fab fabulous cool glad
    sorry shame overall experience service services company companies customer customers business job
    star stars everything anything thanks thank cheers smooth easy painless hassle efficient professional
    """
)

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.!?;:,()\[\]\"/|\n\-–—]+")


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

    def top_level(self) -> np.ndarray:
        """Labels mapped to their top-level ancestor (-1 stays -1)."""
        root = list(range(len(self.themes)))
        for i in root:
            while (p := self.themes[root[i]].parent) is not None:
                root[i] = p
        return np.array([*root, -1], dtype=np.int64)[self.labels]


@dataclass
class _Build:
    """What the steps fill in: theme records, and per text its label, strength and memberships."""

    themes: list[dict[str, Any]]
    labels: np.ndarray
    strength: np.ndarray  # how clearly a text belongs to its label, to pick representatives
    memberships: list[list[int]]
    nouns: frozenset[str] = frozenset()  # folded words this corpus uses as nouns: what a name may be

    def add(self, terms: list[str], parent: int | None, name: str | None = None, name_term: str = "") -> int:
        self.themes.append({"terms": terms, "parent": parent, "name": name, "name_term": name_term})
        return len(self.themes) - 1


# ---------------------------------------------------------------------------------------------- text
def _tokenise(text: str) -> tuple[list[str | None], list[int]]:
    """Lower-case words with stop words and punctuation as None (phrase breaks), and the positions of
    words at most two words after a determiner ("this dress", "the long queue"): candidate nouns."""
    out: list[str | None] = []
    heads: list[int] = []
    since_det = 9  # words since the last determiner
    for m in _TOKEN.findall(text.lower()):
        if m.isdigit():  # a count ("waited 40 minutes") neither is a word nor breaks a phrase
            continue
        w = m.replace("'", "").replace("’", "") if ("'" in m or "’" in m) else m
        if not w.isalpha():  # punctuation, or a code such as an order ref (LK3587696): a phrase break
            since_det = 9
            if out and out[-1] is not None:
                out.append(None)
            continue
        since_det = 0 if w in DETERMINERS else since_det + 1
        if len(w) < 2 or w in STOP_WORDS:
            if out and out[-1] is not None:
                out.append(None)
            continue
        if since_det <= 2:
            heads.append(len(out))
        out.append(w)
    return out, heads


def _fold_map(counts: Counter[str]) -> dict[str, str]:
    """Map inflected forms onto a base form seen in the same corpus (a tiny data-driven stemmer)."""

    def bases(w: str) -> Iterable[str]:
        if w.endswith(("ies", "ied")):
            yield w[:-3] + "y"
        if w.endswith("es"):
            yield w[:-2]
        if w.endswith("s") and not w.endswith(("ss", "us", "is")):
            yield w[:-1]
        if w.endswith("ing"):
            yield from (w[:-3], w[:-3] + "e")
            if len(w) > 5 and w[-4] == w[-5]:
                yield w[:-4]
        if w.endswith("ed"):
            yield from (w[:-2], w[:-1])
            if len(w) > 4 and w[-3] == w[-4]:
                yield w[:-3]

    fold: dict[str, str] = {}
    for w, c in counts.items():
        # The most common base that is not a rare typo ("lov" must not swallow "loved").
        options = [
            b for b in bases(w) if len(b) >= 3 and b not in STOP_WORDS and counts.get(b, 0) >= max(2, c / 20)
        ]
        if options:
            fold[w] = max(options, key=lambda b: counts[b])
    return {w: fold.get(b, b) for w, b in fold.items()}  # settle chains in one more pass


def _subjects(
    tokens: list[list[str | None]], heads: list[list[int]], fold: dict[str, str]
) -> tuple[list[str | None], frozenset[str]]:
    """Per text, its first noun after a determiner (folded), or None; and the corpus's nouns."""
    after: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for toks, hs in zip(tokens, heads, strict=True):
        total.update(fold.get(t, t) for t in toks if t is not None)
        after.update(fold.get(toks[i], toks[i]) for i in hs)  # type: ignore[arg-type]
    nouns = {w for w, c in after.items() if c >= NOUN_SHARE * total[w] and total[w] >= 5} - GENERIC_WORDS
    folded = ((fold.get(toks[i], toks[i]) for i in hs) for toks, hs in zip(tokens, heads, strict=True))
    first = [next((w for w in ws if w in nouns), None) for ws in folded]  # type: ignore[misc]
    return first, frozenset(nouns)


def _terms(tokens: list[str | None], fold: dict[str, str]) -> list[str]:
    """Unigrams and adjacent-pair key phrases (stop words and punctuation break a phrase)."""
    words = [fold.get(t, t) if t is not None else None for t in tokens]
    out: list[str] = [w for w in words if w is not None]
    out += [f"{a} {b}" for a, b in itertools.pairwise(words) if a is not None and b is not None and a != b]
    return out


def _is_generic(term: str) -> bool:
    return all(part in GENERIC_WORDS for part in term.split(" "))


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
    embedder: str | Embedder = "tfidf",
    embed_share: float = SAMPLE_SHARE,
    with_model: bool = False,
) -> Discovery:
    """Discover up to ``max_themes`` top-level themes, with sub-themes, in ``texts``.

    ``min_share``: the smallest theme as a share of the texts (never fewer than 3 texts).
    ``fine_topics``: NMF topics before grouping (default about sqrt(n / mean terms per text) / 2, between
    max_themes and 4x that).
    ``embedder``: ``"tfidf"`` (default: TF-IDF + NMF, no extra packages), ``"minilm"`` (sentence embeddings,
    needs the ``embeddings`` extra; ``fine_topics`` then does not apply) or any object with
    ``embed(texts) -> np.ndarray``. Names and keywords come from the texts' words either way.
    ``embed_share``: with an embedder, the share of texts really embedded (a seeded sample, at least a
    few hundred): clusters are found among them and the other texts are placed from their words
    (``sampled.py``). 1.0 embeds every text.
    ``with_model``: also fit the model that assigns these themes to new comments (``relevance.py``).
    """
    n = len(texts)
    dense = get_embedder(embedder)  # None: the TF-IDF + NMF path; checked before any work
    if n == 0:
        return Discovery([], np.zeros(0, np.int64), 0, [])
    max_themes = max(1, int(max_themes))
    min_size = max(3, round(min_share * n))

    noise = corpus_noise(texts)
    cleaned = [normalise(t, noise) for t in texts]
    parsed = [_tokenise(t) for t in cleaned]
    tokens, heads = [p[0] for p in parsed], [p[1] for p in parsed]
    fold = _fold_map(Counter(w for toks in tokens for w in toks if w is not None))
    subjects, nouns = _subjects(tokens, heads, fold)
    # A term must be used by a few texts (more in big corpora: a rare word cannot make a theme).
    vec = CountVectorizer(
        analyzer=lambda d: d, min_df=max(2, n // 5000) if n >= 20 else 1, max_df=0.7 if n >= 50 else 1.0
    )
    try:
        term_lists = [_terms(toks, fold) for toks in tokens]
        counts_x = vec.fit_transform(term_lists).tocsr()
    except ValueError:  # no term at all (empty, filler or emoji only)
        return Discovery([], np.full(n, -1, np.int64), n, [[] for _ in range(n)])
    vocab = vec.get_feature_names_out()
    generic = np.array([_is_generic(t) for t in vocab])
    content_x, content_vocab = counts_x[:, np.flatnonzero(~generic)], vocab[~generic]
    generic_x, generic_vocab = counts_x[:, np.flatnonzero(generic)], vocab[generic]
    has_content = np.diff(content_x.indptr) > 0
    has_generic = np.diff(generic_x.indptr) > 0

    b = _Build([], np.full(n, -1, np.int64), np.zeros(n), [[] for _ in range(n)], nouns)
    # Keep a top-level slot for "Overall experience" when enough texts could end up there.
    k_top = max(1, max_themes - int(has_generic.sum() >= min_size))
    # Short comments word one subject many ways and need many fine topics; long texts carry enough words
    # each to be placed well by a few, and more topics would only split subjects by side remarks.
    n_terms = np.diff(content_x.indptr)[has_content]
    per_text = float(n_terms.mean()) if len(n_terms) else 1.0
    k_auto = round(np.sqrt(int(has_content.sum()) / max(per_text, 1.0)) * FINE_PER_SQRT)
    k_fine = fine_topics or min(max(k_top, k_auto), 4 * k_top)
    k_fine = min(k_fine, int(has_content.sum()), content_x.shape[1])
    if dense is not None:
        rows = np.flatnonzero(has_content)
        _embedding_themes(b, dense, [cleaned[d] for d in rows], rows, content_x, content_vocab, k_top, seed,
                          min_size, n_keywords, embed_share)  # fmt: skip
    elif k_fine >= 1:
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(content_x).tocsr()
        column = {t: j for j, t in enumerate(content_vocab)}
        rows = [d for d, w in enumerate(subjects) if w in column]
        cols = [column[subjects[d]] for d in rows]  # type: ignore[index]
        lift = sparse.csr_matrix((np.full(len(rows), SUBJECT_LIFT), (rows, cols)), shape=tfidf.shape)
        lifted = normalize(tfidf + lift).tocsr()
        _content_themes(b, lifted, tfidf, content_vocab, k_fine, k_top, seed, min_size, n_keywords)
    # Overall experience: texts with verdict words only, plus texts whose content fits no theme.
    idx = np.flatnonzero((b.labels == -1) & has_generic)
    if len(idx) >= min_size and sum(t["parent"] is None for t in b.themes) < max_themes:
        _overall_theme(b, generic_x, generic_vocab, idx, has_content[idx], seed, min_size, n_keywords)

    _describe(b, tokens, fold, n_representatives)
    keep = [i for i, t in enumerate(b.themes) if t["size"] > 0]  # drop empty themes, renumber the rest
    remap = np.full(len(b.themes) + 1, -1, np.int64)
    remap[keep] = np.arange(len(keep))
    parents = [None if t["parent"] is None else int(remap[t["parent"]]) for t in b.themes]
    keys = ("name", "keywords", "size", "representatives")
    out = [DiscoveredTheme(parent=parents[i], **{k: b.themes[i][k] for k in keys}) for i in keep]
    labels = remap[b.labels]
    memberships = [[int(remap[m]) for m in ms if remap[m] >= 0] for ms in b.memberships]
    model = None
    if with_model:
        from cxchange.understand.themes.relevance import fit_model

        model = fit_model(term_lists, labels, fold=fold, noise=noise)
    return Discovery(out, labels, int((labels == -1).sum()), memberships, model, noise)


# ---------------------------------------------------------------------------------------------- model
@contextmanager
def _quiet() -> Iterator[None]:
    """Iterations are capped on purpose; tiny inputs make sklearn's loss a rounding error below zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
        yield


def _nmf(x: sparse.csr_matrix, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """NMF from a seeded SVD start; returns (W, H) with H rows scaled to unit norm."""
    # A loose tolerance: topics settle long before the loss does, and the last digits cost the most time.
    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=150, tol=1e-3)
    with _quiet():
        w = model.fit_transform(x)
    norms = np.linalg.norm(model.components_, axis=1)
    norms[norms == 0] = 1.0
    return w * norms, model.components_ / norms[:, None]


def _weights(x: sparse.csr_matrix, h: np.ndarray) -> np.ndarray:
    """Non-negative weights of every text on fixed topics."""
    with _quiet():
        w, _, _ = non_negative_factorization(
            x, H=h, n_components=h.shape[0], init="custom", update_H=False, max_iter=100, tol=1e-3
        )
    return w


def _topics(x: sparse.csr_matrix, k: int, seed: int, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fine topics that cover the corpus: NMF, then NMF rounds on the texts it explains poorly.

    Why: one NMF spends its topics on the commonest wordings; rarer ways of saying something ("got a
    good discount") would otherwise fit no topic. Only short texts get these extra topics: a long text
    that no topic explains well mixes several subjects, and topics carved from such mixtures split the
    corpus by side remarks rather than by what texts are about.
    """
    n_terms = np.diff(x.indptr)
    has_terms = n_terms > 0
    _, h = _nmf(x, k, seed)
    w = _weights(x, h)
    for _ in range(RESIDUAL_ROUNDS):
        weak = np.flatnonzero(has_terms & (n_terms <= SHORT_TERMS) & (w.max(1) < RESIDUAL_FIT))
        k_more = min(round(np.sqrt(len(weak)) / 3), k // 2)
        if len(weak) < 2 * min_size or k_more < 1:
            break
        h = np.vstack([h, _nmf(x[weak], k_more, seed)[1]])
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


def _top_terms(h_row: np.ndarray, h_all: np.ndarray, vocab: np.ndarray, n: int) -> list[tuple[str, float]]:
    """Terms that weigh most in this topic and mostly belong to it (distinct enough to match on)."""
    share = h_row / np.maximum(h_all.sum(0), 1e-12)
    score = h_row * np.sqrt(np.minimum(share, 1.0))
    out: list[tuple[str, float]] = []
    for j in np.argsort(-score, kind="stable")[: n * 4]:
        if score[j] <= 0:
            break
        term = str(vocab[j])
        # A phrase whose word is already listed adds little for matching (and vice versa), unless the
        # phrase is this topic's own.
        overlaps = any(term in o.split(" ") or o in term.split(" ") for o, _ in out if " " in o + term)
        if overlaps and not (" " in term and share[j] > 0.5):
            continue
        out.append((term, float(score[j])))
        if len(out) == n:
            break
    return out


def _name_term(scored: list[tuple[str, float]], avoid: set[str], nouns: frozenset[str] = frozenset()) -> str:
    """A theme's name: its leading term, or a key phrase nearly as strong (``took money`` over ``ask``).

    With ``nouns``, a name says what the comments are about: a noun ("refund") or a phrase ending in
    one ("late refund"), never a lone verb or adjective ("called", "hard") when a noun is on the list.
    """
    options = [(t, v) for t, v in scored if not set(t.split(" ")) & avoid] or scored
    if nouns:
        options = [o for o in options if o[0].split(" ")[-1] in nouns] or options
    if not options:
        return ""
    first, weight = options[0]
    if " " in first:
        return first
    return next((t for t, v in options[1:4] if " " in t and v >= 0.5 * weight), first)


def _content_themes(
    b: _Build,
    x: sparse.csr_matrix,
    base: sparse.csr_matrix,
    vocab: np.ndarray,
    k_fine: int,
    k_top: int,
    seed: int,
    min_size: int,
    n_keywords: int,
) -> None:
    """Fine NMF topics on ``x``, grouped (by their comments in ``base``) into at most ``k_top`` top-level
    themes; a group of several topics becomes a parent with the topics as sub-themes.

    Why fine-then-group: one subject is worded many ways ("queue", "on hold", "waited 40 minutes"); a
    coarse NMF mixes unrelated wordings to fill its quota, while fine topics are each clean.
    """
    w, h = _topics(x, k_fine, seed, min_size)
    if h.shape[0] == 0:
        return
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

    def add(h_row: np.ndarray, parent: int | None, avoid: set[str]) -> int:
        scored = _top_terms(h_row, h, vocab, n_keywords)
        return b.add([t for t, _ in scored], parent, name_term=_name_term(scored, avoid, b.nouns))

    def add_group(g: int, parent: int | None) -> None:
        members = np.flatnonzero(groups == g)
        members = members[np.argsort(-sizes[members], kind="stable")]
        if len(members) == 1:
            leaf[members[0]] = add(h[members[0]], parent, set())
            return
        pid = add(sizes[members] @ h[members], parent, set())
        for t in members:  # a sub-theme is not named after its parent ("Staff > Rude", not "Staff > Staff")
            leaf[t] = add(h[t], pid, set(b.themes[pid]["name_term"].split(" ")))

    for g in by_size[:cut]:
        add_group(g, None)
    if cut < len(by_size):
        rest = np.isin(groups, by_size[cut:])
        other = b.add(
            [t for t, _ in _top_terms(sizes @ (h * rest[:, None]), h, vocab, n_keywords)], None, OTHER_NAME
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


def _ctfidf(counts: sparse.csr_matrix) -> np.ndarray:
    """Class-based TF-IDF (as in BERTopic): rows are clusters, each cluster's texts counted as one document.

    tf = the cluster's term counts over its total; idf = log(1 + mean cluster total / the term's count in
    all clusters): a term weighs most in the cluster that uses it a lot and the others do not.
    """
    c = np.asarray(counts.todense(), dtype=np.float64)
    totals = c.sum(1, keepdims=True)
    tf = c / np.maximum(totals, 1.0)
    idf = np.log1p(float(totals.mean()) / np.maximum(c.sum(0), 1.0))
    return tf * idf


def _kmeans(e: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and unit-norm centroids of k-means on unit-norm rows (cosine k-means, seeded)."""
    from sklearn.cluster import KMeans

    with _quiet():  # duplicate texts can leave fewer distinct points than clusters
        km = KMeans(n_clusters=k, n_init=EMB_RESTARTS, random_state=seed).fit(e)
    return km.labels_.astype(np.int64), normalize(km.cluster_centers_)


def _embedding_k(n: int, k_top: int) -> int:
    """Leaf clusters for ``n`` embedded texts: one per top-level slot (EMB_FINE_FACTOR, tuned on the demo
    and clothing sets only: more clusters split one subject by wording, fewer merge subjects)."""
    return max(1, min(n, round(EMB_FINE_FACTOR * k_top)))


def _embedding_themes(
    b: _Build,
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
) -> None:
    """Themes from sentence embeddings: k-means on unit-norm vectors, every text in ``rows`` assigned.

    Fine clusters become leaves; clusters whose centroids are alike nest under one parent (average
    linkage), at most ``k_top`` top-level themes. Names and keywords: c-TF-IDF of each cluster's
    content terms (``counts``), so the output reads like the TF-IDF path's.
    Why k-means, not HDBSCAN: a density clusterer leaves a large share of texts as noise; every text
    here has content words and belongs somewhere.
    """
    if len(rows) == 0:
        return
    k = _embedding_k(len(rows), k_top)
    sample = choose_sample(texts, seed=seed, share=embed_share)
    if len(sample) == len(rows):  # a small corpus: every text embedded
        e = embed_unit(embedder, texts)
        best, cent = _kmeans(e, k, seed)
    else:  # clusters come from the real embeddings only; the other texts are placed by their words
        features = text_features(counts[rows])
        e = embed_sampled(embedder, texts, features, sample)
        in_sample, cent = _kmeans(e[sample], k, seed)
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
    top = sim[np.arange(len(rows)), best]
    sizes = np.bincount(best, minlength=k).astype(float)
    onehot = sparse.csr_matrix((np.ones(len(rows)), (best, np.arange(len(rows)))), shape=(k, len(rows)))
    leaf_counts = (onehot @ counts[rows]).tocsr()
    h = _ctfidf(leaf_counts)
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
    gh = _ctfidf((to_group @ leaf_counts).tocsr())
    leaf = np.zeros(k, np.int64)

    def add(h_row: np.ndarray, h_all: np.ndarray, parent: int | None, avoid: set[str]) -> int:
        scored = _top_terms(h_row, h_all, vocab, n_keywords)
        return b.add([t for t, _ in scored], parent, name_term=_name_term(scored, avoid, b.nouns))

    for g in by_size:
        members = np.flatnonzero(groups == g)
        members = members[np.argsort(-sizes[members], kind="stable")]
        if len(members) == 1:
            leaf[members[0]] = add(h[members[0]], h, None, set())
            continue
        pid = add(gh[g], gh, None, set())
        for t in members:  # a sub-theme is not named after its parent
            leaf[t] = add(h[t], h, pid, set(b.themes[pid]["name_term"].split(" ")))
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


def _overall_theme(
    b: _Build,
    x: sparse.csr_matrix,
    vocab: np.ndarray,
    idx: np.ndarray,
    off_topic: np.ndarray,
    seed: int,
    min_size: int,
    n_keywords: int,
) -> None:
    """One theme for verdict-only comments, split (e.g. praise vs complaint) when that split is clean.

    ``off_topic`` marks texts that have content words no theme explains: they belong here, but pure
    verdicts ("All good.") make the better examples.
    """
    sub = TfidfTransformer(sublinear_tf=True).fit_transform(x[idx]).tocsr()
    weight = np.asarray(sub.sum(0)).ravel()
    tid = b.add(
        [str(vocab[j]) for j in np.argsort(-weight, kind="stable")[:n_keywords] if weight[j] > 0],
        None,
        OVERALL_NAME,
    )
    b.labels[idx] = tid
    b.strength[idx] = np.asarray(sub.max(1).todense()).ravel() * np.where(off_topic, 0.5, 1.0)
    for d in idx:
        b.memberships[d].append(tid)
    min_child = max(min_size, round(0.1 * len(idx)))
    cols = np.flatnonzero(weight)
    for k in (3, 2):
        if len(idx) < k * min_child or len(cols) < 3 * k:
            continue
        w, h = _nmf(sub[:, cols], k, seed)
        best = w.argmax(1)
        clarity = w.max(1) / np.maximum(w.sum(1), 1e-12)
        # Keep the split only if every part is sizeable and most comments clearly lean one way.
        if np.bincount(best, minlength=k).min() < min_child or np.median(clarity) < 0.75:
            continue
        full = np.zeros((k, x.shape[1]))
        full[:, cols] = h
        ids = []
        for c in range(k):
            scored = _top_terms(full[c], full, vocab, n_keywords)
            ids.append(b.add([t for t, _ in scored], tid, name_term=_name_term(scored, set(), b.nouns)))
        child = np.array(ids)[best]
        b.labels[idx] = child
        b.strength[idx] *= clarity  # a part's examples are the comments that clearly lean its way
        for d, c in zip(idx, child, strict=True):
            b.memberships[d][-1] = int(c)
        return


# ---------------------------------------------------------------------------------------------- output
def _surfaces(tokens: list[list[str | None]], fold: dict[str, str], needed: set[str]) -> dict[str, list[str]]:
    """Written forms of each folded term in ``needed``, commonest first: ``wait`` -> ``waiting``,
    ``wait``, ``waited``. The first reads best; all of them are worth matching on."""
    inverse: dict[str, list[str]] = {}
    for raw, base in fold.items():
        inverse.setdefault(base, []).append(raw)
    words = sorted({p for term in needed for p in term.split(" ")})  # sorted: same output in every process
    forms = {r: b for b in words for r in [b, *inverse.get(b, [])]}  # raw form -> needed base word
    phrases = {t for t in needed if " " in t}
    seen: dict[str, Counter[str]] = {}
    for toks in tokens:
        prev = None
        for t in toks:
            if t is None or t not in forms:
                prev = None
                continue
            seen.setdefault(forms[t], Counter())[t] += 1
            if prev is not None and (key := f"{forms[prev]} {forms[t]}") in phrases:
                seen.setdefault(key, Counter())[f"{prev} {t}"] += 1
            prev = t
    out = {}
    for term in needed:
        ranked = seen[term].most_common(3) if term in seen else [(term, 1)]
        total = sum(seen[term].values()) if term in seen else 1
        # Phrases: one form (listing "skirt looks", "skirt looked" adds noise); words: their common forms.
        out[term] = [
            f for i, (f, c) in enumerate(ranked) if i == 0 or (" " not in term and c >= VARIANT_SHARE * total)
        ]
    return out


def _describe(
    b: _Build, tokens: list[list[str | None]], fold: dict[str, str], n_representatives: int
) -> None:
    """Names (unique: they are keys downstream), readable keywords, sizes and typical texts."""
    themes, labels, strength = b.themes, b.labels, b.strength
    surf = _surfaces(tokens, fold, {t for th in themes for t in [*th["terms"], th["name_term"]] if t})
    below: dict[int, list[int]] = {i: [i] for i in range(len(themes))}
    for i in range(len(themes)):
        j = themes[i]["parent"]
        while j is not None:  # every ancestor counts this theme's texts too
            below[j].append(i)
            j = themes[j]["parent"]
    used: set[str] = set()
    for i, th in enumerate(themes):
        members = np.flatnonzero(np.isin(labels, below[i]))
        th["size"] = len(members)
        th["keywords"] = list(dict.fromkeys(f for t in th["terms"] for f in surf[t]))
        if not th["name"]:
            options = [surf[t][0] for t in [th["name_term"], *th["terms"]] if t]
            name = next((o for o in options if _cap(o) not in used), " / ".join(options[:2]) or "other")
            th["name"] = _cap(name)
        while th["name"] in used:
            th["name"] += " (more)"
        used.add(th["name"])
        reps: list[int] = []
        wordings: set[str] = set()
        for d in members[np.argsort(-strength[members], kind="stable")]:  # strongest first, distinct wordings
            key = " ".join(w for w in tokens[d] if w)
            if key not in wordings:
                wordings.add(key)
                reps.append(int(d))
                if len(reps) == n_representatives:
                    break
        th["representatives"] = reps


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]
