"""Streaming ingest endpoints: POST /api/feedback (items), POST /api/ingest/SOURCE (a webhook payload
through the source's stored mapping), PUT/GET /api/ingest/SOURCE/mapping."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cxchange.core.api_models import Detail
from cxchange.core.deps import engine
from cxchange.core.errors import InputError
from cxchange.listen.api_models import IngestOut, MappingOut
from cxchange.listen.ingest import TooManyItems, ingest_items, ingest_payload, set_mapping
from cxchange.listen.ingest import get_mapping as stored

router = APIRouter(tags=["listen"])


async def _json(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the body is not JSON: {exc}") from None


def _answer(out: dict[str, Any]) -> dict[str, Any]:
    return {k: out[k] for k in ("imported", "duplicates", "rejected", "batch_id")}


# Answers built as JSONResponse (413, 422) bypass the model; the 2xx answer is IngestOut.
_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": Detail, "description": "More items than a request may carry."},
    422: {"model": Detail, "description": "The body or an item is not valid."},
}


@router.post("/feedback", response_model=IngestOut, responses=_ERRORS)
async def post_feedback(request: Request) -> Any:
    """`{"source": NAME, "items": [...]}` (at most 5,000 items): validated, redacted and de-duplicated
    on (source, external_id) like a file import.
    Answers `{"imported", "duplicates", "rejected": [{"index", "reason"}]}`."""
    doc = await _json(request)
    if not isinstance(doc, dict):
        raise InputError('the body must be a JSON object {"source": NAME, "items": [...]}')
    extra = sorted(set(doc) - {"source", "items", "kind"})
    if extra:
        raise InputError(f"unknown key(s) {', '.join(extra)}; the body has source and items")
    try:
        out = await run_in_threadpool(ingest_items, engine(), doc.get("source"), doc.get("items"),
                                      kind=doc.get("kind"))  # fmt: skip
    except TooManyItems as exc:
        return JSONResponse({"detail": str(exc)}, status_code=413)
    except InputError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return _answer(out)


@router.post("/ingest/{source}", response_model=IngestOut, responses=_ERRORS)
async def post_ingest(source: str, request: Request) -> Any:
    """A webhook payload, turned into items by the source's stored mapping, then as POST /api/feedback."""
    doc = await _json(request)
    try:
        out = await run_in_threadpool(ingest_payload, engine(), source, doc)
    except TooManyItems as exc:
        return JSONResponse({"detail": str(exc)}, status_code=413)
    return _answer(out)


@router.put("/ingest/{source}/mapping", response_model=MappingOut)
async def put_mapping(source: str, request: Request) -> dict[str, Any]:
    """Store `{"items": "/list" (optional), "fields": {"text": "/comment/body", ...}}` on the source."""
    return await run_in_threadpool(set_mapping, engine(), source, await _json(request))


@router.get("/ingest/{source}/mapping", response_model=MappingOut)
def get_mapping(source: str) -> dict[str, Any]:
    return {"source": source, "mapping": stored(engine(), source)}
