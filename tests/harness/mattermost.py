"""A fake Mattermost on 127.0.0.1 speaking REST API v4, and builders for what Mattermost sends tocsin.

    POST   /api/v4/channels                     create (team_id, name, display_name, type O|P) -> 201
    PUT    /api/v4/channels/{id}/patch          header (<= 1024 runes), purpose (<= 250) -> 200
    POST   /api/v4/channels/{id}/members        {"user_id"} or {"user_ids": [...]} -> 201
    DELETE /api/v4/channels/{id}                archive (sets delete_at) -> 200 {"status": "OK"}
    POST   /api/v4/channels/direct              [user id, user id] -> 201 (200 if it exists)
    POST   /api/v4/posts                        channel_id, message, props -> 201
    POST   /api/v4/posts/ephemeral              {user_id, post: {channel_id, message}} -> 201
    POST   /api/v4/posts/{id}/pin               -> 200 {"status": "OK"}
    GET    /api/v4/posts/{id}                   -> 200 post
    GET    /api/v4/users/me | /users/{id} | /users/email/{email} | /users/username/{name}

Every call needs `Authorization: Bearer <token>` (401 otherwise); refusals carry Mattermost's
error shape `{id, message, request_id, status_code, is_oauth}` with the ids Mattermost uses
(`store.sql_channel.save_channel.exists.app_error` for a taken name, ...).

The workspace: `users` (id -> FakeUser: username, email), `channels` (id -> FakeChannel: name,
type, header, purpose, members, delete_at), `posts` (id -> FakePost: message, props, pinned),
`ephemerals`; `add_user`, `add_channel` set it up. Ids are 26 lowercase characters like real ones.

Knobs: `ratelimit_next(n, reset)` (429 "limit exceeded" with X-Ratelimit-Limit/Remaining/Reset),
`fail_next(n, status)` (Mattermost's JSON error), `hide_emails` (users read without their email).
`received` logs every request (method, path, headers, payload, status, what it did) and
`transcript()` gives the same as readable lines, in order, for a closing note.

Builders for Mattermost's requests to tocsin: `slash_command(...)` (the form body of reference
§2.1 and its `Authorization: Token <command token>` header), `outgoing_webhook(...)` (an outgoing
webhook's JSON or form body, §2.2) and `action_request(...)` (the JSON of an interactive button
press, §2.3).
"""

from __future__ import annotations

import http.server
import itertools
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import unquote, urlencode

TOKEN = "mmbot-fake-token-0123456789abcdef"
TEAM_ID = "teamfake00000000000000000a"
TEAM_DOMAIN = "ops"
BOT_ID = "botfake000000000000000000b"
COMMAND_TOKEN = "mmcmd-fake-token-abcdef012345"
FIRST_MS = 1_700_000_000_000

_NAME = re.compile(r"^[a-z0-9]+([a-z\-\_0-9]+|(__)?)[a-z0-9]*$")


@dataclass
class FakeUser:
    id: str
    username: str
    email: str
    email_verified: bool = True  # Mattermost's EmailVerified (omitted from its JSON when false)


@dataclass
class FakeChannel:
    id: str
    team_id: str
    name: str
    display_name: str
    type: str  # O public, P private, D direct
    header: str = ""
    purpose: str = ""
    members: set[str] = field(default_factory=set)
    delete_at: int = 0

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "team_id": self.team_id, "name": self.name, "display_name": self.display_name,
                "type": self.type, "header": self.header, "purpose": self.purpose, "delete_at": self.delete_at,
                "create_at": FIRST_MS, "update_at": FIRST_MS, "creator_id": BOT_ID}


@dataclass
class FakePost:
    id: str
    channel_id: str
    user_id: str
    message: str
    props: dict[str, Any]
    create_at: int
    is_pinned: bool = False

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "channel_id": self.channel_id, "user_id": self.user_id, "message": self.message,
                "props": self.props, "create_at": self.create_at, "update_at": self.create_at,
                "is_pinned": self.is_pinned, "root_id": "", "type": ""}

    @property
    def actions(self) -> list[dict[str, Any]]:
        """Every interactive action of the post's attachments."""
        return [a for att in self.props.get("attachments") or [] for a in att.get("actions") or []]


@dataclass
class Received:
    """One request, as parsed, how the fake answered it, and in words what it did."""

    method: str
    path: str
    headers: dict[str, str]
    payload: Any
    status: int
    did: str


@dataclass
class _Failure:
    remaining: int
    status: int
    body: Any
    headers: dict[str, str]


class MMError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeMattermost

    def _handle(self) -> None:
        fake = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        path = self.path.split("?", 1)[0]
        status, body, headers, did = fake.answer(self.command, path, self.headers.get("Authorization"), payload)
        with fake.lock:
            fake.received.append(Received(self.command, path, dict(self.headers), payload, status, did))
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FakeMattermost(http.server.ThreadingHTTPServer):
    """Mattermost's REST API v4 (the calls tocsin makes) on 127.0.0.1 (port 0); a context manager."""

    daemon_threads = True

    def __init__(self, token: str = TOKEN, team_id: str = TEAM_ID) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tokens: set[str] = {token}
        self.team_id = team_id
        self.users: dict[str, FakeUser] = {BOT_ID: FakeUser(BOT_ID, "tocsin-bot", "")}
        self.channels: dict[str, FakeChannel] = {}
        self.posts: dict[str, FakePost] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.received: list[Received] = []
        self.hide_emails = False
        self.lock = threading.RLock()
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)
        self._clock = itertools.count(0)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- set-up ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server URL to give tocsin (TOCSIN_MATTERMOST_URL)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def new_id(self, kind: str) -> str:
        return f"{kind[:1]}{next(self._ids):025d}"

    def add_user(self, username: str, email: str) -> str:
        """A team member; returns the user id."""
        with self.lock:
            uid = self.new_id("u")
            self.users[uid] = FakeUser(uid, username, email)
            return uid

    def add_channel(self, name: str, *, private: bool = False, members: tuple[str, ...] = ()) -> str:
        """An existing channel (the bot is a member); returns its id."""
        with self.lock:
            cid = self.new_id("c")
            self.channels[cid] = FakeChannel(cid, self.team_id, name, name, "P" if private else "O",
                                             members={BOT_ID, *members})
            return cid

    def channel_named(self, name: str) -> FakeChannel:
        return next(c for c in self.channels.values() if c.name == name)

    def posts_in(self, channel_id: str) -> list[FakePost]:
        return [p for p in self.posts.values() if p.channel_id == channel_id]

    def press(self, post: FakePost, name: str, user_id: str) -> tuple[str, dict[str, Any]]:
        """A person pressing the button `name` of `post`: (integration url, the JSON Mattermost POSTs there)."""
        action = next(a for a in post.actions if a.get("name") == name)
        channel, user = self.channels[post.channel_id], self.users[user_id]
        return action["integration"]["url"], action_request(
            action["integration"].get("context") or {}, user_id=user.id, user_name=user.username,
            channel_id=channel.id, channel_name=channel.name, post_id=post.id, team_id=self.team_id)

    def ratelimit_next(self, n: int = 1, reset: int = 1) -> None:
        """Answer the next `n` calls 429 "limit exceeded", as Mattermost's rate limiter does."""
        headers = {"X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(reset)}
        with self.lock:
            self._failures.append(_Failure(n, 429, "limit exceeded\n", headers))

    def fail_next(self, n: int, status: int, error_id: str = "app.fake.failure.app_error") -> None:
        """Answer the next `n` calls `status` with Mattermost's JSON error."""
        with self.lock:
            self._failures.append(_Failure(n, status, _error(status, error_id, "We encountered an error."), {}))

    def transcript(self) -> list[str]:
        """What tocsin asked and what the fake did, one readable line per request, in order."""
        with self.lock:
            return [f"{r.method} {r.path} -> {r.status}" + (f": {r.did}" if r.did else "") for r in self.received]

    # -- answering ---------------------------------------------------------------------------

    def _next_failure(self) -> _Failure | None:
        with self.lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.popleft()
            return failure

    def answer(self, method: str, path: str, authorization: str | None,
               payload: Any) -> tuple[int, Any, dict[str, str], str]:
        """Return (status, body, headers, what it did) for one call."""
        failure = self._next_failure()
        if failure is not None:
            return failure.status, failure.body, failure.headers, "refused (knob)"
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return 401, _error(401, "api.context.session_expired.app_error",
                               "Invalid or expired session, please login again."), {}, "no valid token"
        if not path.startswith("/api/v4/"):
            return 404, _error(404, "api.context.404.app_error", "Sorry, we could not find the page."), {}, ""
        parts = [unquote(p) for p in path.removeprefix("/api/v4/").split("/")]
        try:
            with self.lock:
                status, body, did = self._route(method, parts, payload)
        except MMError as exc:
            return exc.status, _error(exc.status, exc.error_id, exc.message), {}, exc.error_id
        return status, body, {}, did

    def _route(self, method: str, parts: list[str], payload: Any) -> tuple[int, Any, str]:  # noqa: C901
        body = payload if isinstance(payload, dict) else {}
        match method, parts:
            case "POST", ["channels"]:
                return self._create_channel(body)
            case "POST", ["channels", "direct"]:
                return self._direct(payload)
            case "PUT", ["channels", cid, "patch"]:
                return self._patch(self._channel(cid, live=True), body)
            case "POST", ["channels", cid, "members"]:
                return self._members(self._channel(cid, live=True), body)
            case "GET", ["channels", cid, "members", uid]:
                channel = self._channel(cid)
                if uid not in channel.members:
                    raise MMError(404, "app.channel.get_member.missing.app_error", "No channel member found.")
                return 200, {"channel_id": cid, "user_id": uid, "roles": "channel_user"}, \
                    f"checked @{self._user(uid).username} in ~{channel.name}"
            case "DELETE", ["channels", cid]:
                channel = self._channel(cid)
                if channel.delete_at:
                    raise MMError(400, "api.channel.delete_channel.deleted.app_error", "The channel is archived.")
                channel.delete_at = self._now()
                return 200, {"status": "OK"}, f"archived ~{channel.name}"
            case "POST", ["posts"]:
                return self._post(body)
            case "POST", ["posts", "ephemeral"]:
                post = body.get("post") if isinstance(body.get("post"), dict) else {}
                channel = self._channel(str(post.get("channel_id")), live=True)
                user = self._user(str(body.get("user_id")))
                self.ephemerals.append({"user_id": user.id, "channel_id": channel.id, "message": post.get("message")})
                return 201, {"id": self.new_id("p"), "channel_id": channel.id, "message": post.get("message")}, \
                    f"ephemeral to @{user.username} in ~{channel.name}: {_line(post.get('message'))}"
            case "POST", ["posts", pid, "pin"]:
                found = self._post_by_id(pid)
                found.is_pinned = True
                return 200, {"status": "OK"}, f"pinned {_line(found.message)}"
            case "GET", ["posts", pid]:
                found = self._post_by_id(pid)
                return 200, found.json(), "read a post"
            case "GET", ["users", "me"]:
                return 200, self._user_json(self.users[BOT_ID]), "read the bot"
            case "GET", ["users", "email", email]:
                user = next((u for u in self.users.values() if u.email and u.email == email.lower()), None)
                if user is None:
                    raise MMError(404, "app.user.missing_account.const", "Unable to find the user.")
                return 200, self._user_json(user), f"found @{user.username} by email"
            case "GET", ["users", "username", name]:
                user = next((u for u in self.users.values() if u.username == name), None)
                if user is None:
                    raise MMError(404, "app.user.missing_account.const", "Unable to find the user.")
                return 200, self._user_json(user), f"found @{user.username}"
            case "GET", ["users", uid]:
                user = self._user(uid)
                return 200, self._user_json(user), f"read @{user.username}"
        raise MMError(404, "api.context.404.app_error", "Sorry, we could not find the page.")

    def _now(self) -> int:
        return FIRST_MS + 1000 * next(self._clock)

    def _channel(self, cid: str, *, live: bool = False) -> FakeChannel:
        channel = self.channels.get(cid)
        if channel is None:
            raise MMError(404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
        if live and channel.delete_at:
            raise MMError(400, "api.channel.update_channel.deleted.app_error", "The channel has been archived.")
        return channel

    def _user(self, uid: str) -> FakeUser:
        user = self.users.get(uid)
        if user is None:
            raise MMError(404, "app.user.missing_account.const", "Unable to find the user.")
        return user

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        found = {"id": user.id, "username": user.username, "email": "" if self.hide_emails else user.email,
                 "is_bot": user.id == BOT_ID, "delete_at": 0}
        return {**found, "email_verified": True} if user.email_verified else found

    def _post_by_id(self, pid: str) -> FakePost:
        found = self.posts.get(pid)
        if found is None:
            raise MMError(404, "app.post.get.app_error", "Unable to get the post.")
        return found

    def _create_channel(self, body: dict[str, Any]) -> tuple[int, Any, str]:
        name, display, kind = str(body.get("name") or ""), str(body.get("display_name") or ""), body.get("type")
        if body.get("team_id") != self.team_id:
            raise MMError(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        if not (1 <= len(name) <= 64 and _NAME.match(name)):
            raise MMError(400, "model.channel.is_valid.2_or_more.app_error", "Name must be 2 or more lowercase "
                                                                             "alphanumeric characters.")
        if not display or len(display) > 64:
            raise MMError(400, "model.channel.is_valid.display_name.app_error", "Invalid display name.")
        if kind not in ("O", "P"):
            raise MMError(400, "model.channel.is_valid.type.app_error", "Invalid type.")
        if any(c.name == name and c.team_id == self.team_id for c in self.channels.values()):
            raise MMError(400, "store.sql_channel.save_channel.exists.app_error",
                          "A channel with that name already exists on the same team.")
        cid = self.new_id("c")
        channel = FakeChannel(cid, self.team_id, name, display, kind, members={BOT_ID})
        self.channels[cid] = channel
        return 201, channel.json(), f"created {'private' if kind == 'P' else 'public'} channel ~{name}"

    def _patch(self, channel: FakeChannel, body: dict[str, Any]) -> tuple[int, Any, str]:
        header, purpose = body.get("header"), body.get("purpose")
        if header is not None and len(str(header)) > 1024:
            raise MMError(400, "model.channel.is_valid.header.app_error", "Invalid header.")
        if purpose is not None and len(str(purpose)) > 250:
            raise MMError(400, "model.channel.is_valid.purpose.app_error", "Invalid purpose.")
        if header is not None:
            channel.header = str(header)
        if purpose is not None:
            channel.purpose = str(purpose)
        return 200, channel.json(), f"~{channel.name} header: {_line(channel.header)}"

    def _members(self, channel: FakeChannel, body: dict[str, Any]) -> tuple[int, Any, str]:
        ids = body.get("user_ids") or ([body["user_id"]] if body.get("user_id") else [])
        if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
            raise MMError(400, "api.channel.add_members.user_ids.app_error", "Invalid user_ids.")
        users = [self._user(str(u)) for u in ids]
        channel.members |= {u.id for u in users}
        return 201, [{"channel_id": channel.id, "user_id": u.id} for u in users], \
            f"added {', '.join('@' + u.username for u in users)} to ~{channel.name}"

    def _direct(self, payload: Any) -> tuple[int, Any, str]:
        if not (isinstance(payload, list) and len(payload) == 2):
            raise MMError(400, "api.context.invalid_body_param.app_error", "Invalid or missing user ids.")
        users = sorted({self._user(str(u)).id for u in payload})
        name = "__".join(users if len(users) == 2 else users * 2)
        existing = next((c for c in self.channels.values() if c.name == name and c.type == "D"), None)
        if existing is not None:
            return 200, existing.json(), "direct channel (existing)"
        cid = self.new_id("d")
        channel = FakeChannel(cid, "", name, "", "D", members=set(users))
        self.channels[cid] = channel
        other = next((self.users[u].username for u in users if u != BOT_ID), "tocsin-bot")
        return 201, channel.json(), f"opened a direct channel with @{other}"

    def _post(self, body: dict[str, Any]) -> tuple[int, Any, str]:
        channel = self._channel(str(body.get("channel_id")))
        if channel.delete_at:
            raise MMError(400, "api.post.create_post.can_not_post_to_deleted.error",
                          "Can not post to deleted channel.")
        if channel.type != "O" and BOT_ID not in channel.members:
            raise MMError(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        message, props = str(body.get("message") or ""), body.get("props") or {}
        if len(message) > 16383:
            raise MMError(400, "model.post.is_valid.msg.app_error", "Invalid message.")
        if not message and not props.get("attachments"):
            raise MMError(400, "api.post.create_post.empty.app_error", "Empty post.")
        post = FakePost(self.new_id("p"), channel.id, BOT_ID, message, props, self._now())
        self.posts[post.id] = post
        buttons = [a.get("name") for a in post.actions]
        where = f"~{channel.name}" if channel.type != "D" else "a direct message"
        return 201, post.json(), f"post in {where}: {_line(message)}" + (
            f" [buttons: {', '.join(map(str, buttons))}]" if buttons else "")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join()
        self.server_close()


def _error(status: int, error_id: str, message: str) -> dict[str, Any]:
    return {"id": error_id, "message": message, "detailed_error": "", "request_id": "fakerequest0000000000000000",
            "status_code": status, "is_oauth": False}


def _line(text: Any, limit: int = 80) -> str:
    first = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


# -- what Mattermost sends to tocsin --------------------------------------------------------------


def slash_command(text: str = "", *, command: str = "/incident", token: str = COMMAND_TOKEN,
                  channel_id: str = "cfake000000000000000000000", channel_name: str = "town-square",
                  user_id: str = "ufake000000000000000000000", user_name: str = "alice",
                  team_id: str = TEAM_ID, team_domain: str = TEAM_DOMAIN,
                  response_url: str = "http://mm.test/hooks/commands/cmdfake00000000000000000000",
                  trigger_id: str = "trigger-fake") -> tuple[bytes, dict[str, str]]:
    """The form body and headers of a slash command as Mattermost POSTs it (reference §2.1)."""
    fields = {"channel_id": channel_id, "channel_name": channel_name, "command": command,
              "response_url": response_url, "team_domain": team_domain, "team_id": team_id, "text": text,
              "token": token, "trigger_id": trigger_id, "user_id": user_id, "user_name": user_name}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
               "Authorization": f"Token {token}"}
    return urlencode(fields).encode(), headers


def action_request(context: dict[str, Any], *, user_id: str = "ufake000000000000000000000",
                   user_name: str = "alice", channel_id: str = "cfake000000000000000000000",
                   channel_name: str = "town-square", post_id: str = "pfake000000000000000000000",
                   team_id: str = TEAM_ID, team_domain: str = TEAM_DOMAIN,
                   trigger_id: str = "trigger-fake") -> dict[str, Any]:
    """The JSON Mattermost POSTs to a button's integration.url (PostActionIntegrationRequest, §2.3)."""
    return {"user_id": user_id, "user_name": user_name, "channel_id": channel_id, "channel_name": channel_name,
            "team_id": team_id, "team_domain": team_domain, "post_id": post_id, "trigger_id": trigger_id,
            "type": "", "data_source": "", "context": context}


OUTGOING_TOKEN = "mmout-fake-token-fedcba987654"


def outgoing_webhook(text: str, *, post_id: str, user_id: str, user_name: str = "alice",
                     channel_id: str = "cfake000000000000000000000", channel_name: str = "town-square",
                     create_at_ms: int = FIRST_MS, as_json: bool = True, token: str = OUTGOING_TOKEN,
                     team_id: str = TEAM_ID, team_domain: str = TEAM_DOMAIN) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an outgoing webhook as Mattermost POSTs it (reference §2.2): JSON with
    `timestamp` in milliseconds (the post's create_at), or form-encoded with it in seconds."""
    first = text.split(maxsplit=1)[0] if text.split() else ""
    fields: dict[str, Any] = {"token": token, "team_id": team_id, "team_domain": team_domain,
                              "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id,
                              "user_name": user_name, "post_id": post_id, "text": text, "trigger_word": first,
                              "file_ids": ""}
    if as_json:
        fields["timestamp"] = create_at_ms
        return json.dumps(fields).encode(), {"Content-Type": "application/json", "Accept": "application/json"}
    fields["timestamp"] = create_at_ms // 1000
    return urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                        "Accept": "application/json"}
