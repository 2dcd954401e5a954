"""The workspace behind the fake Slack (tests/harness/slack.py): users, channels, messages, modals.

`Workspace.call(method, payload)` answers one Web API method the way Slack does (HTTP 200,
`{"ok": true, ...}` or `{"ok": false, "error": code}`), enforcing the rules chat-ops can trip
over: channel names (lowercase letters, digits, `-`, `_`, at most 80 characters: else
`invalid_name_required`, `invalid_name_maxlength`, `invalid_name_specials`,
`invalid_name_punctuation`), `name_taken` (archived channels keep their names), `is_archived`
for changes to an archived channel, topics of at most 250 characters (`too_long`), at most 100
users an invite (`too_many_users`), `already_in_channel`, `cant_invite_self`, `user_not_found`,
`already_archived`, `not_archived`, `already_reacted`, http(s) bookmark links (`invalid_link`, `too_many_bookmarks` past 100),
`users_not_found`, one use of each trigger_id (`exchanged_trigger_id`), modal titles of at most
24 characters. Successful calls add a line to the transcript (`note`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

TEAM = "T0FAKE001"
BOT_USER = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"
FIRST_TS = "1700000000.000100"
CREATED = 1700000000

_SECTION_CHARS = 3000
_TEXT_CHARS = 40000
_NAME_CHARS = 80
_TOPIC_CHARS = 250
_INVITE_MAX = 100
_BOOKMARKS_MAX = 100
_VIEW_TEXT_CHARS = 24  # a modal's title, submit and close labels
_NAME = re.compile(r"^[a-z0-9_-]+$")

Answer = tuple[int, dict[str, Any]]


@dataclass
class User:
    id: str
    name: str
    email: str | None = None
    is_bot: bool = False
    team_id: str = TEAM  # another team's: a Slack Connect member of a shared channel
    email_confirmed: bool = True
    deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        profile: dict[str, Any] = {"real_name": self.name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        found = {"id": self.id, "team_id": self.team_id, "name": self.name.lower().replace(" ", "."),
                 "real_name": self.name, "deleted": self.deleted, "is_bot": self.is_bot,
                 "is_email_confirmed": self.email_confirmed, "profile": profile}
        return {**found, "is_stranger": True} if self.team_id != TEAM else found


@dataclass
class Message:
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    edited: bool = False
    replies: int = 0
    reactions: dict[str, list[str]] = field(default_factory=dict)  # emoji name -> users, in order

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts, "team": TEAM}
        if self.user == BOT_USER:
            data.update(subtype="bot_message", bot_id=BOT_ID)
        if self.blocks:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.replies:
            data.update(thread_ts=self.ts, reply_count=self.replies)
        if self.edited:
            data["edited"] = {"user": BOT_USER, "ts": self.ts}
        if self.reactions:
            data["reactions"] = [{"name": name, "users": users, "count": len(users)}
                                 for name, users in self.reactions.items()]
        return data


@dataclass
class Ephemeral:
    ts: str
    user: str  # who sees it
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Bookmark:
    id: str
    title: str
    link: str


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    topic: str = ""
    members: list[str] = field(default_factory=list)
    archived: bool = False
    everyone: bool = False  # a channel the fake was started with: every user counts as a member
    bookmarks: list[Bookmark] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    ephemerals: list[Ephemeral] = field(default_factory=list)

    def has_member(self, user: str) -> bool:
        return self.everyone or user in self.members

    def message(self, ts: str) -> Message | None:
        return next((m for m in self.messages if m.ts == ts), None)

    @property
    def texts(self) -> list[str]:
        """The text of every message posted, oldest first (replies included)."""
        return [m.text for m in self.messages]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_normalized": self.name, "is_channel": True,
                "is_group": False, "is_im": False, "is_private": self.is_private, "is_archived": self.archived,
                "is_general": False, "created": CREATED, "creator": BOT_USER, "is_member": BOT_USER in self.members,
                "topic": {"value": self.topic, "creator": BOT_USER if self.topic else "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0}, "num_members": len(self.members)}


def refuse(error: str, *messages: str) -> Answer:
    body: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        body["response_metadata"] = {"messages": list(messages)}
    return 200, body


def name_problem(name: str) -> str | None:
    """Slack's complaint about a channel name, or None."""
    if not name:
        return "invalid_name_required"
    if len(name) > _NAME_CHARS:
        return "invalid_name_maxlength"
    if not _NAME.match(name):
        return "invalid_name_specials"
    if not name.strip("-_"):
        return "invalid_name_punctuation"
    return None


def _ts_key(ts: Any) -> Decimal | None:
    try:
        return Decimal(str(ts))
    except (InvalidOperation, ValueError):
        return None


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _quote(text: str, limit: int = 80) -> str:
    text = " / ".join(line.strip() for line in (text or "").splitlines() if line.strip())
    return '"' + (text if len(text) <= limit else text[: limit - 1] + "…") + '"'


class Workspace:
    """One Slack workspace: users, channels and what happened in them. Not thread-safe: the fake
    calls it under its lock."""

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self.users: dict[str, User] = {BOT_USER: User(BOT_USER, "tocsin", None, is_bot=True)}
        self.channels: dict[str, Channel] = {}
        self.views: list[dict[str, Any]] = []  # {"id", "trigger_id", "view"}: every modal opened
        self.expired_triggers: set[str] = set()
        self.refusals: dict[str, list[str]] = {}  # method -> error codes to answer next, in order
        self._used_triggers: set[str] = set()
        self._counts: dict[str, int] = {}
        self._posted = 0
        # where message timestamps come from: a count up from FIRST_TS, or the test's clock (seconds since
        # the epoch) once a test sets it, so a captured message carries the time the scenario is at
        self.now: Callable[[], float] | None = None

    # -- seeding (tests) -----------------------------------------------------------------------

    def next_id(self, prefix: str, start: int = 1) -> str:
        self._counts[prefix] = self._counts.get(prefix, start - 1) + 1
        return f"{prefix}{self._counts[prefix]:04d}"

    def next_ts(self) -> str:
        seconds, micros = FIRST_TS.split(".")
        if self.now is not None:
            seconds = str(int(self.now()))
        ts = f"{seconds}.{int(micros) + self._posted:06d}"
        self._posted += 1
        return ts

    def add_user(self, email: str | None, name: str) -> str:
        user_id = self.next_id("U")
        self.users[user_id] = User(user_id, name, email or None)
        return user_id

    def add_channel(self, name: str, *, private: bool = False, members: tuple[str, ...] = (),
                    channel_id: str | None = None, everyone: bool = False) -> Channel:
        channel = Channel(channel_id or self.next_id("C", start=2), name, private,
                          members=[BOT_USER, *members], everyone=everyone)
        self.channels[channel.id] = channel
        return channel

    def add_message(self, channel: str, text: str, *, user: str, thread_ts: str | None = None,
                    blocks: list[dict[str, Any]] | None = None) -> Message:
        """A message as if `user` had written it (for reactions, shortcuts, pins to point at)."""
        where = self.channels[channel]
        message = Message(self.next_ts(), user, text, list(blocks or []), thread_ts)
        where.messages.append(message)
        parent = where.message(thread_ts) if thread_ts else None
        if parent is not None:
            parent.replies += 1
        return message

    def label(self, channel: Any) -> str:
        found = self.channels.get(str(channel or ""))
        return f"#{found.name}" if found else str(channel or "?")

    # -- the Web API ---------------------------------------------------------------------------

    def handles(self, method: str) -> bool:
        return method in _METHODS

    def call(self, method: str, payload: dict[str, Any]) -> Answer:
        queued = self.refusals.get(method)
        if queued:
            return refuse(queued.pop(0))
        return _METHODS[method](self, payload)

    def _channel(self, payload: dict[str, Any], key: str = "channel") -> Channel | None:
        return self.channels.get(str(payload.get(key) or ""))

    def conversations_create(self, p: dict[str, Any]) -> Answer:
        name, private = str(p.get("name") or ""), _flag(p.get("is_private"))
        problem = name_problem(name)
        if problem:
            return refuse(problem)
        if any(c.name == name for c in self.channels.values()):
            return refuse("name_taken")
        channel = self.add_channel(name, private=private)
        self.note(f"conversations.create {name} -> {channel.id} ({'private' if private else 'public'})")
        return 200, {"ok": True, "channel": channel.as_json()}

    def conversations_set_topic(self, p: dict[str, Any]) -> Answer:
        channel, topic = self._channel(p), str(p.get("topic") or "")
        if channel is None:
            return refuse("channel_not_found")
        if channel.archived:
            return refuse("is_archived")
        if len(topic) > _TOPIC_CHARS:
            return refuse("too_long")
        channel.topic = topic
        self.note(f"conversations.setTopic #{channel.name}: {_quote(topic)}")
        return 200, {"ok": True, "channel": channel.as_json()}

    def conversations_invite(self, p: dict[str, Any]) -> Answer:
        channel = self._channel(p)
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if channel is None:
            return refuse("channel_not_found")
        if channel.archived:
            return refuse("is_archived")
        if not users:
            return refuse("no_user")
        if len(users) > _INVITE_MAX:
            return refuse("too_many_users")
        errors, added = [], []
        for user in dict.fromkeys(users):
            error = ("user_not_found" if user not in self.users else "cant_invite_self" if user == BOT_USER
                     else "already_in_channel" if user in channel.members else None)
            if error:
                errors.append({"user": user, "ok": False, "error": error})
            else:
                added.append(user)
        if errors and (not _flag(p.get("force")) or not added):
            return 200, {"ok": False, "error": errors[0]["error"], "errors": errors}
        channel.members.extend(added)
        self.note(f"conversations.invite #{channel.name}: {', '.join(f'{self.users[u].name} ({u})' for u in added)}")
        body: dict[str, Any] = {"ok": True, "channel": channel.as_json()}
        if errors:
            body["errors"] = errors
        return 200, body

    def conversations_archive(self, p: dict[str, Any]) -> Answer:
        channel = self._channel(p)
        if channel is None:
            return refuse("channel_not_found")
        if channel.archived:
            return refuse("already_archived")
        channel.archived = True
        self.note(f"conversations.archive #{channel.name}")
        return 200, {"ok": True}

    def conversations_unarchive(self, p: dict[str, Any]) -> Answer:
        channel = self._channel(p)
        if channel is None:
            return refuse("channel_not_found")
        if not channel.archived:
            return refuse("not_archived")
        channel.archived = False
        self.note(f"conversations.unarchive #{channel.name}")
        return 200, {"ok": True}

    def reactions_add(self, p: dict[str, Any]) -> Answer:
        channel, name = self._channel(p), str(p.get("name") or "").strip(":")
        if channel is None:
            return refuse("channel_not_found")
        message = channel.message(str(p.get("timestamp") or ""))
        if message is None:
            return refuse("message_not_found")
        if not re.match(r"^[a-z0-9_+'-]{1,100}$", name):
            return refuse("invalid_name")
        if channel.archived:
            return refuse("is_archived")
        users = message.reactions.setdefault(name, [])
        if BOT_USER in users:
            return refuse("already_reacted")
        users.append(BOT_USER)
        self.note(f"reactions.add #{channel.name} {message.ts} :{name}:")
        return 200, {"ok": True}

    def conversations_history(self, p: dict[str, Any]) -> Answer:
        channel = self._channel(p)
        if channel is None:
            return refuse("channel_not_found")
        top = [m for m in channel.messages if m.thread_ts is None or m.thread_ts == m.ts]
        found = sorted(_window(top, p), key=lambda m: _ts_key(m.ts) or 0, reverse=True)
        limit = _limit(p)
        return 200, {"ok": True, "messages": [m.as_json() for m in found[:limit]], "has_more": len(found) > limit,
                     "pin_count": 0}

    def conversations_replies(self, p: dict[str, Any]) -> Answer:
        channel = self._channel(p)
        if channel is None:
            return refuse("channel_not_found")
        message = channel.message(str(p.get("ts") or ""))
        if message is None:
            return refuse("thread_not_found")
        root_ts = message.thread_ts or message.ts
        root = channel.message(root_ts) or message
        replies = [m for m in channel.messages if m.thread_ts == root_ts and m.ts != root_ts]
        found = [root, *sorted(_window(replies, p), key=lambda m: _ts_key(m.ts) or 0)]  # the parent always first
        limit = _limit(p)
        return 200, {"ok": True, "messages": [m.as_json() for m in found[:limit]], "has_more": len(found) > limit}

    def bookmarks_add(self, p: dict[str, Any]) -> Answer:
        channel, title, link = self._channel(p, "channel_id"), str(p.get("title") or ""), str(p.get("link") or "")
        if channel is None:
            return refuse("channel_not_found")
        if channel.archived:
            return refuse("is_archived")
        if p.get("type") != "link":
            return refuse("invalid_bookmark_type")
        if not title:
            return refuse("invalid_arguments", "[ERROR] missing required field: title")
        if not link.lower().startswith(("http://", "https://")):
            return refuse("invalid_link")
        if len(channel.bookmarks) >= _BOOKMARKS_MAX:
            return refuse("too_many_bookmarks")
        bookmark = Bookmark(self.next_id("Bk"), title, link)
        channel.bookmarks.append(bookmark)
        self.note(f"bookmarks.add #{channel.name}: {title} <{link}>")
        return 200, {"ok": True, "bookmark": {"id": bookmark.id, "channel_id": channel.id, "title": title,
                                              "link": link, "type": "link", "date_created": CREATED}}

    def chat_post_message(self, p: dict[str, Any]) -> Answer:
        channel, text, blocks = self._channel(p), p.get("text"), p.get("blocks")
        if channel is None:
            return refuse("channel_not_found")
        problem = _message_problem(text, blocks)
        if problem:
            return problem
        if channel.archived:
            return refuse("is_archived")
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        message = self.add_message(channel.id, text or "", user=BOT_USER, thread_ts=thread_ts, blocks=blocks)
        self.note(f"chat.postMessage #{channel.name}{' (thread)' if thread_ts else ''}: {_quote(message.text)}")
        data = message.as_json()
        return 200, {"ok": True, "channel": channel.id, "ts": message.ts, "message": data}

    def chat_post_ephemeral(self, p: dict[str, Any]) -> Answer:
        channel, user, text, blocks = self._channel(p), str(p.get("user") or ""), p.get("text"), p.get("blocks")
        if channel is None:
            return refuse("channel_not_found")
        if user not in self.users:
            return refuse("user_not_found")
        if not channel.has_member(user):
            return refuse("user_not_in_channel")
        problem = _message_problem(text, blocks)
        if problem:
            return problem
        if channel.archived:
            return refuse("is_archived")
        ephemeral = Ephemeral(self.next_ts(), user, text or "", list(blocks or []))
        channel.ephemerals.append(ephemeral)
        self.note(f"chat.postEphemeral #{channel.name} to {user}: {_quote(ephemeral.text)}")
        return 200, {"ok": True, "message_ts": ephemeral.ts}

    def chat_update(self, p: dict[str, Any]) -> Answer:
        channel, text, blocks = self._channel(p), p.get("text"), p.get("blocks")
        if channel is None:
            return refuse("channel_not_found")
        message = channel.message(str(p.get("ts") or ""))
        if message is None:
            return refuse("message_not_found")
        if message.user != BOT_USER:
            return refuse("cant_update_message")
        if channel.archived:
            return refuse("is_archived")
        problem = _message_problem(text, blocks) if text or blocks else None
        if problem:
            return problem
        if text is not None:
            message.text = str(text)
        if blocks is not None:
            message.blocks = list(blocks)
        message.edited = True
        self.note(f"chat.update #{channel.name} {message.ts}: {_quote(message.text)}")
        return 200, {"ok": True, "channel": channel.id, "ts": message.ts, "text": message.text,
                     "message": message.as_json()}

    def users_lookup_by_email(self, p: dict[str, Any]) -> Answer:
        email = str(p.get("email") or "").strip().lower()
        user = next((u for u in self.users.values() if u.email and u.email.lower() == email), None)
        if user is None:
            return refuse("users_not_found")
        return 200, {"ok": True, "user": user.as_json()}

    def users_info(self, p: dict[str, Any]) -> Answer:
        user = self.users.get(str(p.get("user") or ""))
        if user is None:
            return refuse("user_not_found")
        return 200, {"ok": True, "user": user.as_json()}

    def views_open(self, p: dict[str, Any]) -> Answer:
        trigger, view = str(p.get("trigger_id") or ""), p.get("view")
        if not trigger or not re.match(r"^[0-9A-Za-z._-]{1,200}$", trigger):
            return refuse("invalid_trigger_id")
        if trigger in self.expired_triggers:
            return refuse("expired_trigger_id")
        if trigger in self._used_triggers:
            return refuse("exchanged_trigger_id")
        problem = _view_problem(view)
        if problem:
            return refuse("invalid_arguments", problem)
        assert isinstance(view, dict)
        self._used_triggers.add(trigger)
        view_id = self.next_id("V")
        self.views.append({"id": view_id, "trigger_id": trigger, "view": view})
        self.note(f"views.open {view.get('callback_id') or '-'}: {_quote(view['title']['text'])}")
        opened = {**view, "id": view_id, "team_id": TEAM, "state": {"values": {}}, "hash": f"{CREATED}.{view_id}",
                  "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", "")}
        return 200, {"ok": True, "view": opened}


_METHODS: dict[str, Callable[[Workspace, dict[str, Any]], Answer]] = {
    "conversations.create": Workspace.conversations_create,
    "conversations.setTopic": Workspace.conversations_set_topic,
    "conversations.invite": Workspace.conversations_invite,
    "conversations.archive": Workspace.conversations_archive,
    "conversations.unarchive": Workspace.conversations_unarchive,
    "conversations.history": Workspace.conversations_history,
    "conversations.replies": Workspace.conversations_replies,
    "bookmarks.add": Workspace.bookmarks_add,
    "chat.postMessage": Workspace.chat_post_message,
    "chat.postEphemeral": Workspace.chat_post_ephemeral,
    "chat.update": Workspace.chat_update,
    "reactions.add": Workspace.reactions_add,
    "users.lookupByEmail": Workspace.users_lookup_by_email,
    "users.info": Workspace.users_info,
    "views.open": Workspace.views_open,
}


def _window(messages: list[Message], p: dict[str, Any]) -> list[Message]:
    """The messages between `oldest` and `latest` (exclusive unless `inclusive`)."""
    latest, oldest, inclusive = _ts_key(p.get("latest")), _ts_key(p.get("oldest")), _flag(p.get("inclusive"))
    kept = []
    for message in messages:
        ts = _ts_key(message.ts) or Decimal(0)
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        kept.append(message)
    return kept


def _limit(p: dict[str, Any]) -> int:
    try:
        return max(1, min(int(p.get("limit") or 100), 999))
    except ValueError:
        return 100


def _message_problem(text: Any, blocks: Any) -> Answer | None:
    if not text and not blocks:
        return refuse("no_text")
    if text and len(str(text)) > _TEXT_CHARS:
        return refuse("msg_too_long")
    problem = block_problem(blocks)
    return refuse("invalid_blocks", problem) if problem else None


def block_problem(blocks: Any) -> str | None:
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


def _view_problem(view: Any) -> str | None:
    """Slack's complaint about a modal (a few of its rules), or None."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        return "[ERROR] must be a modal view [json-pointer:/view/type]"
    for key in ("title", "submit", "close"):
        label = view.get(key)
        if label is None and key != "title":
            continue
        if not isinstance(label, dict) or label.get("type") != "plain_text" or not label.get("text"):
            return f"[ERROR] must be a plain_text object [json-pointer:/view/{key}]"
        if len(label["text"]) > _VIEW_TEXT_CHARS:
            return f"[ERROR] must be less than {_VIEW_TEXT_CHARS + 1} characters [json-pointer:/view/{key}/text]"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > 100:
        return "[ERROR] must be an array of at most 100 blocks [json-pointer:/view/blocks]"
    if any(b.get("type") == "input" for b in blocks if isinstance(b, dict)) and "submit" not in view:
        return "[ERROR] a view with input blocks needs a submit button [json-pointer:/view/submit]"
    if len(str(view.get("private_metadata") or "")) > 3000:
        return "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
    return block_problem([b for b in blocks if isinstance(b, dict) and b.get("type") != "input"])
