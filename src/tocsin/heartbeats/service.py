"""Heartbeat monitors: create (the key is shown once, stored hashed), list, get, delete.

Pings arrive on the ingest path (`inbound/writer.py`); missed pings are found by the engine
(`heartbeats/monitor.py`). This module only manages the monitors themselves.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import page_by_id, require_row
from tocsin.errors import InvalidInput
from tocsin.heartbeats.models import Heartbeat, alert_key
from tocsin.heartbeats.schemas import MAX_GRACE, MAX_INTERVAL, MIN_INTERVAL
from tocsin.inbound.types import Action, Event, Source
from tocsin.keys import hint, key_hash, new_key
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import require_service


def ping_path(key: str) -> str:
    return f"/heartbeats/{key}"


def create_heartbeat(session: Session, *, actor: Principal, now: datetime, service: str, name: str,
                     interval_seconds: int, grace_seconds: int = 0) -> tuple[Heartbeat, str]:
    """Create a heartbeat in state "new" (it cannot alert before its first ping); return it and its key.

    Raises Forbidden (not admin), NotFound (service), InvalidInput.
    """
    actor.require(OrgRole.admin, "creating heartbeats")
    svc = require_service(session, service)
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    if not MIN_INTERVAL <= interval_seconds <= MAX_INTERVAL:
        raise InvalidInput(f"interval_seconds must be {MIN_INTERVAL} to {MAX_INTERVAL}",
                           details={"field": "interval_seconds"})
    if not 0 <= grace_seconds <= MAX_GRACE:
        raise InvalidInput(f"grace_seconds must be 0 to {MAX_GRACE}", details={"field": "grace_seconds"})
    key = new_key()
    row = Heartbeat(service_id=svc.id, name=name.strip(), key_hash=key_hash(key), key_hint=hint(key),
                    interval_seconds=interval_seconds, grace_seconds=grace_seconds, created_at=now,
                    last_ping_at=None, due_at=None, state="new")
    session.add(row)
    session.flush()
    record(session, actor=actor, action="heartbeat.create", target_type="heartbeat", target_id=row.id, now=now,
           details={"service": svc.slug, "name": row.name, "interval_seconds": interval_seconds,
                    "grace_seconds": grace_seconds})
    return row, key


def list_heartbeats(session: Session, *, service_id: uuid.UUID | None = None, after: uuid.UUID | None = None,
                    limit: int = 50) -> list[Heartbeat]:
    return page_by_id(session, Heartbeat, after=after, limit=limit, service_id=service_id)


def get_heartbeat(session: Session, heartbeat_id: uuid.UUID) -> Heartbeat | None:
    return session.get(Heartbeat, heartbeat_id)


def require_heartbeat(session: Session, heartbeat_id: uuid.UUID) -> Heartbeat:
    return require_row(session, Heartbeat, heartbeat_id, "heartbeat")


def delete_heartbeat(session: Session, *, actor: Principal, now: datetime, heartbeat: Heartbeat) -> None:
    """Delete a heartbeat: its key stops working at once.

    An open missed-ping alert is resolved, since no ping can ever resolve it any more.
    """
    actor.require(OrgRole.admin, "deleting heartbeats")
    if heartbeat.state == "down":
        ingest(session, [Incoming(Event(action=Action.resolve, dedup_key=alert_key(heartbeat.id)),
                                  heartbeat.service_id, None, Source.heartbeat.value)], now=now)
    record(session, actor=actor, action="heartbeat.delete", target_type="heartbeat", target_id=heartbeat.id, now=now,
           details={"name": heartbeat.name, "state": heartbeat.state})
    session.delete(heartbeat)
    session.flush()
