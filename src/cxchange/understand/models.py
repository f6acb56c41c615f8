"""Tables of the understand stage: the theme taxonomy (versioned), analysis runs, and per-comment results.

A taxonomy edit bumps `taxonomy_version`; a theme remembers the version of its last matching-relevant
edit (`version`) and the version its assignments were last computed with (`matched_version`), so
`cxchange analyze` re-matches only the themes an edit touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId, JsonDoc

THEME_ORIGINS = ("curated", "discovered")


class TaxonomyVersion(Base):
    __tablename__ = "taxonomy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    action: Mapped[str] = mapped_column(String(32))  # add | rename | merge | split | delete | import | …
    detail: Mapped[str | None] = mapped_column(Text)


class Theme(Base):
    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id"), index=True)
    keywords: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    examples: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    origin: Mapped[str] = mapped_column(String(16), default="curated")
    # 1 (easy) .. 5 (hard): entered by the user, used by opportunity ranking.
    effort: Mapped[int | None] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    matched_version: Mapped[int | None] = mapped_column(Integer)


class ThemeMatcher(Base):
    """A discovered theme set's own matcher (understand/themes/relevance.py), saved with the taxonomy
    version that created it. Row ``i`` of the model scores theme ``theme_ids[i]`` (None: deleted);
    several rows may point to one theme after a merge (their relevances add up)."""

    __tablename__ = "theme_matcher"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxonomy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    kind: Mapped[str] = mapped_column(String(32), default="tfidf-logreg")
    format: Mapped[int] = mapped_column(Integer)
    scope: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # {"source": name or None}
    theme_ids: Mapped[list[int | None]] = mapped_column(JsonDoc, default=list)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of payload
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ThemeVector(Base):
    """A comment's sentence embedding as `themes discover --save` computed it (raw embedder output,
    float32), so that `analyze` assigns the discovered themes without embedding the comment again.
    ``text_key`` (themes.relevance.text_key) is the hash of the exact string that was embedded: a
    comment whose text or normalisation differs is embedded afresh."""

    __tablename__ = "theme_vector"

    feedback_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    embedder: Mapped[str] = mapped_column(String(32), primary_key=True)
    text_key: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class AnalysisRun(Base):
    __tablename__ = "analysis_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    backend: Mapped[str] = mapped_column(String(32))
    taxonomy_version: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    rematched: Mapped[int] = mapped_column(Integer, default=0)
    scope: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16), default="running")
    seconds: Mapped[float | None] = mapped_column(Float)


class FeedbackSentiment(Base):
    """One row per analysed comment: its presence is what makes `analyze` incremental."""

    __tablename__ = "feedback_sentiment"
    __table_args__ = (Index("ix_feedback_sentiment_label", "label"),)

    feedback_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id"), index=True)


class FeedbackTheme(Base):
    __tablename__ = "feedback_theme"
    __table_args__ = (Index("ix_feedback_theme_theme", "theme_id", "feedback_id"),)

    feedback_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True)
    # Sentiment of the clause that mentions the theme, not of the whole comment.
    sentiment: Mapped[float | None] = mapped_column(Float)
    matched: Mapped[str | None] = mapped_column(String(200))  # the keyword that matched, for explanation
    # How much the comment is about the theme, 0..1: a matcher's probability, or for keyword rules
    # 1 - 0.5^hits. A comment's themes read most relevant first; the first is its primary theme.
    relevance: Mapped[float | None] = mapped_column(Float)
    taxonomy_version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id"), index=True)
