"""Server-rendered pages on the API's FastAPI app: static files, vendored Plotly, and every page router."""

from __future__ import annotations

from importlib import import_module, resources

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from cxchange.web.pages import PAGE_MODULES, PUBLIC_MODULES


def _plotly_js() -> str:
    """Plotly.js as shipped inside the installed `plotly` package: never fetched from a CDN."""
    return str(resources.files("plotly") / "package_data" / "plotly.min.js")


def mount_public(app: FastAPI) -> None:
    """The respondent's pages, mounted first: their paths (/s/...) are no other route's."""
    for name in PUBLIC_MODULES:
        app.include_router(import_module(f"cxchange.web.pages.{name}").router)


def mount_web(app: FastAPI) -> None:
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("cxchange.web") / "static")), name="static"
    )

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            _plotly_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    for name in PAGE_MODULES:
        app.include_router(import_module(f"cxchange.web.pages.{name}").router)
