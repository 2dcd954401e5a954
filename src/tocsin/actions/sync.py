"""Tracker sync: the documented JSON an outside tracker (Jira, GitHub Issues, ...) receives when
an action item changes, the outbox rows that carry it, how one is sent, and how the tracker's
own status words map back to ours.

Outgoing: every create or update, when `action_sync_url` is set, writes an `action_syncs` row
in the same transaction as the change (so a change is never lost when the tracker is down);
the `action_sync` engine module POSTs it. The request is signed like tocsin's webhooks
(`X-Tocsin-Timestamp`, `X-Tocsin-Signature: v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`),
with a secret derived from the server key (`signing_secret`), so nothing new has to be stored.

Items linked to a restricted incident are synced, but neutrally: the payload carries the
incident's ref, never its title, and the item's own title and description (which usually
describe what happened) are replaced by "Restricted action item ACT-n" and "" (the tracker's
readers may not be allowed to know what happened). This is checked again when a queued delivery
is sent, so an incident restricted after a change was queued is not told about either.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy.orm import Session

from tocsin.actions.models import ActionItem, ActionSync
from tocsin.actions.types import ActionStatus, action_ref
from tocsin.config import Settings
from tocsin.ids import incident_ref, new_id
from tocsin.incidents.models import Incident
from tocsin.net.guard import Blocked
from tocsin.notify.types import status_words
from tocsin.notify.webhook import (
    SIGNATURE_HEADER,
    SIGNATURE_VERSION,
    TIMESTAMP_HEADER,
    sign,
)
from tocsin.problems.models import Problem
from tocsin.problems.service import problem_ref
from tocsin.teams.models import Team
from tocsin.users.models import User

EVENT_HEADER = "X-Tocsin-Event"
CREATED, UPDATED = "action_item.created", "action_item.updated"

# The tracker's words for a status, beyond our own (open, in_progress, done, wont_do).
TRACKER_STATUS = {
    "closed": ActionStatus.done, "resolved": ActionStatus.done, "completed": ActionStatus.done,
    "reopened": ActionStatus.open, "todo": ActionStatus.open, "to_do": ActionStatus.open,
    "in progress": ActionStatus.in_progress, "wontfix": ActionStatus.wont_do, "won't do": ActionStatus.wont_do,
}


def map_status(word: str) -> ActionStatus | None:
    """Our status for a tracker's status word (case and surrounding space ignored), or None."""
    key = word.strip().lower()
    try:
        return ActionStatus(key)
    except ValueError:
        return TRACKER_STATUS.get(key)


@dataclass(frozen=True)
class SyncConfig:
    """Whether changes are synced, and the public address the payload's links use."""

    enabled: bool
    public_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncConfig:
        return cls(enabled=bool(settings.action_sync_url), public_url=settings.resolved_public_url())


def signing_secret(server_key: str) -> str:
    """The secret the tracker checks X-Tocsin-Signature with (derived, so never stored)."""
    return "whsec_" + hmac.new(server_key.encode(), b"action-sync", hashlib.sha256).hexdigest()[:40]


def item_url(public_url: str, item: ActionItem) -> str:
    return f"{public_url}/api/v1/action-items/{action_ref(item.number)}"


def payload(session: Session, item: ActionItem, public_url: str) -> dict[str, Any]:
    """The documented `action_item` object (see docs/action-items.md)."""
    owner = session.get(User, item.owner_id) if item.owner_id else None
    team = session.get(Team, item.team_id) if item.team_id else None
    incident = session.get(Incident, item.incident_id) if item.incident_id else None
    problem = session.get(Problem, item.problem_id) if item.problem_id else None

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    restricted = bool(incident.restricted) if incident else False
    out = {
        "id": str(item.id), "ref": action_ref(item.number), "title": item.title, "description": item.description,
        "type": item.type, "priority": item.priority, "status": item.status,
        "owner": {"email": owner.email, "name": owner.name} if owner else None,
        "team": team.slug if team else None,
        "due_at": iso(item.due_at), "completed_at": iso(item.completed_at),
        "created_at": iso(item.created_at), "updated_at": iso(item.updated_at),
        "incident": incident_ref(incident.number) if incident else None,
        "incident_restricted": restricted,
        "postmortem_id": str(item.postmortem_id) if item.postmortem_id else None,
        "problem": problem_ref(problem) if problem else None,
        "external_id": item.external_id, "external_url": item.external_url,
        "url": item_url(public_url, item),
    }
    return redacted(out) if restricted else out


def redacted(item: dict[str, Any]) -> dict[str, Any]:
    """The payload of an item whose incident is restricted: no title, no description."""
    return {**item, "title": f"Restricted action item {item['ref']}", "description": "", "incident_restricted": True}


def enqueue(session: Session, *, item: ActionItem, event: str, now: datetime, config: SyncConfig | None) -> None:
    """Queue one delivery of the item as it is now, if syncing is on."""
    if config is None or not config.enabled:
        return
    session.flush()
    session.add(ActionSync(id=new_id(), action_item_id=item.id, event=event,
                           payload=payload(session, item, config.public_url), status="queued", attempts=0,
                           send_after=now, created_at=now))


def body_of(row_id: Any, event: str, item: dict[str, Any], sent_at: datetime) -> bytes:
    return orjson.dumps({"id": str(row_id), "event": event, "sent_at": sent_at.isoformat(), "action_item": item})


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool
    detail: str


def post(client: httpx.Client, url: str, *, secret: str, row_id: Any, event: str, item: dict[str, Any],
         sent_at: datetime) -> Outcome:
    """POST one delivery; 2xx is sent, 408/425/429/5xx and network errors are retried, the rest fail."""
    body = body_of(row_id, event, item, sent_at)
    ts = str(int(sent_at.timestamp()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(row_id), EVENT_HEADER: event,
               TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={sign(secret, ts, body)}"}
    try:
        # Streamed and closed unread: only the status decides, and the tracker's reply is never kept.
        response = client.send(client.build_request("POST", url, content=body, headers=headers), stream=True)
        response.close()
    except Blocked as exc:
        return Outcome(False, False, f"blocked by the egress policy: {exc.message}")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return Outcome(False, False, "invalid action_sync_url: not an http(s) URL")
    except httpx.TimeoutException:
        return Outcome(False, True, "timed out waiting for the tracker")
    except httpx.TransportError as exc:  # its text can quote what the far end sent: only the type is named
        return Outcome(False, True, f"could not reach the tracker ({type(exc).__name__})")
    status = response.status_code
    detail = status_words(status)
    if 200 <= status < 300:
        return Outcome(True, False, detail)
    return Outcome(False, status in (408, 425, 429) or status >= 500, detail)
