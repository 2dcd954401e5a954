"""One exception tree for the whole application.

Services raise these; `api/errors.py` is the only place that maps them to HTTP.

    TocsinError
     ├── NotFound          the thing does not exist, or the caller may not know it does
     ├── Conflict          the request is valid but clashes with current state
     │    └── IllegalTransition
     ├── InvalidInput      the request itself is wrong
     ├── Unauthenticated   no or bad credentials
     ├── Forbidden         known caller, not allowed
     ├── SchemaMismatch    the database is not at the schema this code expects
     └── ProviderError     an outbound call failed (retryable or not)
"""

from __future__ import annotations

from typing import Any


class TocsinError(Exception):
    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(TocsinError):
    code = "not_found"


class Conflict(TocsinError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class InvalidInput(TocsinError):
    code = "invalid_input"


class Unauthenticated(TocsinError):
    code = "unauthenticated"


class Forbidden(TocsinError):
    code = "forbidden"


class SchemaMismatch(TocsinError):
    code = "schema_mismatch"


class ProviderError(TocsinError):
    code = "provider_error"

    def __init__(self, message: str, *, retryable: bool, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable
