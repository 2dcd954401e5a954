"""The agent's side of the two agent routes: fetch assignments, post results.

The server URL is the operator's choice (like the SMTP server), so it is not judged by the egress
guard; it must be https, except on loopback (a server on the same machine, or tests), so the key
and the results never cross a network in clear text.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import httpx

from tocsin import __version__

USER_AGENT = f"tocsin-agent/{__version__}"


class ServerError(Exception):
    """The server could not be reached or answered 5xx/429: worth retrying later."""


class Refused(Exception):
    """The server refused the request (4xx): retrying the same request will not help."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.details = status, message, details or {}


def _loopback(host: str) -> bool:
    # "localhost" itself (in /etc/hosts), not "*.localhost": without a resolver that maps those to
    # loopback (nss-myhostname) they go to DNS, and the key would cross the network in clear text.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """The server's base URL without a trailing slash; ValueError unless https (or http on loopback)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"bad server URL {url!r}: {exc}") from None
    if parsed.scheme == "https" or (parsed.scheme == "http" and _loopback(parsed.host)):
        if not parsed.host:
            raise ValueError(f"the server URL needs a host: {url!r}")
        return url.rstrip("/")
    raise ValueError("the server URL must be https:// (http:// only to a server on this machine's loopback)")


@dataclass(frozen=True)
class Assignment:
    """One check the server assigned to this agent's location."""

    id: str
    name: str
    interval_seconds: int
    spec: dict[str, Any]  # CheckSpec's fields


def _refusal(resp: httpx.Response) -> Refused:
    try:
        body = resp.json()
        error = body.get("error", body) if isinstance(body, dict) else {}
        return Refused(resp.status_code, str(error.get("message", "refused"))[:300], error.get("details"))
    except ValueError:
        return Refused(resp.status_code, "refused")


class Server:
    """The tocsin server, reached with the agent's key."""

    def __init__(self, url: str, key: str, *, timeout: float = 15.0, transport: httpx.BaseTransport | None = None
                 ) -> None:
        self.url = check_server_url(url)
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False, transport=transport,
                                  headers={"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT})

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"{method} {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ServerError(f"{method} {path}: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise _refusal(resp)
        try:
            return resp.json()
        except ValueError:  # not tocsin answering (a captive portal, a proxy's page): try again later
            raise ServerError(f"{method} {path}: the answer is not JSON") from None

    def checks(self, poll_interval: int) -> tuple[str, list[Assignment]]:
        """(this agent's location, its checks)."""
        body = self._call("GET", "/api/v1/agent/checks", params={"interval": poll_interval})
        out = []
        try:
            for c in body["checks"]:
                spec = {k: c[k] for k in ("kind", "target", "method", "headers", "timeout_seconds",
                                          "expected_statuses", "keyword", "keyword_absent", "latency_threshold_ms",
                                          "tls_expiry_warn_days")}
                out.append(Assignment(id=str(c["id"]), name=str(c["name"]),
                                      interval_seconds=int(c["interval_seconds"]), spec=spec))
            return str(body["location"]), out
        except (KeyError, TypeError, ValueError):
            raise ServerError("GET /api/v1/agent/checks: an answer of an unexpected shape") from None

    def report(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(self._call("POST", "/api/v1/agent/results", json={"results": results}))
