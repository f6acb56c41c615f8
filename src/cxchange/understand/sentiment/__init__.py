"""Sentiment per comment and per theme mention.

Back-ends are named, not imported: `get_backend("fast")` (VADER's rules plus customer-service
language, no model) or `get_backend("best")` (a small shipped linear model over n-grams and the
lexicon's features). Each is imported and built on first request, then cached; `name=None` takes
`CXCHANGE_SENTIMENT_BACKEND` (default "fast").
"""

from __future__ import annotations

import functools
import importlib

from cxchange.core.errors import CxError
from cxchange.understand.sentiment.base import (
    NEUTRAL_BAND,
    UNSUPPORTED,
    Sentiment,
    SentimentBackend,
    label_for,
)
from cxchange.understand.sentiment.clauses import score_mentions, score_mentions_batch, split_clauses

# name -> "module:Class"; a new back-end is one line here.
BACKENDS: dict[str, str] = {
    "fast": "cxchange.understand.sentiment.lexicon:LexiconSentiment",
    "best": "cxchange.understand.sentiment.learned:LearnedSentiment",
    # Optional (the embeddings extra): better on unseen domains, far slower; see embedded.py.
    "minilm": "cxchange.understand.sentiment.embedded:EmbeddedSentiment",
}


def get_backend(name: str | None = None) -> SentimentBackend:
    """The back-end called `name` (default: the sentiment_backend setting); CxError if unknown."""
    if name is None:
        from cxchange.core.config import Settings

        name = Settings().sentiment_backend
    return _build(name.strip().lower())


@functools.cache
def _build(name: str) -> SentimentBackend:
    target = BACKENDS.get(name)
    if target is None:
        raise CxError(f"unknown sentiment back-end {name!r}; choose one of: {', '.join(BACKENDS)}")
    module, _, cls = target.partition(":")
    backend: SentimentBackend = getattr(importlib.import_module(module), cls)()
    return backend


__all__ = [
    "BACKENDS",
    "NEUTRAL_BAND",
    "UNSUPPORTED",
    "Sentiment",
    "SentimentBackend",
    "get_backend",
    "label_for",
    "score_mentions",
    "score_mentions_batch",
    "split_clauses",
]
