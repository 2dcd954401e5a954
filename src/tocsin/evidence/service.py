"""The evidence locker of an incident: add items, append to their custody ledger, read them.

Who may do what (need-to-know first):
- seeing the incident (`incidents.access.require_incident`, which answers NotFound to anyone
  outside its circle) is seeing its evidence: list, metadata, ledger, download, custody report;
- adding items and ledger entries needs an admin or the incident's current Forensics Lead.

Nothing here updates or deletes an item or a ledger entry: both are append-only. Every addition
is in the audit chain and, except downloads (`accessed`, recorded on every one), on the timeline.
Services never commit; the edges own the unit of work.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.config import Settings
from tocsin.db.counters import next_value
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.evidence import s3store
from tocsin.evidence.models import CustodyEntry, EvidenceItem
from tocsin.evidence.store import LocalStore, Store, Stored
from tocsin.evidence.types import MANUAL_ACTIONS, CustodyAction, ItemKind
from tocsin.ids import parse_uuid
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Role, TimelineKind
from tocsin.principal import Principal
from tocsin.users.models import User

MANAGERS = (Role.forensics_lead.value,)
MAX_NAME, MAX_WHO, MAX_WHERE, MAX_WHY, MAX_LOCATION = 300, 300, 500, 5_000, 2_000
MAX_SIZE = 2**63 - 1  # a BIGINT column
FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead of ours may stamp "now"
_HEX = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha512": re.compile(r"[0-9a-f]{128}")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def store_for(settings: Settings) -> Store:
    """The configured store: an S3-compatible bucket when TOCSIN_EVIDENCE_S3_BUCKET is set, else the directory."""
    if settings.evidence_s3_bucket:
        return s3store.from_settings(bucket=settings.evidence_s3_bucket, prefix=settings.evidence_s3_prefix,
                                     endpoint_url=settings.evidence_s3_endpoint_url,
                                     region=settings.evidence_s3_region)
    return LocalStore(settings.resolved_evidence_dir())


def label(item: EvidenceItem) -> str:
    return f"E-{item.number}"


def may_manage(session: Session, principal: Principal, incident: Incident) -> bool:
    """Admins and the incident's current Forensics Lead add items and ledger entries."""
    return principal.is_admin or timeline.holds_role(session, incident.id, principal.user_id, MANAGERS)


def require_manager(session: Session, principal: Principal, incident: Incident) -> None:
    if not may_manage(session, principal, incident):
        raise Forbidden("managing evidence needs the incident's Forensics Lead or an admin",
                        details={"required_role": "forensics_lead"})


def list_items(session: Session, incident: Incident) -> list[EvidenceItem]:
    return list(session.execute(sa.select(EvidenceItem).where(EvidenceItem.incident_id == incident.id)
                                .order_by(EvidenceItem.number)).scalars())


def require_item(session: Session, incident: Incident, item_id: str | uuid.UUID) -> EvidenceItem:
    """The incident's item with this id (or E-n label); NotFound otherwise."""
    stmt = sa.select(EvidenceItem).where(EvidenceItem.incident_id == incident.id)
    key = str(item_id)
    if (found := parse_uuid(key)) is not None:
        stmt = stmt.where(EvidenceItem.id == found)
    elif re.fullmatch(r"[Ee]-([1-9][0-9]{0,8})", key):
        stmt = stmt.where(EvidenceItem.number == int(key[2:]))
    else:
        raise NotFound(f"no evidence item {key[:80]}", details={"item": key[:80]})
    item = session.execute(stmt).scalar_one_or_none()
    if item is None:
        raise NotFound(f"no evidence item {key[:80]}", details={"item": key[:80]})
    return item


def ledgers(session: Session, items: list[EvidenceItem]) -> dict[uuid.UUID, list[CustodyEntry]]:
    """Every item's custody entries in order (one query)."""
    out: dict[uuid.UUID, list[CustodyEntry]] = {i.id: [] for i in items}
    if not items:
        return out
    for entry in session.execute(sa.select(CustodyEntry).where(CustodyEntry.item_id.in_(list(out)))
                                 .order_by(CustodyEntry.item_id, CustodyEntry.seq)).scalars():
        out[entry.item_id].append(entry)
    return out


# --- input checks ----------------------------------------------------------------------------------

def _text(value: str | None, field: str, limit: int, *, required: bool = False, one_line: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{field.replace('_', ' ')} is required", details={"field": field})
    if len(value) > limit:
        raise InvalidInput(f"{field.replace('_', ' ')} may have at most {limit} characters", details={"field": field})
    if "\x00" in value or (one_line and _CONTROL.search(value)):
        raise InvalidInput(f"{field.replace('_', ' ')} must be one line of text", details={"field": field})
    return value


def _hash(value: str | None, field: str) -> str | None:
    value = (value or "").strip().lower()
    if not value:
        return None
    if not _HEX[field].fullmatch(value):
        raise InvalidInput(f"{field} must be {64 if field == 'sha256' else 128} hexadecimal digits",
                           details={"field": field})
    return value


def file_name(raw: str | None) -> str:
    """A stored file's name: the last path part of what the client sent, one line, at most 300 characters."""
    base = re.split(r"[/\\]", (raw or "").strip())[-1]
    return _text(base, "name", MAX_NAME, required=True)


@dataclass(frozen=True)
class Handling:
    """The who / when / where / why of one custody entry (who defaults to the recorder)."""

    location: str = ""
    reason: str = ""
    who: str = ""
    occurred_at: datetime | None = None


def _actor_name(session: Session, actor: Principal) -> str:
    user = session.get(User, actor.user_id) if actor.user_id else None
    return user.name if user is not None else actor.label


def _checked(session: Session, actor: Principal, handling: Handling, now: datetime) -> Handling:
    when = handling.occurred_at or now
    if when.tzinfo is None:
        raise InvalidInput("give the time with its offset (UTC)", details={"field": "occurred_at"})
    if when > now + FUTURE_SLACK:
        raise InvalidInput("a custody entry cannot be in the future", details={"field": "occurred_at"})
    return Handling(location=_text(handling.location, "location", MAX_WHERE),
                    reason=_text(handling.reason, "reason", MAX_WHY, one_line=False),
                    who=_text(handling.who, "who", MAX_WHO) or _actor_name(session, actor), occurred_at=when)


# --- writes ------------------------------------------------------------------------------------------

def _new_item(session: Session, *, incident: Incident, actor: Principal, now: datetime, kind: ItemKind, name: str,
              description: str, media_type: str, size: int | None, sha256: str | None, sha512: str | None,
              location: str, handling: Handling) -> EvidenceItem:
    handling = _checked(session, actor, handling, now)
    item = EvidenceItem(incident_id=incident.id, number=next_value(session, f"evidence:{incident.id}"), kind=kind.value,
                        name=name, description=_text(description, "description", MAX_WHY, one_line=False),
                        media_type=_text(media_type, "media_type", 200), size=size, sha256=sha256, sha512=sha512,
                        location=location, created_by_id=actor.user_id, created_at=now)
    session.add(item)
    session.flush()
    record(session, actor=actor, action="evidence.add", target_type="incident", target_id=incident.id, now=now,
           details={"item": str(item.id), "label": label(item), "kind": kind.value, "name": name, "size": size,
                    "sha256": sha256, "sha512": sha512, "location": location})
    what = f"{item.size} bytes, SHA-256 {sha256}" if kind is ItemKind.file else f"at {location}"
    timeline.append(session, incident=incident, kind=TimelineKind.evidence, actor=actor, now=now,
                    text=f"Evidence {label(item)} {name!r} collected ({what})",
                    data={"item": str(item.id), "label": label(item), "action": CustodyAction.collected.value})
    _append(session, item=item, incident=incident, actor=actor, now=now, action=CustodyAction.collected,
            handling=handling, on_timeline=False)
    return item


def add_file(session: Session, *, incident: Incident, actor: Principal, now: datetime, stored: Stored, name: str,
             description: str = "", media_type: str = "", handling: Handling = Handling()) -> EvidenceItem:
    """Record an uploaded file (already in the store, by `stored.sha256`) as a new item collected now."""
    require_manager(session, actor, incident)
    return _new_item(session, incident=incident, actor=actor, now=now, kind=ItemKind.file, name=file_name(name),
                     description=description, media_type=media_type, size=stored.size, sha256=stored.sha256,
                     sha512=stored.sha512, location="", handling=handling)


def register_external(session: Session, *, incident: Incident, actor: Principal, now: datetime, name: str,
                      location: str, sha256: str | None = None, sha512: str | None = None, size: int | None = None,
                      description: str = "", handling: Handling = Handling()) -> EvidenceItem:
    """Register an artefact kept elsewhere, with the hash(es) and size its collector gives."""
    require_manager(session, actor, incident)
    h256, h512 = _hash(sha256, "sha256"), _hash(sha512, "sha512")
    if h256 is None and h512 is None:
        raise InvalidInput("give the artefact's SHA-256 or SHA-512 (or both)", details={"field": "sha256"})
    if size is not None and not 0 <= size <= MAX_SIZE:
        raise InvalidInput(f"size is a number of bytes from 0 to {MAX_SIZE}", details={"field": "size"})
    return _new_item(session, incident=incident, actor=actor, now=now, kind=ItemKind.external,
                     name=_text(name, "name", MAX_NAME, required=True), description=description, media_type="",
                     size=size, sha256=h256, sha512=h512,
                     location=_text(location, "location", MAX_LOCATION, required=True), handling=handling)


def _append(session: Session, *, item: EvidenceItem, incident: Incident, actor: Principal, now: datetime,
            action: CustodyAction, handling: Handling, on_timeline: bool) -> CustodyEntry:
    # the item's row lock orders concurrent entries (two downloads at once) so each gets the next seq
    session.execute(sa.select(EvidenceItem.id).where(EvidenceItem.id == item.id).with_for_update())
    seq = int(session.execute(sa.select(sa.func.coalesce(sa.func.max(CustodyEntry.seq), 0))
                              .where(CustodyEntry.item_id == item.id)).scalar_one()) + 1
    assert handling.occurred_at is not None
    entry = CustodyEntry(item_id=item.id, seq=seq, action=action.value, who=handling.who,
                         occurred_at=handling.occurred_at, location=handling.location, reason=handling.reason,
                         recorded_at=now, recorded_by_id=actor.user_id, recorded_by=actor.label)
    session.add(entry)
    session.flush()
    details: dict[str, Any] = {"item": str(item.id), "label": label(item), "seq": seq, "action": action.value,
                               "who": entry.who, "occurred_at": entry.occurred_at.isoformat(),
                               "location": entry.location, "reason": entry.reason}
    record(session, actor=actor, action="evidence.custody", target_type="incident", target_id=incident.id, now=now,
           details=details)
    if on_timeline:
        where = f" at {entry.location}" if entry.location else ""
        timeline.append(session, incident=incident, kind=TimelineKind.evidence, actor=actor, now=now,
                        occurred_at=entry.occurred_at, text=f"Evidence {label(item)} {action.value} by {entry.who}{where}",
                        data={"item": str(item.id), "label": label(item), "action": action.value})
    return entry


def add_custody(session: Session, *, incident: Incident, item: EvidenceItem, actor: Principal, now: datetime,
                action: CustodyAction, handling: Handling) -> CustodyEntry:
    """Append a ledger entry by hand (transferred, analysed, copied, returned, accessed)."""
    require_manager(session, actor, incident)
    if action not in MANUAL_ACTIONS:
        raise InvalidInput(f"an item is collected once, when it is added; choose one of "
                           f"{', '.join(a.value for a in MANUAL_ACTIONS)}", details={"field": "action"})
    return _append(session, item=item, incident=incident, actor=actor, now=now, action=action,
                   handling=_checked(session, actor, handling, now), on_timeline=True)


def record_download(session: Session, *, incident: Incident, item: EvidenceItem, actor: Principal, now: datetime,
                    via: str) -> CustodyEntry:
    """Log a download as an `accessed` entry (anyone in the circle may download; every one is logged)."""
    if item.kind != ItemKind.file.value or item.sha256 is None:
        raise InvalidInput(f"{label(item)} is an external artefact kept at its location, not in tocsin",
                           details={"item": label(item)})
    return _append(session, item=item, incident=incident, actor=actor, now=now, action=CustodyAction.accessed,
                   handling=Handling(location=via, reason="downloaded from tocsin", who=_actor_name(session, actor),
                                     occurred_at=now), on_timeline=False)
