"""A chat message onto the incident's timeline: by a reaction (settings.chat_capture_emoji), the
"Add to timeline" message shortcut, or a pin in the incident's channel.

The note is the incident's record of what was said: it carries the message's author (the tocsin
user the author is linked to, else the chat display name), happens at the message's own time
(`timeline.capture_note`, which lets a responder in the incident's circle set that time: it is the
platform's, not theirs) and links back to the message. It is appended as the responder who
captured it. A message is captured once, however many reactions, pins, shortcuts or platform
retries ask for it: the claim `capture:<platform>:<channel>:<ts>` (chatops/receipts.py) is taken
in the same transaction as the note, so a capture that fails leaves no claim behind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.chatops.accounts import ChatIdentity, find_user
from tocsin.chatops.models import ChatReceipt
from tocsin.chatops.receipts import first_time, note_entry, stored_key
from tocsin.containment import service as containment
from tocsin.errors import InvalidInput
from tocsin.http import forensics
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.principal import Principal

_AUTHOR_CHARS = 80


@dataclass(frozen=True)
class Captured:
    """What a capture did: `entry_id` of the note made, or None when the message was captured before."""

    entry_id: uuid.UUID | None

    @property
    def new(self) -> bool:
        return self.entry_id is not None


def receipt_key(platform: str, channel_id: str, message_ts: str) -> str:
    return f"capture:{platform}:{channel_id}:{message_ts}"


def already_captured(s: Session, *, platform: str, channel_id: str, message_ts: str) -> bool:
    """Was this message captured already? (Asked before fetching it from the platform.)"""
    key = stored_key(receipt_key(platform, channel_id, message_ts))
    return s.execute(sa.select(ChatReceipt.id).where(ChatReceipt.platform == platform,
                                                     ChatReceipt.key == key)).first() is not None


def slack_time(ts: str) -> datetime | None:
    """A Slack message ts ("1599529504.000400") as an aware UTC time; None for anything else."""
    try:
        seconds = float(ts)
    except (TypeError, ValueError):
        return None
    if not 0 < seconds < 1e11:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def slack_permalink(channel_id: str, ts: str, domain: str | None = None) -> str:
    """The message's permalink: https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>
    (slack.com/archives/... without the workspace, which Slack sends on to the signed-in workspace)."""
    host = f"{domain}.slack.com" if domain and domain.replace("-", "").isalnum() else "slack.com"
    return f"https://{host}/archives/{channel_id}/p{ts.replace('.', '')}"


def _author(s: Session, *, platform: str, team_id: str, external_id: str | None, display_name: str | None) -> str:
    if external_id:
        user = find_user(s, ChatIdentity(platform, team_id, external_id))
        if user is not None:
            return user.name
    name = " ".join((display_name or "").split())[:_AUTHOR_CHARS]
    return name or (f"{platform} user {external_id}" if external_id else f"a {platform} user")


def capture(s: Session, *, principal: Principal, incident: Incident, platform: str, channel_id: str,
            message_ts: str, text: str, author_external_id: str | None, posted_at: datetime, via: str,
            now: datetime, team_id: str = "", author_name: str | None = None, link: str | None = None,
            forensics_nudge: bool = True) -> Captured:
    """Put the message on `incident`'s timeline as `principal` (who may see the incident: the caller
    found it through `channels.incident_in`), once. `via`: reaction | shortcut | pin. Raises
    Forbidden (a viewer) or InvalidInput (no text) from `timeline.capture_note`."""
    body = text.strip()
    if not body:
        raise InvalidInput("the message has no text to capture (a file or an image alone is not captured)")
    key = receipt_key(platform, channel_id, message_ts)
    if not first_time(s, platform=platform, key=key, now=now, incident_id=incident.id):
        return Captured(None)
    author = _author(s, platform=platform, team_id=team_id, external_id=author_external_id, display_name=author_name)
    shown = f"{author} said:\n{body}" + (f"\n\n{link}" if link else "")
    data: dict[str, Any] = {"captured": {"platform": platform, "channel": channel_id, "ts": message_ts, "via": via,
                                         "author": author, "author_id": author_external_id, "link": link}}
    entry = timeline.capture_note(s, incident=incident, actor=principal, now=now, text=shown, said_at=posted_at,
                                  data=data)
    note_entry(s, platform=platform, key=key, entry_id=entry.id)
    found = forensics.leads(s, incident, nudge_on=forensics_nudge)
    containment.note_added(s, incident=incident, entry=entry, now=now, nudge_on=forensics_nudge, known=found.known,
                           collected=found.collected)
    return Captured(entry.id)
