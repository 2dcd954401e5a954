"""The API documentation at /docs, served entirely from the installed packages: no CDN.

FastAPI's own /docs page loads Swagger UI from a CDN and starts it with an inline script, so it is
blank without internet and would break the console's CSP. Here the Swagger UI assets come from the
`fastapi-offline` package's static folder (Swagger UI 5, which reads OpenAPI 3.1), and the page
starts it with a static script of ours; the page carries the console's security headers.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from tocsin.web.render import render

ASSETS_URL = "/static/api-docs"
router = APIRouter(include_in_schema=False)


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, None, "api_docs.html", assets=ASSETS_URL, openapi_url=request.app.openapi_url or "")


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="api-docs-assets")
