"""The executive report as a download (the same document as `cxchange report`), scoped to the user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from cxchange.auth.web import CallerScope, rate_limited
from cxchange.core.deps import engine
from cxchange.report.render import report_response

router = APIRouter(include_in_schema=False)


@router.get("/report", dependencies=[Depends(rate_limited("report"))])
async def report_download(
    scope: CallerScope,
    format: str = "pdf",
    period: str | None = None,
    unit: str | None = None,
) -> Any:
    content, media_type, name = await run_in_threadpool(
        report_response, engine(), period, unit or None, format, scope
    )
    disposition = "inline" if media_type.startswith("text/html") else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            # The HTML report is self-contained: forbid it from loading or running anything.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        },
    )
