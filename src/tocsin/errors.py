"""One exception tree for the whole application.

Services raise these; `api/errors.py` is the only place that maps them to HTTP.

    TocsinError
     ├── NotFound          the thing does not exist, or the caller may not know it does
     ├── Conflict          the request is valid but clashes with current state
     │    └── IllegalTransition
     ├── InvalidInput      the request itself is wrong
     │    └── WrongSecret  a wrong password or code (the try is counted, and the count commits)
     ├── TooManyAttempts   too many wrong passwords or codes: wait `retry_after` seconds
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


class WrongSecret(InvalidInput):
    """A wrong password or code. The unit of work that counted the try commits anyway
    (`commit_anyway`), so that the failure counts although the request is refused."""

    code = "invalid_input"
    commit_anyway = True


class TooManyAttempts(TocsinError):
    """Too many wrong passwords or codes lately: the next try is refused for `retry_after` seconds
    (HTTP 429 with Retry-After), before any password hash is computed."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={**(details or {}), "retry_after": retry_after})
        self.retry_after = retry_after


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
