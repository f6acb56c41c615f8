"""FastAPI app factory: mounts each stage's router; OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cxchange.core.errors import CxError, NotFoundError


def create_app(database_url: str | None = None) -> FastAPI:
    from cxchange.change.api import router as change_router
    from cxchange.core.deps import set_database_url
    from cxchange.decide.api import router as decide_router
    from cxchange.listen.api import router as listen_router
    from cxchange.measure.api import router as measure_router
    from cxchange.sustain.api_loop import router as loop_router
    from cxchange.sustain.api_outcomes import router as outcomes_router
    from cxchange.understand.api import router as understand_router
    from cxchange.web.routes import mount_web

    set_database_url(database_url)
    app = FastAPI(title="cxchange", version="0.1.0", description="Customer feedback to lasting change.")

    @app.exception_handler(CxError)
    async def _cx_error(_request: Request, exc: CxError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, str | None]:
        from cxchange.core.deps import engine
        from cxchange.core.migrate import current_revision

        eng = engine()
        return {"status": "ok", "database": eng.dialect.name, "revision": current_revision(eng)}

    app.include_router(listen_router, prefix="/api")
    app.include_router(measure_router, prefix="/api")
    app.include_router(understand_router, prefix="/api")
    app.include_router(decide_router, prefix="/api")
    app.include_router(change_router, prefix="/api")
    app.include_router(outcomes_router, prefix="/api")
    app.include_router(loop_router, prefix="/api")
    mount_web(app)
    return app
