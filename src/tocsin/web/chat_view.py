"""What the console shows of chat-ops, read from the chat tables: the incident channels (Configure ->
Chat's table, the incident room's header), the chat outbox's health, and a user's linked chat accounts
(/me). An incident is named (ref and title) only where the viewer may see it (incidents/access.py);
a failure's `detail` is tocsin's own words (a remote's answer is never stored there), safe to show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.chatops.accounts import accounts_of
from tocsin.chatops.channels import channels_of
from tocsin.chatops.models import ChatChannel, ChatOutbox
from tocsin.config import Settings
from tocsin.ids import incident_ref
from tocsin.incidents.access import visible
from tocsin.incidents.models import Incident
from tocsin.principal import Principal

PLATFORM_NAMES = {"slack": "Slack", "mattermost": "Mattermost", "teams": "Microsoft Teams"}
STATE_WORDS = {"pending": "being created", "ready": "open", "archived": "archived", "failed": "could not be created"}
VIA_WORDS = {"email": "by verified email", "link": "by a one-time link"}
CHANNELS_PAGE = 50
FAILED_SHOWN = 50
FAILED_WINDOW = timedelta(hours=24)


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


@dataclass(frozen=True)
class ChannelRow:
    """One incident channel in Configure -> Chat's table."""

    ref: str | None  # None: an incident the viewer may not see
    title: str | None
    platform: str
    name: str
    private: bool
    state: str
    muted: bool
    detail: str | None
    created_at: datetime


def channel_rows(s: Session, me: Principal, *, page: int) -> tuple[list[ChannelRow], bool]:
    """The newest channels first, CHANNELS_PAGE a page; and whether there is an older page."""
    rows = list(s.execute(sa.select(ChatChannel).order_by(ChatChannel.created_at.desc(), ChatChannel.id)
                          .offset((page - 1) * CHANNELS_PAGE).limit(CHANNELS_PAGE + 1)).scalars())
    more = len(rows) > CHANNELS_PAGE
    rows = rows[:CHANNELS_PAGE]
    ids = {r.incident_id for r in rows}
    seen = {i.id: i for i in s.execute(visible(me).where(Incident.id.in_(ids))).scalars()} if ids else {}
    out = []
    for r in rows:
        inc = seen.get(r.incident_id)
        out.append(ChannelRow(ref=incident_ref(inc.number) if inc else None, title=inc.title if inc else None,
                              platform=platform_name(r.platform), name=r.name, private=r.private,
                              state=STATE_WORDS.get(r.state, r.state), muted=r.muted, detail=r.detail,
                              created_at=r.created_at))
    return out, more


@dataclass(frozen=True)
class OutboxHealth:
    waiting: int
    oldest_due: datetime | None
    failed: list[tuple[datetime, str, str, str]]  # (when, platform, what, detail) in the last 24 h, newest first
    failed_count: int


def outbox_health(s: Session, now: datetime) -> OutboxHealth:
    waiting, oldest = s.execute(sa.select(sa.func.count(), sa.func.min(ChatOutbox.due_at))
                                .where(ChatOutbox.status.in_(("waiting", "claimed")))).one()
    # a failed row's time: when it was given up on (sent_at, if the outbox records it), else its last due time
    at = sa.func.coalesce(ChatOutbox.sent_at, ChatOutbox.due_at)
    recent = sa.and_(ChatOutbox.status == "failed", at >= now - FAILED_WINDOW)
    count = s.execute(sa.select(sa.func.count()).select_from(ChatOutbox).where(recent)).scalar_one()
    rows = s.execute(sa.select(at, ChatOutbox.platform, ChatOutbox.kind, ChatOutbox.detail).where(recent)
                     .order_by(at.desc()).limit(FAILED_SHOWN)).all()
    return OutboxHealth(waiting=waiting, oldest_due=oldest, failed_count=count,
                        failed=[(when, platform_name(p), kind, detail or "no reason recorded")
                                for when, p, kind, detail in rows])


@dataclass(frozen=True)
class RoomChannel:
    """An incident's channel as the room's header shows it."""

    platform: str
    name: str
    url: str | None
    state: str | None  # None when open; else what to say (being created, could not be created, archived)


def room_channels(s: Session, incident_id: uuid.UUID, settings: Settings | None) -> list[RoomChannel]:
    """A Slack channel is linked when TOCSIN_SLACK_WORKSPACE_URL is set; a Mattermost one is named only
    (its address needs the team's name, which tocsin does not keep)."""
    workspace = settings.slack_workspace_url if settings is not None else None
    out = []
    for c in channels_of(s, incident_id):
        url = None
        if c.platform == "slack" and c.state == "ready" and c.channel_id and workspace:
            url = f"{workspace.rstrip('/')}/archives/{c.channel_id}"
        state = None if c.state == "ready" and not c.muted else (
            "muted: the incident is restricted now" if c.muted else STATE_WORDS.get(c.state, c.state))
        prefix = "#" if c.platform == "slack" else "~"
        out.append(RoomChannel(platform=platform_name(c.platform), name=prefix + c.name, url=url, state=state))
    return out


@dataclass(frozen=True)
class AccountRow:
    id: uuid.UUID
    platform: str
    team_id: str
    external_id: str
    via: str
    linked_at: datetime


def account_rows(s: Session, user_id: uuid.UUID) -> list[AccountRow]:
    return [AccountRow(id=a.id, platform=platform_name(a.platform), team_id=a.team_id, external_id=a.external_id,
                       via=VIA_WORDS.get(a.linked_via, a.linked_via), linked_at=a.linked_at)
            for a in accounts_of(s, user_id)]
