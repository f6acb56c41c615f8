"""Response models of the listen routes (batches, rejects, feedback, org, streaming ingest)."""

from __future__ import annotations

from typing import Any

from cxchange.core.api_models import Out, Timestamp


class BatchOut(Out):
    batch_id: int
    source: str
    file: str
    format: str | None
    status: str
    read: int
    imported: int
    duplicates: int
    rejected: int
    warnings: int
    redacted: int
    started_at: Timestamp
    seconds: float | None
    timings: dict[str, float] | None


class RejectOut(Out):
    row: int
    column: str | None
    reason: str
    raw: str


class ThemeRelevance(Out):
    theme: str
    relevance: float


class FeedbackOut(Out):
    id: int
    received_at: Timestamp | None
    external_id: str | None
    channel: str | None
    nps: int | None
    csat: int | None
    ces: int | None
    rating: float | None
    text: str | None
    # User-defined columns kept from the file: genuinely open.
    attributes: dict[str, Any]
    source: str
    unit: str | None
    sentiment: float | None
    sentiment_label: str | None
    themes: list[str]
    primary_theme: str | None
    theme_relevance: list[ThemeRelevance]


class OrgNode(Out):
    code: str
    name: str
    level: str | None
    people: int
    children: list[OrgNode]


class IngestRejected(Out):
    index: int
    reason: str


class IngestOut(Out):
    imported: int
    duplicates: int
    rejected: list[IngestRejected]
    batch_id: int | None


class Mapping(Out):
    items: str | None
    # Item field (or attributes.NAME) -> JSON pointer into the payload.
    fields: dict[str, str]


class MappingOut(Out):
    source: str
    mapping: Mapping
