"""Listen endpoints: imports (multipart upload), batches, rejected rows, feedback, org tree."""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from cxchange.auth.web import CallerScope
from cxchange.core.deps import DbId, engine
from cxchange.core.errors import CxError
from cxchange.core.types import MAX_SQL_INT
from cxchange.listen.api_models import BatchOut, FeedbackOut, OrgNode, RejectOut
from cxchange.listen.browse import list_batches, list_rejects
from cxchange.listen.models import WARNING
from cxchange.listen.service import DryRunReport, ImportOptions, ImportResult, import_file
from cxchange.listen.service import dry_run as run_dry
from cxchange.org.tree import org_as_nested
from cxchange.understand.explore import PAGE_SIZE, list_feedback

router = APIRouter(tags=["listen"])
_SUFFIX = re.compile(r"(\.[A-Za-z0-9]{1,8}){1,2}$")


def _safe_suffix(filename: str | None) -> str:
    """Keep only the extension(s) of an uploaded name (".csv", ".csv.gz"): never a path from the client."""
    match = _SUFFIX.search(Path(filename or "").name)
    return match.group(0).lower() if match else ".csv"


@router.post("/imports")
async def create_import(
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form()],
    kind: Annotated[str | None, Form()] = None,
    map: Annotated[list[str] | None, Form()] = None,
    rating_scale: Annotated[int | None, Form()] = None,
    date_format: Annotated[str | None, Form()] = None,
    allow_mixed_scales: Annotated[bool, Form()] = False,
    redact: Annotated[bool, Form()] = True,
    dry_run: Annotated[bool, Form()] = False,
) -> ImportResult | DryRunReport:
    """Upload an export; returns the batch JSON (or the dry-run report)."""
    options = ImportOptions.of(source, kind, map, rating_scale, date_format, allow_mixed_scales, redact)
    with tempfile.TemporaryDirectory(prefix="cxchange-upload-") as tmp:
        path = Path(tmp) / ("upload" + _safe_suffix(file.filename))
        with path.open("wb") as out:
            while block := await file.read(1 << 20):
                out.write(block)
        try:
            if dry_run:
                return await run_in_threadpool(run_dry, engine(), path, options)
            result = await run_in_threadpool(import_file, engine(), path, options)
        except CxError as exc:
            # Errors name the file: the user's name for it, never the server's temporary path.
            shown = "".join(c for c in Path(file.filename or "upload").name if c.isprintable())[:120]
            exc.args = (str(exc).replace(str(path), shown or "upload").replace(tmp, "upload"),)
            raise
    return result


@router.get("/batches", response_model=list[BatchOut])
def batches(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict[str, Any]]:
    return list_batches(engine(), limit=limit)


@router.get("/batches/{batch_id}/rejects", response_model=list[RejectOut])
def rejects(batch_id: DbId) -> list[dict[str, Any]]:
    return list_rejects(engine(), batch_id)


@router.get("/batches/{batch_id}/warnings", response_model=list[RejectOut])
def warnings(batch_id: DbId) -> list[dict[str, Any]]:
    """Rows stored with a note (e.g. a bad score left empty, the comment kept)."""
    return list_rejects(engine(), batch_id, kind=WARNING)


@dataclass
class FeedbackQuery:
    """The filters and page of /feedback: `list_feedback`'s keywords, read from the query string."""

    source: str | None = None
    where: Annotated[list[str] | None, Query()] = None
    since: date | None = None
    until: date | None = None
    theme: str | None = None
    sentiment: str | None = None
    q: str | None = None
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0


@router.get("/feedback", response_model=list[FeedbackOut])
def feedback(scope: CallerScope, query: Annotated[FeedbackQuery, Depends()]) -> list[dict[str, Any]]:
    """Stored feedback, newest first (paginated); `q` is a search on the comment text."""
    return list_feedback(engine(), **{**asdict(query), "where": scope.where(engine(), query.where)})


@router.get("/org", response_model=list[OrgNode])
def org(scope: CallerScope) -> list[dict[str, Any]]:
    nested = org_as_nested(engine())
    if not scope.scoped:
        return nested
    # A scoped user sees the subtrees of their own units.
    mine, stack = [], list(nested)
    while stack:
        node = stack.pop(0)
        if node["code"] in (scope.unit_codes or ()):
            mine.append(node)
        else:
            stack.extend(node.get("children", []))
    return mine
