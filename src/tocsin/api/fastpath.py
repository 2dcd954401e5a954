"""The ingest endpoints served ahead of the framework: the hot path of alert ingestion.

FastAPI's routing, dependency and exception layers cost more per request than storing a
single alert does, so this middleware answers the ingest paths itself (reading the body
within its size limit, handing it to the group-commit writer) and passes every other request
on. The FastAPI routes in `routes/ingest.py` document the same endpoints in the OpenAPI
schema and give the same answers when reached directly.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin.api.limits import read_body, reply_json
from tocsin.ingest.types import Job, Reply, Route
from tocsin.ingest.writer import IngestWriter

Scope = dict[str, Any]
_HOOK = re.compile(r"^/integrations/(alertmanager|grafana|generic)/([^/]+)$")
_HOOKS: dict[str, Route] = {"alertmanager": "alertmanager", "grafana": "grafana", "generic": "generic"}
_BEAT = re.compile(r"^/heartbeats/([^/]+)$")


def match(method: str, path: str) -> tuple[Route, str | None] | None:
    """Return (route, key) for an ingest request, else None."""
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


class IngestFastPath:
    def __init__(self, app: Any, writer: IngestWriter, limits: dict[str, int]) -> None:
        self.app = app
        self.writer = writer
        self.limits = limits  # route -> largest body accepted

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = match(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if found is None or "\x00" in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        route, key = found
        body = await read_body(scope, receive, send, self.limits.get(route, 0))
        if body is None:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()} \
            if route == "grafana" else {}
        reply = await self.writer.reply(Job(route, body if route != "heartbeat" else b"", key=key, headers=headers))
        await respond(send, reply)


async def respond(send: Any, reply: Reply) -> None:
    await reply_json(send, reply.status, reply.body)
