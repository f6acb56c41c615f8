"""The best back-end: a small linear classifier over word n-grams and the fast back-end's lexicon analysis.

The model is a logistic regression (negative / neutral / positive, one-vs-rest with the three
probabilities normalised) trained by
`train/sentiment.py` on eight public, labelled domains (hotels, restaurants, an app's store
reviews, Amazon products, smart-speaker and clothing reviews, tweets, Amazon sentences), every
domain weighing the same, shipped as data/best_model.npz (float16 weights over 2^18 hashed
features, about 1.5 MB). Inference is numpy only; the artefact is loaded on first use, never at
import; a missing or unreadable file is a ModelError naming it, never a silent "neutral".

Features (`featurize`, shared with the training script so both compute the same thing):
* hashed word unigrams and bigrams (crc32, so stable across processes), lower-cased, words after a
  negation marked "!word" up to the next punctuation, each row L2-normalised;
* dense lexicon features from `lexicon.py`: the compound score of the whole text and of its
  sentences (mean, min, max, first, last, and mean and min of the body between the first and the
  last sentence, so a complaint wrapped in a polite opening and closing reads as the complaint),
  positive/negative sums, emphasis, length. The lexicon carries general and customer-service
  knowledge ("never explained", "keeps logging me out") that star-rated reviews rarely teach;
* every feature also in a copy for its length class (short: tweets and one-line comments; long:
  reviews), so what long reviews teach does not blur what short texts mean;
* when the model says so (its "embed" entry; train/sentiment.py picks it on training domains only),
  the static MiniLM vector of the text and of its most negative sentence: the mean of the word
  pieces' rows in the table understand/themes ships (themes/data/static_minilm.npz, distilled from
  all-MiniLM-L6-v2). Meaning that no n-gram seen in training carries ("the app logs me out every
  hour") reaches the model through it. At run time the table is projected once on the model's
  weights (6 numbers a token), so it costs a tokenizer pass, not a 256-wide mean per text.
After editing the lexicon (data/cx_lexicon.yaml, or the rules of lexicon.py and scope.py), run
train/sentiment.py again: the model keeps working, but it was fitted to the lexicon's old judgements.

score = P(positive) - P(negative), in [-1, 1]. label: negative when score <= the model's lower
threshold, positive when >= its upper one, else neutral; one pair for texts of at most 30 words
(where neutral means "no feeling": a question, a request) and one for longer ones (where it means a
mixed review), stored with the model and chosen on scores of domains the scoring model had not been
trained on.
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cxchange.understand.sentiment.base import REINSTALL, ModelError, Sentiment
from cxchange.understand.sentiment.lexicon import NEGATE, engine, score_prepared

if TYPE_CHECKING:
    from cxchange.understand.themes.embedders import StaticEmbedder

MODEL_PATH = Path(__file__).parent / "data" / "best_model.npz"
HASH_BITS = 18
_LEXICAL = (
    "compound", "total", "positive", "negative", "hit_rate", "length", "emphasis", "sent_mean",
    "sent_min", "sent_max", "sent_first", "sent_last", "sent_neg_share", "sent_pos_share",
    "sentences", "question", "no_hits", "body_mean", "body_min",
)  # fmt: skip
# Every lexical feature twice, weighted by the "short" gate g and by 1 - g (see _hashes' salt).
DENSE = ("short", *_LEXICAL, *(f"short_{name}" for name in _LEXICAL))
SHORT_TOKENS = 30.0  # the "short" gate: 1 for a tweet-length text, falling towards 0 for a long review
_MIX, _SHORT_SALT, _LONG_SALT = 0x9E3779B1, 0x5BD1E995, 0x2545F491  # odd constants: a cheap second hash

_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[!?]")
_CLAUSE_END = re.compile(r"[.,;:!?()\"]|\bbut\b|\bhowever\b")
_SENTENCES = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def _negated(word: str) -> bool:
    return word in NEGATE or word.endswith("n't")


def _hashes(text: str, mask: int) -> set[int]:
    """Bucket ids of the text's unigrams and bigrams; negation scope marked with "!"."""
    out: set[int] = set()
    crc = zlib.crc32
    for clause in _CLAUSE_END.split(text.lower()):
        prev = "<s>"
        negating = False
        for tok in _TOKEN.findall(clause):
            word = "!" + tok if negating else tok
            if _negated(tok):
                negating = True
            out.add(crc(word.encode()) & mask)
            out.add(crc(f"{prev} {word}".encode()) & mask)
            prev = word
    return out


def _sentences(text: str) -> tuple[list[str], list[float]]:
    """The sentences of a text and the lexicon's compound score of each; ([], []) for one sentence."""
    eng = engine()
    parts = [s.strip() for s in _SENTENCES.findall(text)]
    parts = [s for s in parts if s]
    return (parts, [eng.compound(s) for s in parts]) if len(parts) > 1 else ([], [])


def _sentence_scores(text: str) -> list[float]:
    """The lexicon's compound score of each sentence, in order; [] for a one-sentence text."""
    return _sentences(text)[1]


def featurize(
    clean_texts: Sequence[str], bits: int = HASH_BITS, worst: list[str] | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Dense lexicon features (n x len(DENSE)) and the hashed n-grams as CSR (data, indices, indptr).

    When `worst` is a list, the text's most negative sentence by the lexicon (the whole text when it
    has one sentence) is appended to it for each text: the complaint a polite review wraps.
    """
    eng = engine()
    mask = (1 << bits) - 1
    dense = np.zeros((len(clean_texts), len(DENSE)), dtype=np.float64)
    k = len(_LEXICAL)
    indices: list[int] = []
    indptr = [0]
    data: list[float] = []
    for r, text in enumerate(clean_texts):
        whole = eng.analyse(text)
        parts, sent = _sentences(text)
        if worst is not None:
            worst.append(parts[int(np.argmin(sent))] if sent else text)
        sent = sent or [whole.compound]
        # A letter or long review: what lies between the polite opening and closing is the message.
        body = sent[1:-1] if len(sent) >= 3 else sent
        short = 1.0 / (1.0 + (whole.tokens / SHORT_TOKENS) ** 2)
        total = np.tanh(whole.total / 4.0)
        positive, negative = min(whole.positive, 20.0) / 5.0, max(whole.negative, -20.0) / 5.0
        lexical = (
            whole.compound,
            total,
            positive,
            negative,
            whole.hits / max(whole.tokens, 1),
            np.log1p(whole.tokens) / 5.0,
            whole.emphasis,
            sum(sent) / len(sent),
            min(sent),
            max(sent),
            sent[0],
            sent[-1],
            sum(1 for s in sent if s <= -0.05) / len(sent),
            sum(1 for s in sent if s >= 0.05) / len(sent),
            np.log(len(sent)),
            1.0 if "?" in text else 0.0,
            1.0 if whole.hits == 0 else 0.0,
            sum(body) / len(body),
            min(body),
        )
        dense[r, 0] = short
        dense[r, 1 : 1 + k] = lexical
        dense[r, 1 + k :] = lexical
        dense[r, 1 : 1 + k] *= 1.0 - short
        dense[r, 1 + k :] *= short
        buckets = _hashes(text, mask)
        # Each n-gram twice: a shared weight and one for its length class (short: tweets, one-line
        # comments; long: reviews), so what reviews teach does not blur what short texts mean
        # (feature augmentation, Daume 2007, with length standing in for the unknown domain).
        salt = _SHORT_SALT if whole.tokens <= SHORT_TOKENS else _LONG_SALT
        buckets |= {((b * _MIX) ^ salt) & mask for b in buckets}
        indices.extend(buckets)
        data.extend([1.0 / np.sqrt(max(len(buckets), 1))] * len(buckets))
        indptr.append(len(indices))
    csr = (np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64))
    return dense, csr


# Optional dense meaning features: "" none; "text" the static MiniLM vector of the whole text (the
# mean of its word pieces' rows in the themes' distilled table: numpy and `tokenizers`, no torch);
# "text+worst" also that of its most negative sentence. They enter in a copy per length class like
# the lexical features (`gate`).
EMBED_MODES = ("", "text", "text+worst")


def _blocks(mode: str) -> int:
    return {"": 0, "text": 1, "text+worst": 2}[mode]


@functools.cache
def _embedder() -> StaticEmbedder:
    from cxchange.understand.themes.embedders import StaticEmbedder

    return StaticEmbedder()


def _embedder_or_error() -> StaticEmbedder:
    from cxchange.core.errors import InputError

    emb = _embedder()
    try:
        emb.load()
    except InputError as e:
        raise ModelError(f"{e}: the best back-end needs it; {REINSTALL}") from None
    return emb


def embed_raw(clean_texts: Sequence[str], worst: Sequence[str], mode: str) -> np.ndarray:
    """Static MiniLM mean vectors (length about 1): of each text, then (mode "text+worst") of its
    most negative sentence; n x 0 for mode "". What the training script fits on."""
    if not mode:
        return np.zeros((len(clean_texts), 0))
    emb = _embedder_or_error()
    blocks = [emb.embed(clean_texts)]
    if mode == "text+worst":
        blocks.append(emb.embed(worst))
    return np.hstack(blocks).astype(np.float64)


def gate(raw: np.ndarray, short: np.ndarray) -> np.ndarray:
    """The embedding features in a copy for long texts (x 1 - short) and one for short ones (x short)."""
    g = short[:, None]
    return np.hstack([raw * (1.0 - g), raw * g])


class Model:
    """The trained weights; `predict` is the whole inference."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        self.path = path
        try:
            with np.load(path, allow_pickle=False) as z:
                self.hashed = z["hashed"].astype(np.float64)  # (3, 2^bits): negative, neutral, positive
                self.dense = z["dense"].astype(np.float64)  # (3, len(DENSE))
                self.intercept = z["intercept"].astype(np.float64)  # (3,)
                thresholds = z["thresholds"].astype(np.float64)  # rows: long texts, short texts
                self.bits = int(z["bits"])
                names = tuple(str(n) for n in z["dense_names"])
                self.embed = str(z["embed"]) if "embed" in z.files else ""
                self.embedded = (
                    z["embedded"].astype(np.float64) if "embedded" in z.files else np.zeros((3, 0))
                )  # (3, gated embedding columns)
        except FileNotFoundError:
            raise ModelError(f"{path}: the best back-end's model file is missing; {REINSTALL}") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            why = f"the best back-end's model file is unreadable ({e})"
            raise ModelError(f"{path}: {why}; {REINSTALL}") from None
        shapes = (self.hashed.shape, self.dense.shape, thresholds.shape)
        if (
            names != DENSE
            or shapes != ((3, 1 << self.bits), (3, len(DENSE)), (2, 2))
            or self.embed not in EMBED_MODES
            or self.embedded.shape[0] != 3
        ):
            raise ModelError(f"{path}: model was trained with other features; run train/sentiment.py")
        if self.embedded.shape[1] % 2 or (self.embedded.shape[1] == 0) != (self.embed == ""):
            raise ModelError(f"{path}: model was trained with other features; run train/sentiment.py")
        self._projections: list[StaticEmbedder] | None = None
        # (lower, upper) for long and for short texts: score <= lower negative, >= upper positive.
        self.thresholds = [(float(lo), float(up)) for lo, up in thresholds]

    def predict(self, clean_texts: Sequence[str]) -> list[tuple[float, str]]:
        """(score, label) per (cleaned, English) text; score = P(positive) - P(negative) in [-1, 1]."""
        worst: list[str] = []
        dense, (data, indices, indptr) = featurize(clean_texts, self.bits, worst)
        # gate(embed_raw(...)) @ embedded.T, computed as means of projected token rows (`projections`).
        embedded = np.zeros((len(clean_texts), 3))
        g = dense[:, 0:1]
        for texts, projection in zip((clean_texts, worst), self.projections(), strict=False):
            m = projection.embed(texts).astype(np.float64)  # (n, 6): long-copy logits, short-copy logits
            embedded += m[:, :3] * (1.0 - g) + m[:, 3:] * g
        # Row-wise sums, not a matrix product: BLAS may sum in another order for another batch size,
        # and a text must get the same score alone or in any batch.
        logits = np.empty((len(clean_texts), 3))
        rows = np.repeat(np.arange(len(clean_texts)), np.diff(indptr))
        for k in range(3):
            logits[:, k] = (dense * self.dense[k]).sum(axis=1) + self.intercept[k]
            logits[:, k] += embedded[:, k]
            if len(indices):
                logits[:, k] += np.bincount(
                    rows, weights=self.hashed[k][indices] * data, minlength=len(clean_texts)
                )
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))  # one-vs-rest: normalised sigmoids
        p /= p.sum(axis=1, keepdims=True)
        scores = np.clip(p[:, 2] - p[:, 0], -1.0, 1.0).tolist()
        short = (dense[:, 0] >= 0.5).tolist()  # the "short" gate: at most SHORT_TOKENS words
        return [(score, self.label(score, s)) for score, s in zip(scores, short, strict=True)]

    def projections(self) -> list[StaticEmbedder]:
        """Per embedded block (the text, its worst sentence): the static table projected on that block's
        weights, long-text copy then short-text copy (dims x 6). Built on first use, then kept."""
        if self._projections is None:
            blocks = _blocks(self.embed)
            out = []
            if blocks:
                emb = _embedder_or_error()
                assert emb._table is not None
                dims = emb._table.shape[1]
                if self.embedded.shape[1] != 2 * blocks * dims:
                    why = f"model was trained with another embedding table than {emb.vectors_path}"
                    raise ModelError(f"{self.path}: {why}; {REINSTALL}")
                half = blocks * dims
                for b in range(blocks):
                    cols = slice(b * dims, (b + 1) * dims)
                    w = np.hstack([self.embedded[:, cols].T, self.embedded[:, half:][:, cols].T])
                    out.append(emb.projected(w))
            self._projections = out
        return self._projections

    def label(self, score: float, short: bool) -> str:
        lower, upper = self.thresholds[1 if short else 0]
        return "positive" if score >= upper else "negative" if score <= lower else "neutral"


@functools.cache
def model() -> Model:
    return Model()


class LearnedSentiment:
    """The best back-end: more accurate than the lexicon on reviews, a little slower."""

    name = "best"

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    def _model(self) -> Model:
        return model() if self._path is None else _model_at(self._path)

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        return score_prepared(texts, lambda clean: self._model().predict(clean))


@functools.cache
def _model_at(path: Path) -> Model:
    return Model(path)


__all__ = [
    "DENSE",
    "EMBED_MODES",
    "REINSTALL",
    "LearnedSentiment",
    "Model",
    "ModelError",
    "embed_raw",
    "featurize",
    "gate",
]
