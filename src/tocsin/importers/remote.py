"""Reading a source's REST API for an import: one guarded GET with errors a person can act on.

The URL is the user's choice, so requests go through the egress guard (tocsin.net, the user policy:
internal addresses are refused unless TOCSIN_OUTBOUND_ALLOW opens them). A refusal, an unreachable
host or an error answer becomes a ProviderError naming the source, the path and the HTTP status,
never the remote's body (a remote's answer is not echoed).

A source is not trusted to be finite: each answer is read up to MAX_BYTES (decoded) and for at
most MAX_SECONDS, so an endless or drip-fed body ends the import with an error instead of
filling memory or hanging it.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx

from tocsin.errors import ProviderError
from tocsin.net import http as net_http
from tocsin.net.guard import Blocked
from tocsin.net.policy import user_policy

MAX_BYTES = 32 << 20  # per answer; the largest real page (100 users, a 35-day timeline) is far below
MAX_SECONDS = 120.0  # per answer, reading included (httpx's timeout bounds each read, not the whole)


class Oversized(Exception):  # noqa: N818 - the callers turn it into their source's error
    """The answer's body is larger than MAX_BYTES."""


class Overdue(Exception):  # noqa: N818 - as Oversized
    """The answer's body took longer than MAX_SECONDS to arrive."""


def bounded_get(client: httpx.Client, url: str, *, headers: dict[str, str],
                params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> tuple[int, bytes]:
    """GET `url`; return the status and, for a 2xx answer, the body (else b""). Raise Oversized or
    Overdue past the limits above, or httpx's (and the egress guard's) errors."""
    started = time.monotonic()
    with client.stream("GET", url, headers=headers, params=params) as response:
        if not 200 <= response.status_code < 300:
            return response.status_code, b""  # never read: it is not shown, and may be endless
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded: a small gzip bomb counts as what it becomes
            size += len(chunk)
            if size > MAX_BYTES:
                raise Oversized
            if time.monotonic() - started > MAX_SECONDS:
                raise Overdue
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def seg(value: Any) -> str:
    """A source's id as one path segment: "../x", "a?b" or "a/b" from a hostile source stay inside it."""
    return quote(str(value), safe="")


def open_client(settings: Any, *, timeout: float = 20.0) -> httpx.Client:
    """A guarded HTTP client for a user-chosen source URL (TOCSIN_OUTBOUND_ALLOW opens internal ranges)."""
    return net_http.make_client(user_policy(settings), timeout=timeout)


def check_base_url(url: str, source: str) -> str:
    """`url` without a trailing slash; raise ProviderError unless it is an http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ProviderError(f"{source}: --url is not a URL", retryable=False) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ProviderError(f"{source}: --url must be an http(s) URL with a host", retryable=False)
    return url.rstrip("/")


def get_json(client: httpx.Client, url: str, *, source: str, path: str, headers: dict[str, str],
             params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
    """GET `url` and return its JSON; raise ProviderError (source, path and status only) otherwise."""
    try:
        status, body = bounded_get(client, url, headers=headers, params=params)
    except Oversized as exc:
        raise ProviderError(f"{source} answered {path} with more than {MAX_BYTES >> 20} MiB", retryable=False) from exc
    except Overdue as exc:
        raise ProviderError(f"{source}: {path} took longer than {MAX_SECONDS:.0f} s to arrive", retryable=True) from exc
    except Blocked as exc:
        raise ProviderError(f"{source}: the egress policy refuses {httpx.URL(url).host} ({exc.rule}); "
                            "set TOCSIN_OUTBOUND_ALLOW to the source's address range to allow it",
                            retryable=False) from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{source}: {path} timed out", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"{source}: cannot reach {httpx.URL(url).host} ({type(exc).__name__})",
                            retryable=True) from exc
    if status in (401, 403):
        raise ProviderError(f"{source} refused the token (HTTP {status} for {path}): check --token and its "
                            "permissions", retryable=False)
    if status == 429:
        raise ProviderError(f"{source} rate-limited the import (HTTP 429 for {path}): wait a minute and re-run "
                            "(re-running updates, never duplicates)", retryable=True)
    if not 200 <= status < 300:
        raise ProviderError(f"{source} answered HTTP {status} for {path}", retryable=status >= 500)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProviderError(f"{source} answered {path} with something that is not JSON", retryable=False) from exc
