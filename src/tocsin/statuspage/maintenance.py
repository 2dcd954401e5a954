"""Scheduled maintenances on a status page: announce, update, and move them along in time.

A maintenance is a `status_incidents` row of kind `maintenance` (impact `maintenance`):
scheduled → in_progress → verifying → completed. Entering in_progress puts its components
under maintenance; completing returns them to operational (unless an incident or another
maintenance still holds them). With `auto_transition` the engine (`advance_maintenances`)
starts it at `scheduled_for` and completes it at `scheduled_until`, posting the customary
update each time; responders may move it by hand at any point (start early, verify, finish early).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, IllegalTransition, InvalidInput
from tocsin.principal import OrgRole, Principal
from tocsin.statuspage import subscribers
from tocsin.statuspage.common import (
    MAX_INCIDENT_NAME,
    MAX_TEXT,
    announce,
    apply_status,
    components_of,
    enum_field,
    link_components,
    require_component,
    text_field,
)
from tocsin.statuspage.incidents import still_affected_elsewhere
from tocsin.statuspage.models import (
    StatusIncident,
    StatusIncidentComponent,
    StatusPage,
    StatusUpdate,
)
from tocsin.statuspage.types import (
    ComponentStatus,
    Impact,
    MaintenanceStatus,
    StatusIncidentKind,
)

BATCH = 100
STATUSES = tuple(s.value for s in MaintenanceStatus)
# Completed is final; a maintenance may end early from any other status (that is also how one is cancelled).
TRANSITIONS: dict[str, frozenset[str]] = {
    MaintenanceStatus.scheduled.value: frozenset({"in_progress", "completed"}),
    MaintenanceStatus.in_progress.value: frozenset({"verifying", "completed"}),
    MaintenanceStatus.verifying.value: frozenset({"in_progress", "completed"}),
    MaintenanceStatus.completed.value: frozenset(),
}
# What Statuspage posts on the automatic transitions.
DEFAULT_BODIES = {
    MaintenanceStatus.in_progress.value: "Scheduled maintenance is currently in progress. "
                                         "We will provide updates as necessary.",
    MaintenanceStatus.verifying.value: "Verification is currently underway for the maintenance items.",
    MaintenanceStatus.completed.value: "The scheduled maintenance has been completed.",
}


def _window(scheduled_for: datetime, scheduled_until: datetime) -> None:
    if scheduled_until <= scheduled_for:
        raise InvalidInput("scheduled_until must be after scheduled_for", details={"field": "scheduled_until"})


def _components(session: Session, page: StatusPage, ids: Iterable[uuid.UUID | str]) -> list[Any]:
    out = []
    for cid in dict.fromkeys(ids):
        c = require_component(session, page, cid)
        if c.is_group:
            raise InvalidInput(f"{c.name} is a group: list its components", details={"component": str(cid)})
        out.append(c)
    return out


def _enter(session: Session, m: StatusIncident, status: str, now: datetime) -> list[dict[str, Any]]:
    """Apply what entering `status` does to the maintenance's components; return the affected list."""
    affected: list[dict[str, Any]] = []
    comps = components_of(session, [m.id])[m.id]
    if status == MaintenanceStatus.in_progress.value:
        affected = [apply_status(session, c, ComponentStatus.under_maintenance.value, now) for c in comps
                    if c.status == ComponentStatus.operational.value]
    elif status == MaintenanceStatus.completed.value:
        held = still_affected_elsewhere(session, m)
        affected = [apply_status(session, c, ComponentStatus.operational.value, now) for c in comps
                    if c.status == ComponentStatus.under_maintenance.value and c.id not in held]
    return affected


def _post(session: Session, *, page: StatusPage, m: StatusIncident, status: str, body: str, now: datetime,
          actor_id: uuid.UUID | None, deliver: bool) -> StatusUpdate:
    affected = _enter(session, m, status, now) if status != m.status else []
    if status == MaintenanceStatus.completed.value and m.resolved_at is None:
        m.resolved_at = now
    if status == MaintenanceStatus.in_progress.value and m.status == MaintenanceStatus.scheduled.value:
        m.started_at = now
    m.status, m.updated_at = status, now
    update = StatusUpdate(status_incident_id=m.id, status=status, body=body, affected_components=affected or None,
                          deliver_notifications=deliver, actor_id=actor_id, display_at=now, created_at=now)
    session.add(update)
    session.flush()
    if deliver:
        subscribers.queue_update(session, now=now, page=page, status_incident=m, update=update)
    announce(session, page.id)
    return update


def schedule_maintenance(session: Session, *, actor: Principal, now: datetime, page: StatusPage, name: str,
                         body: str, scheduled_for: datetime, scheduled_until: datetime,
                         component_ids: Iterable[uuid.UUID | str] = (), auto_transition: bool = True,
                         deliver_notifications: bool = True) -> StatusIncident:
    """Announce a maintenance (responder); it starts `scheduled`. Raises Forbidden, InvalidInput, NotFound."""
    actor.require(OrgRole.responder, "scheduling maintenance")
    name = text_field("name", name, limit=MAX_INCIDENT_NAME, required=True)
    body = text_field("body", body, limit=MAX_TEXT, required=True)
    _window(scheduled_for, scheduled_until)
    if scheduled_until <= now:
        raise InvalidInput("the maintenance window is already over", details={"field": "scheduled_until"})
    comps = _components(session, page, component_ids)
    m = StatusIncident(page_id=page.id, kind=StatusIncidentKind.maintenance.value, incident_id=None, name=name,
                       status=MaintenanceStatus.scheduled.value, impact=Impact.maintenance.value,
                       started_at=scheduled_for, scheduled_for=scheduled_for, scheduled_until=scheduled_until,
                       auto_transition=auto_transition, created_by_id=actor.user_id, created_at=now, updated_at=now)
    session.add(m)
    session.flush()
    link_components(session, m, comps)
    session.flush()
    _post(session, page=page, m=m, status=MaintenanceStatus.scheduled.value, body=body, now=now,
          actor_id=actor.user_id, deliver=deliver_notifications)
    record(session, actor=actor, action="statuspage.maintenance_schedule", target_type="status_incident",
           target_id=m.id, now=now, details={"page": page.slug, "name": name, "scheduled_for": scheduled_for,
                                             "scheduled_until": scheduled_until,
                                             "components": [str(c.id) for c in comps]})
    return m


def update_maintenance(session: Session, *, actor: Principal, now: datetime, maintenance: StatusIncident,
                       status: str | None = None, body: str | None = None, name: str | None = None,
                       scheduled_for: datetime | None = None, scheduled_until: datetime | None = None,
                       component_ids: Iterable[uuid.UUID | str] | None = None, auto_transition: bool | None = None,
                       deliver_notifications: bool = True) -> StatusIncident:
    """Edit a maintenance and/or post an update (responder). A `status` or `body` posts an update
    (a status without a body gets the customary text). Raises Forbidden, InvalidInput, NotFound,
    IllegalTransition, Conflict (a completed maintenance cannot be edited)."""
    actor.require(OrgRole.responder, "updating maintenance")
    m = maintenance
    page = session.get(StatusPage, m.page_id)
    assert page is not None
    if m.status == MaintenanceStatus.completed.value:
        raise Conflict("this maintenance is completed; schedule a new one", details={"status": m.status})
    audit: dict[str, Any] = {}
    if name is not None:
        m.name = audit["name"] = text_field("name", name, limit=MAX_INCIDENT_NAME, required=True)
    if scheduled_for is not None or scheduled_until is not None:
        start, end = scheduled_for or m.scheduled_for, scheduled_until or m.scheduled_until
        assert start is not None and end is not None
        _window(start, end)
        m.scheduled_for, m.scheduled_until = start, end
        if m.status == MaintenanceStatus.scheduled.value:
            m.started_at = start
        audit["window"] = [start, end]
    if auto_transition is not None:
        m.auto_transition = audit["auto_transition"] = auto_transition
    if component_ids is not None:
        comps = _components(session, page, component_ids)
        session.execute(sa.delete(StatusIncidentComponent).where(StatusIncidentComponent.status_incident_id == m.id))
        session.flush()
        link_components(session, m, comps)
        audit["components"] = [str(c.id) for c in comps]
    if status is not None:
        enum_field("status", status, STATUSES)
        if status != m.status and status not in TRANSITIONS[m.status]:
            raise IllegalTransition(f"a maintenance cannot go from {m.status} to {status}",
                                    details={"from": m.status, "to": status})
    if body is not None:
        body = text_field("body", body, limit=MAX_TEXT, required=True)
    m.updated_at = now
    session.flush()
    if status is not None or body is not None:
        target = status or m.status
        audit["status"] = target
        _post(session, page=page, m=m, status=target, body=body or DEFAULT_BODIES.get(target, "Maintenance update."),
              now=now, actor_id=actor.user_id, deliver=deliver_notifications)
    else:
        announce(session, page.id)
    record(session, actor=actor, action="statuspage.maintenance_update", target_type="status_incident",
           target_id=m.id, now=now, details={"page": page.slug, **audit})
    return m


def advance_maintenances(session: Session, *, now: datetime) -> int:
    """Start auto-transitioning maintenances whose window has begun and complete those whose window
    has ended (a bounded batch, rows locked with SKIP LOCKED so two engines never do one twice);
    return how many moved."""
    S = MaintenanceStatus
    rows = list(session.execute(
        sa.select(StatusIncident).where(
            StatusIncident.kind == StatusIncidentKind.maintenance.value, StatusIncident.auto_transition.is_(True),
            sa.or_(sa.and_(StatusIncident.status == S.scheduled.value, StatusIncident.scheduled_for <= now),
                   sa.and_(StatusIncident.status.in_((S.in_progress.value, S.verifying.value)),
                           StatusIncident.scheduled_until <= now)))
        .order_by(StatusIncident.scheduled_for, StatusIncident.id).limit(BATCH)
        .with_for_update(skip_locked=True)).scalars())
    pages = {p.id: p for p in session.execute(
        sa.select(StatusPage).where(StatusPage.id.in_({m.page_id for m in rows}))).scalars()} if rows else {}
    for m in rows:
        page = pages[m.page_id]
        if m.status == S.scheduled.value:
            _post(session, page=page, m=m, status=S.in_progress.value, body=DEFAULT_BODIES[S.in_progress.value],
                  now=now, actor_id=None, deliver=True)
        if m.scheduled_until is not None and m.scheduled_until <= now:
            _post(session, page=page, m=m, status=S.completed.value, body=DEFAULT_BODIES[S.completed.value],
                  now=now, actor_id=None, deliver=True)
    return len(rows)


def upcoming_boundary(session: Session, *, now: datetime) -> datetime | None:
    """The next time an auto-transitioning maintenance starts or ends (for whoever wants to wake then)."""
    S = MaintenanceStatus
    starts = session.execute(sa.select(sa.func.min(StatusIncident.scheduled_for)).where(
        StatusIncident.kind == StatusIncidentKind.maintenance.value, StatusIncident.auto_transition.is_(True),
        StatusIncident.status == S.scheduled.value)).scalar()
    ends = session.execute(sa.select(sa.func.min(StatusIncident.scheduled_until)).where(
        StatusIncident.kind == StatusIncidentKind.maintenance.value, StatusIncident.auto_transition.is_(True),
        StatusIncident.status.in_((S.in_progress.value, S.verifying.value)))).scalar()
    found = [t for t in (starts, ends) if t is not None]
    return min(found) if found else None
