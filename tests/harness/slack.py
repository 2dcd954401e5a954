"""A fake Slack on 127.0.0.1, speaking Slack's wire format: the provider's API and the chat-ops workspace.

    POST /api/<method>                  JSON or form-encoded, Bearer token (GET with a query too:
                                        slack_sdk reads conversations.history, users.info... by GET)
    POST /services/T000/B000/XXXX       an incoming webhook: JSON {text, blocks}
    POST /commands/..., /actions/...    a slash command's or an action's response_url: JSON

The Web API answers like Slack does: HTTP 200 with `{"ok": false, "error": ...}` for refusals
(`not_authed` without a token, `invalid_auth` for an unknown one, `channel_not_found`,
`no_text`, `invalid_blocks`, `msg_too_long`, ...) and `{"ok": true, ...}` on success; message
`ts` count up from "1700000000.000100". Rate limiting is HTTP 429 with a Retry-After header and
`{"ok": false, "error": "ratelimited"}`. An incoming webhook answers 200 "ok"; an unknown
webhook path 404 "no_service". A response_url answers 200 "ok" and records the JSON.

Behind the API is a workspace (tests/harness/slack_workspace.py): users (`add_user(email, name)`
-> "U0001"), channels (`add_channel`, `channel(id or name)`: name, is_private, topic, members,
archived, bookmarks, messages, ephemerals), modals opened (`views`), response_url posts
(`responses`). Methods: conversations.create/setTopic/invite/archive/unarchive/history/replies,
bookmarks.add, reactions.add, chat.postMessage (to the workspace's channels and the ones in `channels`, which
start as the provider's CHANNEL), chat.postEphemeral, chat.update, users.lookupByEmail,
users.info, views.open; others answer 404 unknown_method.

Knobs: `tokens`, `channels`, `webhook_paths` (what exists), `ratelimit_next(n, retry_after)`,
`ratelimit_for(seconds, retry_after)` (every API call 429 until then, in real time),
`fail_next_api(n, status, error)` and `fail_for(n, status)` (a 5xx without an error code
answers an HTML page, as Slack's edge does), `refuse_next(method, error, n)` (that method's next
calls answer ok:false with `error`), `fail_next_webhook(n, status, body)` (webhooks and
response_urls) and `delay` (seconds to wait before answering). Every request is recorded in
`received` (path, headers, parsed payload, the status answered); `connections` counts accepted
TCP connections; `transcript()` says what happened in order, a line each, for a person to read.
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

from tests.harness.slack_workspace import BOT_USER, FIRST_TS, TEAM, Channel, Workspace, block_problem

__all__ = ["BOT_USER", "CHANNEL", "CHANNEL_NAME", "FIRST_TS", "TEAM", "TOKEN", "WEBHOOK_PATH", "FakeSlack", "Received"]

TOKEN = "xoxb-fake-0123456789-abcdefABCDEF"
CHANNEL = "C0FAKE0001"
CHANNEL_NAME = "alerts"
WEBHOOK_PATH = "/services/T000/B000/XXXX"
RESPONSE_PREFIXES = ("/commands/", "/actions/")

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")  # form-encoded, these arrive as JSON strings


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
    return _form(raw.decode("utf-8", "replace"))


def _form(text: str) -> dict[str, Any]:
    payload: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(payload.get(key), str):
            try:
                payload[key] = json.loads(payload[key])
            except ValueError:
                pass  # left as the string; chat.postMessage then says invalid_blocks
    return payload


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeSlack

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if not path.startswith("/api/"):
            self._reply(404, "not found", {})
            return
        self._answer(path, _form(query))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _, query = self.path.partition("?")
        payload = {**_form(query), **_parse(self.headers.get("Content-Type", ""), raw)}
        self._answer(path, payload)

    def _answer(self, path: str, payload: dict[str, Any]) -> None:
        fake = self.server
        if fake.delay:
            time.sleep(fake.delay)
        if path.startswith("/api/"):
            method, authorization = path.removeprefix("/api/"), self.headers.get("Authorization")
            status, body, headers = fake.answer_api(method, authorization, payload)
        elif path.startswith(RESPONSE_PREFIXES):
            status, body, headers = fake.answer_response_url(path, payload)
        else:
            status, body, headers = fake.answer_webhook(path, payload)
        received = Received(path, dict(self.headers), payload, status)
        with fake.lock:
            fake.received.append(received)
            if path.startswith(RESPONSE_PREFIXES):
                fake.responses.append(received)
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
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test): nothing to tell it

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FakeSlack(http.server.ThreadingHTTPServer):
    """Slack's Web API, a workspace behind it, incoming webhooks and response_urls on 127.0.0.1
    (port 0); a context manager."""

    daemon_threads = True

    def __init__(self, token: str = TOKEN, channels: set[str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tokens: set[str] = {token}
        self.channels: set[str] = {CHANNEL} if channels is None else set(channels)
        self.webhook_paths: set[str] = {WEBHOOK_PATH}
        self.received: list[Received] = []
        self.responses: list[Received] = []  # posts to response_urls (/commands/..., /actions/...)
        self.connections = 0
        self.delay = 0.0  # seconds to wait before answering
        self.lock = threading.RLock()
        self._transcript: list[str] = []
        self.workspace = Workspace(self._transcript.append)
        self._api_failures: deque[_Failure] = deque()
        self._webhook_failures: deque[_Failure] = deque()
        self._ratelimited_until = 0.0
        self._ratelimit_retry_after = 1
        self._responses_made = 0
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

    def response_url(self, kind: str = "commands") -> str:
        """A fresh response_url on this fake (kind "commands" or "actions"), in place of
        https://hooks.slack.com/commands/T.../..., for the payloads tests send."""
        with self.lock:
            self._responses_made += 1
            n = self._responses_made
        return f"http://127.0.0.1:{self.port}/{kind}/{TEAM}/{397700885554 + n}/fakeResponseToken{n:04d}"

    # -- the workspace ---------------------------------------------------------------------------

    def add_user(self, email: str | None, name: str) -> str:
        """A workspace member (email None: the profile shows none); returns the user id ("U0001"...)."""
        with self.lock:
            return self.workspace.add_user(email, name)

    def add_channel(self, name: str, *, private: bool = False, members: tuple[str, ...] = ()) -> str:
        """A channel made outside tocsin (the bot is in it); returns its id."""
        with self.lock:
            return self.workspace.add_channel(name, private=private, members=members).id

    def add_message(self, channel: str, text: str, *, user: str, thread_ts: str | None = None) -> str:
        """A message written by `user` in `channel` (id), a reply when `thread_ts`; returns its ts."""
        with self.lock:
            self._known_channels()
            return self.workspace.add_message(channel, text, user=user, thread_ts=thread_ts).ts

    def channel(self, key: str) -> Channel:
        """The channel with this id or name ("#name" too); KeyError if there is none."""
        with self.lock:
            self._known_channels()
            found = self.workspace.channels.get(key) or next(
                (c for c in self.workspace.channels.values() if c.name == key.removeprefix("#")), None)
        if found is None:
            raise KeyError(key)
        return found

    @property
    def views(self) -> list[dict[str, Any]]:
        """Every modal opened: {"id", "trigger_id", "view"}."""
        return self.workspace.views

    def transcript(self) -> list[str]:
        """What happened, in order, a line each (channels made, posts, invites, refusals, 429s...)."""
        with self.lock:
            return list(self._transcript)

    def _known_channels(self) -> None:
        # the ids in `channels` (a set tests may change) are channels everyone is in
        for n, channel_id in enumerate(sorted(self.channels - self.workspace.channels.keys())):
            name = CHANNEL_NAME if channel_id == CHANNEL else f"fake-{channel_id.lower()}-{n}"
            self.workspace.add_channel(name, channel_id=channel_id, everyone=True)

    # -- knobs -----------------------------------------------------------------------------------

    def ratelimit_next(self, n: int = 1, retry_after: int = 30) -> None:
        """Answer the next `n` Web API calls 429 ratelimited with this Retry-After."""
        self.fail_next_api(n, 429, "ratelimited", headers={"Retry-After": str(retry_after)})

    def ratelimit_for(self, seconds: float, retry_after: int = 1) -> None:
        """Answer every Web API call 429 ratelimited (Retry-After `retry_after`) for `seconds` from now."""
        with self.lock:
            self._ratelimited_until = time.monotonic() + seconds
            self._ratelimit_retry_after = retry_after

    def fail_next_api(self, n: int, status: int, error: str | None, *, headers: dict[str, str] | None = None) -> None:
        """Answer the next `n` Web API calls `status` with `{"ok": false, "error": error}`
        (an HTML error page when `error` is None)."""
        body: Any = {"ok": False, "error": error} if error else f"<html><body>{status} Server Error</body></html>"
        with self.lock:
            self._api_failures.append(_Failure(n, status, body, headers or {}))

    def fail_for(self, n: int, status: int = 500, error: str | None = None) -> None:
        """Answer the next `n` Web API calls `status` (an HTML page unless `error`)."""
        self.fail_next_api(n, status, error)

    def refuse_next(self, method: str, error: str, n: int = 1) -> None:
        """Answer the next `n` calls of `method` 200 `{"ok": false, "error": error}`
        (e.g. "restricted_action", "missing_scope")."""
        with self.lock:
            self.workspace.refusals.setdefault(method, []).extend([error] * n)

    def fail_next_webhook(self, n: int, status: int, body: str, *, headers: dict[str, str] | None = None) -> None:
        """Answer the next `n` webhook or response_url posts `status` with the text `body`
        (e.g. 404 "no_service", 404 "expired_url")."""
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

    # -- answers ---------------------------------------------------------------------------------

    def answer_api(
        self, method: str, authorization: str | None, payload: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        """Return (status, body, headers) for a Web API call to `method`."""
        with self.lock:
            if time.monotonic() < self._ratelimited_until:
                retry_after = str(self._ratelimit_retry_after)
                self._transcript.append(f"{method} -> 429 Retry-After {retry_after}")
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
        failure = self._next_failure(self._api_failures)
        if failure is not None:
            retry_after = failure.headers.get("Retry-After")
            with self.lock:
                self._transcript.append(f"{method} -> {failure.status}"
                                        + (f" Retry-After {retry_after}" if retry_after else ""))
            return failure.status, failure.body, failure.headers
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._refused(method, payload, 200, {"ok": False, "error": "not_authed"})
        if token.strip() not in self.tokens:
            return self._refused(method, payload, 200, {"ok": False, "error": "invalid_auth"})
        with self.lock:
            if not self.workspace.handles(method):
                return self._refused(method, payload, 404, {"ok": False, "error": "unknown_method"})
            self._known_channels()
            status, body = self.workspace.call(method, payload)
            if not body.get("ok"):
                return self._refused(method, payload, status, body)
            return status, body, {}

    def _refused(self, method: str, payload: dict[str, Any], status: int,
                 body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        subject = (payload.get("name") or payload.get("email") or payload.get("trigger_id")
                   or (self.workspace.label(payload.get("channel") or payload.get("channel_id"))
                       if payload.get("channel") or payload.get("channel_id") else "") or payload.get("user") or "")
        with self.lock:
            self._transcript.append(f"{method}{' ' + str(subject) if subject else ''} -> {body.get('error')}")
        return status, body, {}

    def answer_webhook(self, path: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Return (status, body, headers) for a post to an incoming-webhook path."""
        failure = self._next_failure(self._webhook_failures)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        if path not in self.webhook_paths:
            return 404, "no_service", {}
        if not payload.get("text") and not payload.get("blocks"):
            return 400, "no_text", {}
        if block_problem(payload.get("blocks")):
            return 400, "invalid_blocks", {}
        with self.lock:
            self._transcript.append("incoming webhook: " + json.dumps(str(payload.get("text") or "")[:80]))
        return 200, "ok", {}

    def answer_response_url(self, path: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Return (status, body, headers) for a post to a response_url (recorded in `responses`)."""
        failure = self._next_failure(self._webhook_failures)
        if failure is not None:
            with self.lock:
                self._transcript.append(f"response_url {path.split('/')[1]} -> {failure.status} {failure.body}")
            return failure.status, failure.body, failure.headers
        if not any(payload.get(k) for k in ("text", "blocks", "delete_original")):
            return 400, "no_text", {}
        if block_problem(payload.get("blocks")):
            return 400, "invalid_blocks", {}
        kind = payload.get("response_type") or ("replace" if payload.get("replace_original") else "ephemeral")
        with self.lock:
            self._transcript.append(f"response_url {path.split('/')[1]} ({kind}): "
                                    + json.dumps(str(payload.get("text") or "")[:80]))
        return 200, "ok", {}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():  # shutdown() blocks forever if serve_forever never ran
            self.shutdown()
            self._thread.join()
        self.server_close()
