"""The one place that maps errors to HTTP: `{"error": {"code", "message", "details"}}`.

No request may produce a bare 500: anything unexpected is logged with a traceback and
answered with a JSON 500 that names no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tocsin import errors
from tocsin.http.errors import error_response, headers_for, status_for

log = logging.getLogger("tocsin.api")

class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    """The one error shape: `{"error": {"code", "message", "details"}}`."""

    error: ErrorBody


# Documents the error shape in the OpenAPI schema for every 4xx answer (it replaces FastAPI's
# default 422 `HTTPValidationError`, a `{"detail": [...]}` body this app never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`"},
}

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited"}


def _clean(err: dict[str, Any]) -> dict[str, Any]:
    # Drop the offending input (it may be huge or not JSON-serialisable) and ctx objects.
    return {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")), "type": err.get("type", "")}


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.TocsinError)
    async def _tocsin(_req: Request, exc: errors.TocsinError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.Unauthenticated) else headers_for(exc)
        return error_response(status_for(exc), exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_clean(e) for e in exc.errors()]
        if any(p["type"] == "json_invalid" for p in problems):
            return error_response(400, "malformed_json", "the request body is not valid JSON", {"errors": problems})
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return error_response(422, "invalid_input", f"{where}: {first['msg']}", {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 400 and "parsing the body" in message:
            code, message = "malformed_body", "the request body could not be read as JSON (is it UTF-8?)"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
