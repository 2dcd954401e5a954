"""The ingest endpoints served ahead of the framework: the hot path of alert ingestion.

FastAPI's routing, dependency and exception layers cost more per request than storing a
single alert does, so this middleware answers the ingest paths itself (reading the body
within its size limit, handing it to the group-commit writer) and passes every other request
on. The FastAPI routes in `routes/ingest.py` document the same endpoints in the OpenAPI
schema and give the same answers when reached directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from tocsin.api.limits import ErrorShape, read_body, reply_json, tocsin_error
from tocsin.ingest import opsgenie
from tocsin.ingest.types import Job, Reply, Route
from tocsin.ingest.writer import IngestWriter

Scope = dict[str, Any]
_HOOK = re.compile(r"^/integrations/(alertmanager|grafana|generic)/([^/]+)$")
_HOOKS: dict[str, Route] = {"alertmanager": "alertmanager", "grafana": "grafana", "generic": "generic"}
_BEAT = re.compile(r"^/heartbeats/([^/]+)$")
# Opsgenie Alert API v2: an identifier (an alias may hold "/") and the action on it; a heartbeat's name.
_OG_ACTION = re.compile(r"^/v2/alerts/(.+)/(acknowledge|close|notes)$", re.DOTALL)
_OG_STATUS = re.compile(r"^/v2/alerts/requests/([^/]+)$")
_OG_PING = re.compile(r"^/v2/heartbeats/(.+)/ping$", re.DOTALL)
_PING_METHODS = ("GET", "POST", "PUT", "PATCH")


def match(method: str, path: str) -> tuple[Route, str | None] | None:
    """Return (route, key) for an ingest request, else None (Opsgenie: see `match_opsgenie`)."""
    if method == "POST":
        if path == "/v2/enqueue":
            return "events_v2", None
        if path == "/v2/change/enqueue":
            return "change", None
        m = _HOOK.match(path)
        if m:
            return _HOOKS[m.group(1)], m.group(2)
    if method in ("GET", "POST"):
        m = _BEAT.match(path)
        if m:
            return "heartbeat", m.group(1)
    return None


def match_opsgenie(method: str, path: str) -> tuple[str, str] | None:
    """Return (operation, what the path names) for an Opsgenie Alert API request, else None."""
    if method == "POST":
        if path == "/v2/alerts":
            return "create", ""
        m = _OG_ACTION.match(path)
        if m:
            return m.group(2), m.group(1)
    if method == "GET":
        m = _OG_STATUS.match(path)
        if m:
            return "status", m.group(1)
    if method in _PING_METHODS:
        m = _OG_PING.match(path)
        if m:
            return "ping", m.group(1)
    return None


def pagerduty_error(status: int, code: str, message: str) -> Any:
    """PagerDuty's error body, for any size or header problem of an Events API request."""
    what = "Event object is too large" if status == 413 else "Event object is invalid"
    return {"status": "invalid event", "message": what, "errors": [message]}


def opsgenie_error(status: int, code: str, message: str) -> Any:
    return opsgenie.body(status, message).body


def error_shape(route: Route) -> ErrorShape:
    if route in ("events_v2", "change"):
        return pagerduty_error
    if route == "opsgenie":
        return opsgenie_error
    return tocsin_error


def opsgenie_job(scope: Mapping[str, Any], op: str, target: str, body: bytes) -> Job:
    """The job of an Opsgenie request: its key is in the Authorization header, its identifierType in the query."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()
               if k.lower() == b"authorization"}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return Job("opsgenie", body if op not in ("ping", "status") else b"", headers=headers, op=op, target=target,
               id_type=(query.get("identifierType") or [""])[0])


class IngestFastPath:
    def __init__(self, app: Any, writer: IngestWriter, limits: dict[str, int]) -> None:
        self.app = app
        self.writer = writer
        self.limits = limits  # route -> largest body accepted

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "\x00" in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        method, path = scope.get("method", ""), scope.get("path", "")
        og = match_opsgenie(method, path) if path.startswith("/v2/") else None
        if og is not None:
            body = await read_body(scope, receive, send, self.limits.get("opsgenie", 0), opsgenie_error)
            if body is not None:
                await respond(send, await self.writer.reply(opsgenie_job(scope, og[0], og[1], body)))
            return
        found = match(method, path)
        if found is None:
            await self.app(scope, receive, send)
            return
        route, key = found
        body = await read_body(scope, receive, send, self.limits.get(route, 0), error_shape(route))
        if body is None:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()} \
            if route == "grafana" else {}
        reply = await self.writer.reply(Job(route, body if route != "heartbeat" else b"", key=key, headers=headers))
        await respond(send, reply)


async def respond(send: Any, reply: Reply) -> None:
    await reply_json(send, reply.status, reply.body)
