"""Reading a source's REST API for an import: one guarded GET with errors a person can act on.

The URL is the user's choice, so requests go through the egress guard (tocsin.net, the user policy:
internal addresses are refused unless TOCSIN_OUTBOUND_ALLOW opens them). A refusal, an unreachable
host or an error answer becomes a ProviderError naming the source, the path and the HTTP status,
never the remote's body (a remote's answer is not echoed).
"""

from __future__ import annotations

from typing import Any

import httpx

from tocsin.errors import ProviderError
from tocsin.net import http as net_http
from tocsin.net.guard import Blocked
from tocsin.net.policy import user_policy


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
        response = client.get(url, headers=headers, params=params)
    except Blocked as exc:
        raise ProviderError(f"{source}: the egress policy refuses {httpx.URL(url).host} ({exc.rule}); "
                            "set TOCSIN_OUTBOUND_ALLOW to the source's address range to allow it",
                            retryable=False) from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{source}: {path} timed out", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"{source}: cannot reach {httpx.URL(url).host} ({type(exc).__name__})",
                            retryable=True) from exc
    status = response.status_code
    if status in (401, 403):
        raise ProviderError(f"{source} refused the token (HTTP {status} for {path}): check --token and its "
                            "permissions", retryable=False)
    if status == 429:
        raise ProviderError(f"{source} rate-limited the import (HTTP 429 for {path}): wait a minute and re-run "
                            "(re-running updates, never duplicates)", retryable=True)
    if not 200 <= status < 300:
        raise ProviderError(f"{source} answered HTTP {status} for {path}", retryable=status >= 500)
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(f"{source} answered {path} with something that is not JSON", retryable=False) from exc
