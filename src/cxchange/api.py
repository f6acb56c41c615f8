"""FastAPI app factory: mounts each stage's router under /api (signed-in only) and the web pages."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cxchange.auth.web import api_guard
from cxchange.change.api import router as change_router
from cxchange.core.api_models import GUARDED_ERRORS, Health
from cxchange.core.deps import engine, set_database_url
from cxchange.core.errors import BusyError, CxError
from cxchange.core.migrate import current_revision
from cxchange.decide.api import router as decide_router
from cxchange.listen.api import router as listen_router
from cxchange.listen.api_ingest import router as ingest_router
from cxchange.listen.surveys.api import router as surveys_router
from cxchange.measure.api import router as measure_router
from cxchange.sustain.api_loop import router as loop_router
from cxchange.sustain.api_outcomes import router as outcomes_router
from cxchange.understand.api import router as understand_router
from cxchange.web.audit import AuditMiddleware
from cxchange.web.common import render_error
from cxchange.web.guards import BodyLimitMiddleware, SecurityHeadersMiddleware
from cxchange.web.routes import mount_public, mount_web


def create_app(database_url: str | None = None) -> FastAPI:
    set_database_url(database_url)
    # FastAPI's own /docs loads Swagger UI from a CDN: blank on an offline machine. FastAPIOffline serves the
    # same pages with the assets shipped in its package.
    app = FastAPIOffline(
        title="cxchange",
        version="0.1.0",
        description="Customer feedback to lasting change. Every /api route but /api/health needs "
        "`Authorization: Bearer TOKEN` (`cxchange token create EMAIL`) or a signed-in session.",
    )

    @app.exception_handler(CxError)
    async def _cx_error(request: Request, exc: CxError) -> Response:
        status = exc.status  # each error class carries its status (core/errors.py)
        if request.url.path.startswith("/api") or request.url.path.startswith("/docs"):
            return JSONResponse({"detail": str(exc)}, status_code=status, headers=exc.headers())
        if status == 401:
            from urllib.parse import quote

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

        response = render_error(request, status, str(exc))
        response.headers.update({k: v for k, v in exc.headers().items() if k == "Retry-After"})
        return response

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> Response:
        # Every database connection stayed taken for db_pool_timeout seconds: answer 503 with Retry-After
        # (API and pages alike) instead of queueing the request without end.
        busy = BusyError("every database connection is in use: try again in a few seconds")
        if request.url.path.startswith("/api"):
            return await _cx_error(request, busy)
        page = render_error(request, busy.status, str(busy), look_up_user=False)  # no connection to ask
        page.headers.update(busy.headers())
        return page

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default echoes each bad input back: a 5,000-item list came back whole in the 422.
        errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.get("/api/health", tags=["meta"], response_model=Health)
    def health() -> dict[str, str | None]:
        eng = engine()
        return {"status": "ok", "database": eng.dialect.name, "revision": current_revision(eng)}

    mount_public(app)
    guarded: dict[str, Any] = {
        "prefix": "/api", "dependencies": [Depends(api_guard)], "responses": GUARDED_ERRORS,
    }  # fmt: skip
    for router in (
        listen_router,
        ingest_router,
        surveys_router,
        measure_router,
        understand_router,
        decide_router,
        change_router,
        outcomes_router,
        loop_router,
    ):
        app.include_router(router, **guarded)
    mount_web(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware)  # added last: outermost, so it sees the body first
    return app
