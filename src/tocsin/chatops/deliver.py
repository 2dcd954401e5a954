"""Send the chat outbox (engine job `chat_deliver`) on the one delivery machinery (tocsin/delivery.py).

A claim takes at most one row per channel, each channel's oldest unsettled row, and none of a channel
sent to within the last second (chatops/outbox.py), so Slack's one-message-per-second-per-channel
limit holds and a channel's calls land in the order they were written. Each row is shaped into a
`Send` in the claim: the need-to-know checks happen there, against the incident as it is now (a post
for a public channel of an incident that became restricted is dropped; a `create` of an incident
restricted while it waited loses its title and becomes private; nothing of a restricted incident
goes to Teams).

Results: delivered -> sent (a `create` stores the channel id and name, and `follow.channel_ready`
queues its topic, bookmarks, invites and first post). `name_taken` -> the next names are tried at
once (`-2`, `-3`, ...). Rate limited (429 with Retry-After) -> the row waits Retry-After and keeps
its place (the channel waits behind it; other channels go on), and the attempt is not counted.
Other retryable failures (5xx, network) -> the machinery's backoff, up to MAX_ATTEMPTS. Permanent
-> failed with the reason; a failed `create` marks the channel failed, and a call refused because
the channel was archived or deleted on the platform (by hand) marks the channel archived: nothing
more is queued for it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.chatops import compose
from tocsin.chatops import outbox as queue
from tocsin.chatops.clients import TEAMS, client_for, enabled
from tocsin.chatops.follow import channel_ready
from tocsin.chatops.models import ChatChannel, ChatOutbox
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.delivery import Claim, Outbox
from tocsin.delivery import run as _run
from tocsin.incidents.models import Incident
from tocsin.jobs import JobContext, dispatcher
from tocsin.notify.chat_types import ChatClient, ChatResult
from tocsin.notify.teams import incident_card, post_card
from tocsin.notify.types import Outcome, Result

log = logging.getLogger("tocsin.chatops.deliver")

BATCH = 50  # channels per claim
MAX_ATTEMPTS = 12  # 5xx and network failures back off up to 15 min: about two hours before a row gives up
NAME_TRIES = 9  # name, name-2, ... name-9
CLIENTS = "chat_clients"  # in ec.shared: the clients, kept across runs
GONE = frozenset({"is_archived", "channel_not_found"})  # the channel is no longer there to post to


@dataclass
class Send:
    """One claimed call. `result` is set by the sender (read back when the result is recorded)."""

    id: uuid.UUID
    platform: str
    kind: str  # a ChatOutbox kind, or drop (nothing to send: `detail` says why)
    channel: str | None
    payload: dict[str, Any]
    detail: str = ""
    result: ChatResult | None = field(default=None, compare=False)


def _shape(row: ChatOutbox, ch: ChatChannel | None, incident: Incident | None, settings: Settings) -> Send:
    def drop(why: str) -> Send:
        return Send(row.id, row.platform, "drop", None, {}, detail=f"not sent: {why}")

    payload = dict(row.payload or {})
    if row.platform == TEAMS:
        if not settings.teams_webhook_url:
            return drop("Teams is no longer configured")
        if incident is None or incident.restricted:
            return drop("the incident is restricted")  # nothing of a restricted incident reaches Teams
        return Send(row.id, row.platform, row.kind, None, payload)
    if ch is None or incident is None:
        return drop("the channel is gone")
    if row.kind == "create":
        if ch.state != "pending":
            return drop("the channel was already created")
        if incident.restricted and not ch.private:  # restricted while the create waited: private, no title
            ch.private = True
            ch.name = compose.channel_name(settings.chat_channel_pattern, number=incident.number, title="",
                                           severity=incident.severity, date=incident.declared_at, restricted=True,
                                           limit=compose.NAME_LIMITS.get(row.platform, compose.SLACK_NAME),
                                           drill=incident.drill)
            payload = {"name": ch.name, "private": True}
        return Send(row.id, row.platform, "create", None, payload)
    if ch.channel_id is None or ch.state == "failed":
        return drop("the channel was never created")
    if row.kind in ("post", "bookmark", "ephemeral", "invite") and (ch.muted or (incident.restricted and not ch.private)):
        return drop("the incident is restricted and the channel is public")
    return Send(row.id, row.platform, row.kind, ch.channel_id, payload)


def _outcome(result: ChatResult) -> Result:
    return Result(result.outcome, result.detail)


def _create(client: ChatClient, send: Send) -> ChatResult:
    name, private = str(send.payload.get("name", "")), bool(send.payload.get("private"))
    limit = compose.NAME_LIMITS.get(send.platform, compose.SLACK_NAME)
    got = client.create_channel(name, private=private)
    for n in range(2, NAME_TRIES + 1):
        if got.error != "name_taken":
            break
        got = client.create_channel(compose.with_suffix(name, n, limit), private=private)
    return got


def _invite(client: ChatClient, send: Send) -> ChatResult:
    assert send.channel is not None
    users = [str(u) for u in send.payload.get("users", [])]
    for email in send.payload.get("emails", []):
        found = client.lookup_by_email(str(email))
        if found.ok and found.data.get("user_id"):
            users.append(str(found.data["user_id"]))
        elif found.outcome is Outcome.retryable:
            return found  # the whole invite again later (users already in answer already_in_channel)
    if not users:
        return ChatResult(Outcome.delivered, "nobody to invite has a chat account")
    got = client.invite(send.channel, sorted(set(users)))
    if got.error == "already_in_channel":
        return ChatResult(Outcome.delivered, "already in the channel")
    return got


def send_one(send: Send, client: ChatClient | None, http: httpx.Client | None,
             settings: Settings) -> ChatResult:
    """Make the call `send` stands for; never raises for the platform's failure."""
    if send.kind == "drop":
        return ChatResult(Outcome.permanent, send.detail or "not sent")
    p = send.payload
    if send.platform == TEAMS:
        if http is None or not settings.teams_webhook_url:
            return ChatResult(Outcome.permanent, "Teams is not configured")
        card = incident_card(str(p.get("ref", "")), str(p.get("title", "")), str(p.get("severity", "")),
                             str(p.get("status", "")), str(p.get("text", "")), p.get("url"))
        return post_card(http, settings.teams_webhook_url, card)
    if client is None:
        return ChatResult(Outcome.retryable, f"{send.platform} is not configured")
    if send.kind == "create":
        return _create(client, send)
    channel = send.channel or ""
    if send.kind == "topic":
        return client.set_topic(channel, str(p.get("topic", "")))
    if send.kind == "bookmark":
        return client.add_bookmark(channel, str(p.get("title", "")), str(p.get("link", "")))
    if send.kind == "invite":
        return _invite(client, send)
    if send.kind == "post":
        return client.post(channel, str(p.get("text", "")))
    if send.kind == "ephemeral":
        return client.post_ephemeral(channel, str(p.get("user", "")), str(p.get("text", "")))
    if send.kind == "archive":
        got = client.archive(channel)
        return ChatResult(Outcome.delivered, "already archived") if got.error == "already_archived" else got
    return ChatResult(Outcome.permanent, f"unknown chat call {send.kind!r}")


class Chats(Outbox[ChatOutbox, Send]):
    """The `chat_outbox`: calls to Slack, Mattermost and the Teams webhook."""

    name = "chat outbox"
    max_attempts = MAX_ATTEMPTS

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings, self._clock = settings, clock
        self._errors: dict[uuid.UUID, str] = {}  # this run's platform error codes, by row (read by `failed`)

    def due(self, s: Session, now: datetime) -> list[ChatOutbox]:
        return queue.due_heads(s, now, BATCH)

    def row_id(self, row: ChatOutbox) -> uuid.UUID:
        return row.id

    def attempts(self, row: ChatOutbox) -> int:
        return row.attempts

    def claimed(self, row: ChatOutbox) -> bool:
        return row.status == "claimed"

    def shape(self, s: Session, rows: list[ChatOutbox], now: datetime) -> list[tuple[ChatOutbox, Send]]:
        channels = {c.id: c for c in s.execute(sa.select(ChatChannel).where(
            ChatChannel.id.in_({r.channel_row_id for r in rows if r.channel_row_id}))).scalars()}
        incidents = {i.id: i for i in s.execute(sa.select(Incident).where(
            Incident.id.in_({r.incident_id for r in rows if r.incident_id}))).scalars()}
        out = []
        for row in rows:
            ch = channels.get(row.channel_row_id) if row.channel_row_id else None
            out.append((row, _shape(row, ch, incidents.get(row.incident_id) if row.incident_id else None,
                                    self._settings)))
        return out

    def lease_row(self, row: ChatOutbox, until: datetime) -> None:
        row.status, row.claimed_until, row.attempts = "claimed", until, row.attempts + 1

    def sender(self, ec: JobContext) -> Callable[[Send], Result]:
        clients = ec.shared.get(CLIENTS)
        if not isinstance(clients, dict):
            clients = ec.shared[CLIENTS] = _Clients(ec.settings)
        settings = ec.settings
        teams = dispatcher(ec).client() if settings.teams_webhook_url else None  # the guarded client

        def one(send: Send) -> Result:
            send.result = send_one(send, clients.get(send.platform), teams, settings)
            if send.result.error:
                self._errors[send.id] = send.result.error
            return _outcome(send.result)

        return one

    def lock(self, s: Session, claims: Sequence[Claim[Send]]) -> dict[uuid.UUID, ChatOutbox]:
        return {r.id: r for r in s.execute(sa.select(ChatOutbox).where(ChatOutbox.id.in_([c.id for c in claims]))
                                           .order_by(ChatOutbox.id).with_for_update()).scalars()}

    def sent(self, s: Session, row: ChatOutbox, claim: Claim[Send], result: Result, now: datetime) -> None:
        row.status, row.sent_at, row.claimed_until, row.detail = "sent", now, None, None
        got = claim.send.result
        if row.kind == "create" and got is not None and row.channel_row_id is not None:
            ch = s.get(ChatChannel, row.channel_row_id, with_for_update=True)
            incident = s.get(Incident, ch.incident_id) if ch is not None else None
            if ch is not None and incident is not None and ch.state == "pending":
                ch.channel_id = str(got.data.get("channel_id") or "") or None
                ch.name = str(got.data.get("name") or ch.name)[:80]
                channel_ready(s, self._settings, ch, incident, now)

    def retry(self, s: Session, row: ChatOutbox, claim: Claim[Send], detail: str, at: datetime) -> None:
        got = claim.send.result
        row.status, row.claimed_until, row.detail = "waiting", None, detail
        if got is not None and got.retry_after is not None:  # rate limited: wait as told, keep the attempt
            row.due_at = self._clock.now() + timedelta(seconds=max(got.retry_after, 1.0))
            row.attempts = max(row.attempts - 1, 0)
        else:
            row.due_at = at

    def failed(self, s: Session, row: ChatOutbox, why: str, now: datetime) -> None:
        row.status, row.claimed_until, row.detail, row.sent_at = "failed", None, why[:2000], now  # settled at
        log.warning("chat call %s (%s on %s) failed: %s", row.id, row.kind, row.platform, why)
        if row.channel_row_id is None:
            return
        ch = s.get(ChatChannel, row.channel_row_id)
        if ch is None:
            return
        if row.kind == "create" and ch.state == "pending":
            ch.state, ch.detail = "failed", why[:2000]
        elif row.kind != "archive" and self._errors.get(row.id) in GONE and ch.state == "ready":
            ch.state, ch.archived_at = "archived", now
            ch.detail = f"archived or deleted on {row.platform} outside tocsin: nothing more is posted"

    def next_due(self, s: Session) -> datetime | None:
        return queue.next_due(s, self._clock.now())


class _Clients(dict[str, ChatClient | None]):
    """The platform clients, made on first use and closed with the engine."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings

    def __missing__(self, platform: str) -> ChatClient | None:
        client = self[platform] = client_for(self._settings, platform)
        return client

    def get(self, platform: str, default: ChatClient | None = None) -> ChatClient | None:  # type: ignore[override]
        return self[platform]

    def close(self) -> None:
        for client in self.values():
            closer = getattr(client, "close", None)
            if callable(closer):
                closer()
        self.clear()


def has_work(s: Session, ec: JobContext) -> bool:
    """The probe: chat-ops is configured and a call is due (no query at all when it is not configured)."""
    return bool(enabled(ec.settings)) and queue.has_due(s, ec.now)


def chat_deliver(ec: JobContext) -> int:
    """The engine job: send the due chat calls; return how many rows the claim took."""
    return _run(ec, Chats(ec.settings, ec.clock)).claimed
