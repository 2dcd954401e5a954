"""A fake Slack on 127.0.0.1, speaking Slack's wire format, for the Slack provider.

    POST /api/chat.postMessage          JSON or form-encoded (channel, text, blocks), Bearer token
    POST /services/T000/B000/XXXX       an incoming webhook: JSON {text, blocks}

The Web API answers like Slack does: HTTP 200 with `{"ok": false, "error": ...}` for refusals
(`not_authed` without a token, `invalid_auth` for an unknown one, `channel_not_found`,
`no_text`, `invalid_blocks`, `msg_too_long`) and `{"ok": true, "channel", "ts", "message"}`
on success, with `ts` counting up from "1700000000.000100". Rate limiting is HTTP 429 with
a Retry-After header and `{"ok": false, "error": "ratelimited"}`. An incoming webhook answers
200 "ok"; an unknown webhook path 404 "no_service".

Knobs: `tokens`, `channels`, `webhook_paths` (what exists), `ratelimit_next(n, retry_after)`,
`fail_next_api(n, status, error)` (a 5xx without an error code answers an HTML page, as
Slack's edge does), `fail_next_webhook(n, status, body)` and `delay` (seconds to wait
before answering). Every request is recorded in `received` (path, headers, parsed payload,
the status answered); `connections` counts accepted TCP connections.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl

TOKEN = "xoxb-fake-0123456789-abcdefABCDEF"
CHANNEL = "C0FAKE0001"
WEBHOOK_PATH = "/services/T000/B000/XXXX"
FIRST_TS = "1700000000.000100"

_SECTION_CHARS = 3000
_TEXT_CHARS = 40000
_JSON_FIELDS = ("blocks", "attachments", "metadata")  # form-encoded, these arrive as JSON strings


@dataclass
class Received:
    """One request, as parsed, and how the fake answered it."""

    path: str
    headers: dict[str, str]
    payload: dict[str, Any]
    status: int

    @property
    def text(self) -> str | None:
        return self.payload.get("text")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.payload.get("blocks") or []


@dataclass
class _Failure:
    remaining: int
    status: int
    body: Any  # a dict (JSON) or a str
    headers: dict[str, str]


def _parse(content_type: str, raw: bytes) -> dict[str, Any]:
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    payload: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(payload.get(key), str):
            try:
                payload[key] = json.loads(payload[key])
            except ValueError:
                pass  # left as the string; chat.postMessage then says invalid_blocks
    return payload


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeSlack

    def do_POST(self) -> None:
        fake = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?", 1)[0]
        payload = _parse(self.headers.get("Content-Type", ""), raw)
        if fake.delay:
            time.sleep(fake.delay)
        if path.startswith("/api/"):
            method, authorization = path.removeprefix("/api/"), self.headers.get("Authorization")
            status, body, headers = fake.answer_api(method, authorization, payload)
        else:
            status, body, headers = fake.answer_webhook(path, payload)
        with fake.lock:
            fake.received.append(Received(path, dict(self.headers), payload, status))
        self._reply(status, body, headers)

    def _reply(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, dict):
            data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        elif str(body).startswith("<"):
            data, content_type = str(body).encode(), "text/html"
        else:
            data, content_type = str(body).encode(), "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FakeSlack(http.server.ThreadingHTTPServer):
    """Slack's chat.postMessage and incoming webhooks on 127.0.0.1 (port 0); a context manager."""

    daemon_threads = True

    def __init__(self, token: str = TOKEN, channels: set[str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tokens: set[str] = {token}
        self.channels: set[str] = {CHANNEL} if channels is None else set(channels)
        self.webhook_paths: set[str] = {WEBHOOK_PATH}
        self.received: list[Received] = []
        self.connections = 0
        self.delay = 0.0  # seconds to wait before answering
        self.lock = threading.Lock()
        self._api_failures: deque[_Failure] = deque()
        self._webhook_failures: deque[_Failure] = deque()
        self._posted = 0
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def api_url(self) -> str:
        """The base URL to give the provider in place of https://slack.com/api/."""
        return f"http://127.0.0.1:{self.port}/api/"

    def webhook_url(self, path: str = WEBHOOK_PATH, host: str = "127.0.0.1") -> str:
        """An incoming-webhook URL on this fake, in place of https://hooks.slack.com/services/..."""
        return f"http://{host}:{self.port}{path}"

    def ratelimit_next(self, n: int = 1, retry_after: int = 30) -> None:
        """Answer the next `n` Web API calls 429 ratelimited with this Retry-After."""
        self.fail_next_api(n, 429, "ratelimited", headers={"Retry-After": str(retry_after)})

    def fail_next_api(self, n: int, status: int, error: str | None, *, headers: dict[str, str] | None = None) -> None:
        """Answer the next `n` Web API calls `status` with `{"ok": false, "error": error}`
        (an HTML error page when `error` is None)."""
        body: Any = {"ok": False, "error": error} if error else f"<html><body>{status} Server Error</body></html>"
        with self.lock:
            self._api_failures.append(_Failure(n, status, body, headers or {}))

    def fail_next_webhook(self, n: int, status: int, body: str, *, headers: dict[str, str] | None = None) -> None:
        """Answer the next `n` webhook posts `status` with the text `body` (e.g. 404 "no_service")."""
        with self.lock:
            self._webhook_failures.append(_Failure(n, status, body, headers or {}))

    def verify_request(self, request: object, client_address: object) -> bool:
        with self.lock:
            self.connections += 1
        return True

    def _next_failure(self, queue: deque[_Failure]) -> _Failure | None:
        with self.lock:
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return failure

    def answer_api(
        self, method: str, authorization: str | None, payload: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        """Return (status, body, headers) for a Web API call to `method`."""
        failure = self._next_failure(self._api_failures)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token.strip() not in self.tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method != "chat.postMessage":
            return 404, {"ok": False, "error": "unknown_method"}, {}
        return self._post_message(payload)

    def _post_message(self, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        channel, text, blocks = payload.get("channel"), payload.get("text"), payload.get("blocks")
        if not channel or channel not in self.channels:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        if not text and not blocks:
            return 200, {"ok": False, "error": "no_text"}, {}
        if text and len(text) > _TEXT_CHARS:
            return 200, {"ok": False, "error": "msg_too_long"}, {}
        problem = _block_problem(blocks)
        if problem:
            return 200, {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": [problem]}}, {}
        with self.lock:
            ts = f"{FIRST_TS.split('.')[0]}.{int(FIRST_TS.split('.')[1]) + self._posted:06d}"
            self._posted += 1
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": text or "",
            "user": "U0FAKEBOT",
            "bot_id": "B0FAKEBOT",
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}

    def answer_webhook(self, path: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Return (status, body, headers) for a post to an incoming-webhook path."""
        failure = self._next_failure(self._webhook_failures)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        if path not in self.webhook_paths:
            return 404, "no_service", {}
        if not payload.get("text") and not payload.get("blocks"):
            return 400, "no_text", {}
        if _block_problem(payload.get("blocks")):
            return 400, "invalid_blocks", {}
        return 200, "ok", {}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():  # shutdown() blocks forever if serve_forever never ran
            self.shutdown()
            self._thread.join()
        self.server_close()


def _block_problem(blocks: Any) -> str | None:
    """Return Slack's complaint about `blocks` (a few of its rules), or None if they pass."""
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return "[ERROR] must be an array [json-pointer:/blocks]"
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            return f"[ERROR] missing required field: type [json-pointer:/blocks/{i}]"
        text = (block.get("text") or {}).get("text") if block["type"] == "section" else None
        if text is not None and len(text) > _SECTION_CHARS:
            return f"[ERROR] must be less than {_SECTION_CHARS + 1} characters [json-pointer:/blocks/{i}/text/text]"
        elements = (block.get("elements") or []) if block["type"] == "actions" else []
        for j, element in enumerate(elements):
            url = element.get("url", "")
            if element.get("type") == "button" and url and not url.startswith(("http://", "https://")):
                return f"[ERROR] invalid url [json-pointer:/blocks/{i}/elements/{j}/url]"
    return None
