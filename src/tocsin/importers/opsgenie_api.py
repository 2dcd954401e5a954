"""Read an Opsgenie account through its REST API (`tocsin import opsgenie`).

Every request goes through tocsin's guarded HTTP client (tocsin.net): the base URL is the
user's choice, so the egress policy applies (TOCSIN_OUTBOUND_ALLOW opens a range on purpose).
Auth is `Authorization: GenieKey <key>`. List endpoints are paged by `offset`/`limit` (limit
100, Opsgenie's maximum; the `paging.next` link says whether more follow); the schedule and
escalation lists are not paged. A refusal or error says what failed and the HTTP status, never
what the remote answered: its body is not echoed.

`fetch_account(client, now)` returns the raw JSON objects the translation (opsgenie.py) reads:

    users        GET /v2/users (paged), each with GET /v2/users/{id}?expand=contact (userContacts)
    teams        GET /v2/teams, each with GET /v2/teams/{id} (members)
    schedules    GET /v2/schedules?expand=rotation
    overrides    GET /v2/schedules/{id}/overrides, per schedule
    timelines    GET /v2/schedules/{id}/timeline?expand=base,forwarding,override&interval=..&intervalUnit=days
    escalations  GET /v2/escalations
    services     GET /v1/services (paged)
    integrations GET /v2/integrations
    maintenance  GET /v1/maintenance?type=non-expired, each with GET /v1/maintenance/{id} (rules)
    heartbeats   GET /v2/heartbeats
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from tocsin.errors import TocsinError
from tocsin.importers import remote
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import make_client

BASE_URLS = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}
PAGE = 100
MAX_PAGES = 500  # 50,000 objects of one kind: a loop guard, not a product limit
TIMELINE_DAYS = 35  # the comparison samples the next 30 days; a margin either side


class SourceError(TocsinError):
    """The source could not be read; the message says what to do, never what the remote said."""

    code = "import_source"


def base_url(url: str | None) -> str:
    """The API base: `us` / `eu` / None (US) or an http(s) URL (a proxy, a stand-in)."""
    if url is None or url.lower() in BASE_URLS:
        return BASE_URLS[(url or "us").lower()]
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise SourceError("--url must be us, eu or an http(s) URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SourceError("--url must be us, eu or an http(s) URL")
    return url.rstrip("/")


class OpsgenieClient:
    """GET requests to one Opsgenie API with one key, through the egress guard."""

    def __init__(self, token: str, url: str | None, policy: EgressPolicy, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 20.0) -> None:
        if not token.strip():
            raise SourceError("--token is empty: pass an Opsgenie API key (Settings → API key management)")
        self.base = base_url(url)
        self._token = token.strip()
        self._http = make_client(policy, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpsgenieClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET `path`; return the JSON object; raise SourceError with the status, never the body."""
        try:
            status, raw = remote.bounded_get(self._http, self.base + path, params=params, headers={
                "Authorization": f"GenieKey {self._token}", "Accept": "application/json"})
        except remote.Oversized as exc:
            raise SourceError(f"Opsgenie's answer to GET {path} is larger than {remote.MAX_BYTES >> 20} MiB") from exc
        except remote.Overdue as exc:
            raise SourceError(f"Opsgenie's answer to GET {path} took longer than {remote.MAX_SECONDS:.0f} s") from exc
        except Blocked as exc:
            raise SourceError(f"Opsgenie was not called: {exc.message} (TOCSIN_OUTBOUND_ALLOW opens a range)") from exc
        except httpx.HTTPError as exc:
            raise SourceError(f"could not reach {self.base}: {type(exc).__name__}") from exc
        if status in (401, 403):
            raise SourceError(f"Opsgenie refused the API key (HTTP {status} on GET {path}): check --token "
                              "and that the key may read configuration (Settings → API key management)")
        if status == 429:
            raise SourceError(f"Opsgenie rate-limited the import (HTTP 429 on GET {path}): run it again in a minute")
        if not 200 <= status < 300:
            raise SourceError(f"Opsgenie answered HTTP {status} to GET {path}")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise SourceError(f"Opsgenie's answer to GET {path} is not JSON") from exc
        if not isinstance(body, dict):
            raise SourceError(f"Opsgenie's answer to GET {path} is not a JSON object")
        return body

    def data(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.get(path, params).get("data")

    def paged(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of an offset-paged list."""
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            body = self.get(path, {**(params or {}), "offset": len(items), "limit": PAGE})
            page = body.get("data") or []
            if not isinstance(page, list):
                raise SourceError(f"Opsgenie's answer to GET {path} has no list of data")
            items += [item for item in page if isinstance(item, dict)]
            paging = body.get("paging") or {}
            if not page or not (isinstance(paging, dict) and paging.get("next")):
                return items
        raise SourceError(f"GET {path} did not end after {MAX_PAGES} pages")


def _id(value: str) -> str:
    return quote(str(value), safe="")


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def fetch_account(client: OpsgenieClient, now: datetime) -> dict[str, Any]:
    """Read everything the import needs (see the module docstring); raise SourceError."""
    users = []
    for user in client.paged("/v2/users"):
        detail = client.data(f"/v2/users/{_id(user['id'])}", {"expand": "contact"}) or {}
        users.append({**user, "userContacts": _list(detail.get("userContacts"))})
    teams = [client.data(f"/v2/teams/{_id(t['id'])}", {"identifierType": "id"}) or t
             for t in _list(client.data("/v2/teams"))]
    schedules = _list(client.data("/v2/schedules", {"expand": "rotation"}))
    overrides, timelines = {}, {}
    for schedule in schedules:
        sid = _id(schedule["id"])
        overrides[schedule["id"]] = _list(client.data(f"/v2/schedules/{sid}/overrides"))
        timelines[schedule["id"]] = client.data(
            f"/v2/schedules/{sid}/timeline",
            {"expand": "base,forwarding,override", "interval": TIMELINE_DAYS, "intervalUnit": "days",
             "date": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}) or {}
    maintenance = []
    for m in _list(client.data("/v1/maintenance", {"type": "non-expired"})):
        maintenance.append(client.data(f"/v1/maintenance/{_id(m['id'])}") or m)
    heartbeats = client.data("/v2/heartbeats") or {}
    return {
        "users": users, "teams": [t for t in teams if isinstance(t, dict)], "schedules": schedules,
        "overrides": overrides, "timelines": timelines,
        "escalations": _list(client.data("/v2/escalations")),
        "services": client.paged("/v1/services"),
        "integrations": _list(client.data("/v2/integrations")),
        "maintenance": [m for m in maintenance if isinstance(m, dict)],
        "heartbeats": _list(heartbeats.get("heartbeats") if isinstance(heartbeats, dict) else None),
    }
