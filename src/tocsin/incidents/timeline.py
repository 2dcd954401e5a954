"""The incident timeline: append entries, add and edit notes, list in time order.

Every row written to the timeline announces `incident:<id>` to live viewers (`tocsin.live`)
when its transaction commits: the hook sits on the row itself (`incidents/models.py`), because
the paging trail (escalation/trail.py) writes its entries directly, so one place covers both.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin import live
from tocsin.audit.service import record
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.incidents.models import (
    Incident,
    RoleAssignment,
    TimelineEntry,
    TimelineRevision,
)
from tocsin.incidents.types import Role, TimelineKind
from tocsin.principal import OrgRole, Principal

MAX_NOTE = 20_000
_BACKDATERS = (Role.scribe.value, Role.incident_commander.value)
# Entry kinds that are always updates to stakeholders; a note is one only when it is a key event.
UPDATE_KINDS = ("status_changed", "severity_changed", "status_page")


def append(session: Session, *, incident: Incident, kind: TimelineKind, actor: Principal, now: datetime, text: str,
           data: dict[str, Any] | None = None, occurred_at: datetime | None = None,
           key_event: bool = False) -> TimelineEntry:
    """Append one entry and return it; `occurred_at` defaults to `now`."""
    entry = TimelineEntry(incident_id=incident.id, kind=kind.value, actor_id=actor.user_id,
                          occurred_at=occurred_at or now, recorded_at=now, text=text, data=data or {},
                          key_event=key_event)
    session.add(entry)
    session.flush()
    return entry


def holds_role(session: Session, incident_id: uuid.UUID, user_id: uuid.UUID | None, roles: tuple[str, ...]) -> bool:
    if user_id is None:
        return False
    return session.execute(
        sa.select(sa.literal(True)).where(
            RoleAssignment.incident_id == incident_id, RoleAssignment.user_id == user_id,
            RoleAssignment.role.in_(roles), RoleAssignment.ended_at.is_(None),
        ).limit(1)
    ).scalar_one_or_none() is not None


def _check_text(text: str) -> str:
    if not text.strip():
        raise InvalidInput("a note needs text", details={"field": "text"})
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note may have at most {MAX_NOTE} characters", details={"field": "text"})
    return text


def add_note(session: Session, *, incident: Incident, actor: Principal, now: datetime, text: str,
             occurred_at: datetime | None = None, key_event: bool = False) -> TimelineEntry:
    """Add a note. Back-dating (`occurred_at` before now) is for the scribe, the IC and admins."""
    actor.require(OrgRole.responder, "adding notes")
    _check_text(text)
    if occurred_at is not None:
        if occurred_at > now:
            raise InvalidInput("occurred_at cannot be in the future", details={"field": "occurred_at"})
        if occurred_at != now and not (actor.is_admin or holds_role(session, incident.id, actor.user_id, _BACKDATERS)):
            raise Forbidden("only the scribe, the incident commander or an admin may back-date timeline entries")
    entry = append(session, incident=incident, kind=TimelineKind.note, actor=actor, now=now, text=text,
                   occurred_at=occurred_at, key_event=key_event)
    session.add(TimelineRevision(entry_id=entry.id, revision=1, text=text, edited_by_id=actor.user_id, edited_at=now))
    session.flush()
    record(session, actor=actor, action="incident.note", target_type="incident", target_id=incident.id, now=now,
           details={"entry": str(entry.id), "back_dated": occurred_at is not None and occurred_at != now})
    return entry


def capture_note(session: Session, *, incident: Incident, actor: Principal, now: datetime, text: str,
                 said_at: datetime, data: dict[str, Any]) -> TimelineEntry:
    """A chat message captured onto the timeline (a reaction, a message shortcut, a pin): a note
    by `actor`, the responder who captured it, that happened when the message was said.

    Unlike `add_note`, any responder who may see the incident may set the time here: it is not a
    claim of the capturer's but the platform's own timestamp of the message, and the note says
    who said it and links back to it (`data["captured"]`), so the record stays checkable. A
    message stamped in the future (clock skew) happens now. Too long a message is cut, not
    refused: what was said is kept as far as a note can hold it. Audited as `incident.capture`."""
    actor.require(OrgRole.responder, "capturing chat messages")
    if not text.strip():
        raise InvalidInput("the message has no text to capture", details={"field": "text"})
    if len(text) > MAX_NOTE:
        text = text[: MAX_NOTE - 1] + "…"
    occurred_at = min(said_at, now)
    entry = append(session, incident=incident, kind=TimelineKind.note, actor=actor, now=now, text=text,
                   occurred_at=occurred_at, data=data)
    session.add(TimelineRevision(entry_id=entry.id, revision=1, text=text, edited_by_id=actor.user_id, edited_at=now))
    session.flush()
    record(session, actor=actor, action="incident.capture", target_type="incident", target_id=incident.id, now=now,
           details={"entry": str(entry.id), "said_at": occurred_at.isoformat(),
                    **{k: v for k, v in (data.get("captured") or {}).items() if k in ("platform", "channel", "ts")}})
    return entry


def require_entry(session: Session, incident: Incident, entry_id: uuid.UUID) -> TimelineEntry:
    entry = session.get(TimelineEntry, entry_id)
    if entry is None or entry.incident_id != incident.id:
        raise NotFound(f"no timeline entry {entry_id} on this incident", details={"entry": str(entry_id)})
    return entry


def edit_note(session: Session, *, incident: Incident, entry: TimelineEntry, actor: Principal, now: datetime,
              text: str | None = None, key_event: bool | None = None) -> TimelineEntry:
    """Change a note's text (keeping every revision) or its key-event mark."""
    actor.require(OrgRole.responder, "editing notes")
    if entry.kind != TimelineKind.note.value:
        raise InvalidInput("only notes can be edited; other timeline entries are records of what happened")
    if entry.actor_id != actor.user_id and not (
        actor.is_admin or holds_role(session, incident.id, actor.user_id, _BACKDATERS)
    ):
        raise Forbidden("only the note's author, the scribe, the incident commander or an admin may edit it")
    if text is not None and text != entry.text:
        _check_text(text)
        last = session.execute(
            sa.select(sa.func.max(TimelineRevision.revision)).where(TimelineRevision.entry_id == entry.id)
        ).scalar_one() or 0
        session.add(TimelineRevision(entry_id=entry.id, revision=last + 1, text=text, edited_by_id=actor.user_id,
                                     edited_at=now))
        entry.text = text
        entry.edited_at = now
    if key_event is not None:
        entry.key_event = key_event
    session.flush()
    live.changed(session, f"incident:{incident.id}")  # an edit adds no row, so announce it here
    record(session, actor=actor, action="incident.note_edit", target_type="incident", target_id=incident.id,
           now=now, details={"entry": str(entry.id), "text_changed": text is not None, "key_event": key_event})
    return entry


def revisions(session: Session, entry_id: uuid.UUID) -> list[TimelineRevision]:
    return list(session.execute(
        sa.select(TimelineRevision).where(TimelineRevision.entry_id == entry_id).order_by(TimelineRevision.revision)
    ).scalars())


def list_entries(session: Session, *, incident: Incident, after: tuple[datetime, uuid.UUID] | None = None,
                 limit: int = 500) -> list[TimelineEntry]:
    """Entries in the order things happened (occurred_at, then id)."""
    stmt = (sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id).limit(limit))
    if after:
        at, eid = after
        stmt = stmt.where(sa.or_(TimelineEntry.occurred_at > at,
                                 sa.and_(TimelineEntry.occurred_at == at, TimelineEntry.id > eid)))
    return list(session.execute(stmt).scalars())


def all_entries(session: Session, *, incident: Incident) -> list[TimelineEntry]:
    """Every entry, oldest first (occurred_at, id), in pages of 500."""
    out: list[TimelineEntry] = []
    after = None
    while True:
        page = list_entries(session, incident=incident, after=after, limit=500)
        out.extend(page)
        if len(page) < 500:
            return out
        after = (page[-1].occurred_at, page[-1].id)


def recorded_since(session: Session, *, incident: Incident, since: datetime | None) -> list[TimelineEntry]:
    """Entries recorded or edited at or after `since` (all when None), in display order: what a live
    viewer may lack.

    Filtering on recorded_at rather than occurred_at finds back-dated notes too."""
    if since is None:
        return all_entries(session, incident=incident)
    return list(session.execute(
        sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident.id,
                                       sa.or_(TimelineEntry.recorded_at >= since, TimelineEntry.edited_at >= since))
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id).limit(2000)
    ).scalars())


def _counts_as_update() -> sa.ColumnElement[bool]:
    return sa.or_(TimelineEntry.kind.in_(UPDATE_KINDS),
                  sa.and_(TimelineEntry.kind == "note", TimelineEntry.key_event.is_(True)))


def _aware(value: Any) -> datetime | None:
    if value is not None and getattr(value, "tzinfo", None) is None:  # SQLite aggregates bypass the column type
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    return value


def last_update_at(session: Session, *, incident: Incident) -> datetime:
    """When the newest update was recorded (the declaration when there is none yet)."""
    newest = session.execute(
        sa.select(sa.func.max(TimelineEntry.recorded_at)).where(TimelineEntry.incident_id == incident.id,
                                                                _counts_as_update())
    ).scalar_one_or_none()
    return _aware(newest) or incident.declared_at


def last_updates_at(session: Session, incidents: list[Incident]) -> dict[uuid.UUID, datetime]:
    """`last_update_at` of several incidents in one query."""
    if not incidents:
        return {}
    rows = session.execute(
        sa.select(TimelineEntry.incident_id, sa.func.max(TimelineEntry.recorded_at))
        .where(TimelineEntry.incident_id.in_([i.id for i in incidents]), _counts_as_update())
        .group_by(TimelineEntry.incident_id)).all()
    newest = {incident_id: _aware(at) for incident_id, at in rows}
    return {i.id: newest.get(i.id) or i.declared_at for i in incidents}


def revision_counts(session: Session, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not entry_ids:
        return {}
    rows = session.execute(
        sa.select(TimelineRevision.entry_id, sa.func.count()).where(TimelineRevision.entry_id.in_(entry_ids))
        .group_by(TimelineRevision.entry_id)
    ).all()
    return {eid: n for eid, n in rows}
