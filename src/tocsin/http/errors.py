"""Errors as HTTP: the status for each domain error, and the one JSON error shape
`{"error": {"code", "message", "details"}}` (the API answers with it; the console's fetch
requests too, and its pages show the same status)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from tocsin import errors

STATUS = {
    errors.NotFound: 404,
    errors.IllegalTransition: 409,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.TooManyAttempts: 429,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.SchemaMismatch: 503,
    errors.ProviderError: 502,
}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}},
                        status_code=status, headers=headers)


def headers_for(exc: errors.TocsinError) -> dict[str, str]:
    """The headers an error's answer carries: Retry-After for TooManyAttempts."""
    if isinstance(exc, errors.TooManyAttempts):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def status_for(exc: errors.TocsinError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400
