"""ASGI middleware that refuses request bodies over the configured size with a 413.

The body is buffered up to the limit before the app runs, so an oversized request
never reaches a handler and can leave no partial write behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

Scope = dict[str, Any]


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int, overrides: tuple[tuple[str, int], ...] = (),
                 streamed: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides  # (path prefix, limit): webhooks may carry large alert groups
        # POST paths (regular expressions) whose handler streams the body itself and enforces its own
        # limit (evidence uploads of any size): passed through, never buffered here
        self.streamed = tuple(re.compile(p) for p in streamed)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS")
                or (scope["method"] == "POST" and any(p.match(scope.get("path", "")) for p in self.streamed))):
            await self.app(scope, receive, send)
            return
        body = await read_body(scope, receive, send, self.limit_for(scope.get("path", "")))
        if body is None:
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# The body of a 400 or 413 answer, given (status, code, message): senders that speak another
# product's API (PagerDuty, Opsgenie) get that product's error shape.
ErrorShape = Callable[[int, str, str], Any]


def tocsin_error(status: int, code: str, message: str) -> Any:
    return {"error": {"code": code, "message": message, "details": {}}}


async def read_body(scope: Scope, receive: Any, send: Any, limit: int,
                    shape: ErrorShape = tocsin_error) -> bytes | None:
    """The whole request body, or None after answering 400/413 (or when the client went away).

    The 413 is the same whether the body declared its size (Content-Length) or was sent chunked
    and found too large while reading."""
    declared = dict(scope.get("headers") or []).get(b"content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            await reply_json(send, 400, shape(400, "bad_request", "invalid Content-Length header"))
            return None
        if too_big:
            await reply_json(send, 413, shape(413, "payload_too_large", f"request body exceeds {limit} bytes"))
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await reply_json(send, 413, shape(413, "payload_too_large", f"request body exceeds {limit} bytes"))
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def reply_json(send: Any, status: int, payload: Any) -> None:
    body = orjson.dumps(payload)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def reply_error(send: Any, status: int, code: str, message: str) -> None:
    """Answer in the one error shape, from below the framework (where `api/errors.py` cannot)."""
    await reply_json(send, status, {"error": {"code": code, "message": message, "details": {}}})
