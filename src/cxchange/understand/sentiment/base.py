"""What every sentiment back-end promises, and the label rule they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cxchange.core.errors import CxError

NEUTRAL_BAND = 0.05  # |score| below this is neutral (VADER's convention, so results compare)

LABELS = ("negative", "neutral", "positive")
UNSUPPORTED = "unsupported"  # a language the back-end does not cover: not silently neutral


REINSTALL = (
    "reinstall cxchange (pip install --force-reinstall cxchange) or, in a checkout, run train/sentiment.py"
)


class ModelError(CxError):
    """A shipped model or lexicon file is missing or unreadable: never a silent fallback to neutral."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One text's sentiment. `score` is None when the text cannot be scored (empty, other language)."""

    score: float | None
    label: str  # negative | neutral | positive | unsupported | empty
    language: str = "en"


def label_for(score: float, band: float = NEUTRAL_BAND) -> str:
    if score >= band:
        return "positive"
    if score <= -band:
        return "negative"
    return "neutral"


@runtime_checkable
class SentimentBackend(Protocol):
    """A sentiment model: texts in, one Sentiment per text out, in input order."""

    name: str

    def score(self, texts: Sequence[str]) -> list[Sentiment]: ...
