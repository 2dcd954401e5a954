"""Public incidents: posting customer-facing updates (from the API, the incident room or a
postmortem), what the room offers, and reading incidents with their updates.

A public incident has its own name and text written for customers; the internal title and
summary are never copied. A restricted internal incident is never linked from a public row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, IncidentService
from tocsin.incidents.types import TimelineKind
from tocsin.principal import OrgRole, Principal
from tocsin.statuspage import subscribers
from tocsin.statuspage.common import (
    COMPONENT_STATUSES,
    INCIDENT_IMPACTS,
    INCIDENT_STATUSES,
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
from tocsin.statuspage.models import (
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusPage,
    StatusUpdate,
)
from tocsin.statuspage.types import (
    COMPONENT_SEVERITY,
    FINISHED,
    MAINTENANCE_ACTIVE,
    UNRESOLVED,
    ComponentStatus,
    IncidentStatus,
    StatusIncidentKind,
    impact_for,
)

_IMPACT_RANK = {v: i for i, v in enumerate(INCIDENT_IMPACTS)}
DRILL_NEVER_PUBLIC = "a drill never reaches a public status page: this incident is an exercise's"


def component_offers(session: Session, *, incident: Incident) -> list[tuple[StatusPage, list[StatusComponent]]]:
    """Pages with the components linked to the incident's services (what the room's public update form
    offers); when no component is linked to them, every page with all its components."""
    service_ids = list(session.execute(sa.select(IncidentService.service_id)
                                       .where(IncidentService.incident_id == incident.id)).scalars())
    stmt = (sa.select(StatusComponent).where(StatusComponent.is_group.is_(False))
            .order_by(StatusComponent.position, StatusComponent.id))
    linked = list(session.execute(stmt.where(StatusComponent.service_id.in_(service_ids))).scalars()) \
        if service_ids else []
    rows = linked or list(session.execute(stmt).scalars())
    pages = {p.id: p for p in session.execute(sa.select(StatusPage).order_by(StatusPage.name, StatusPage.id)).scalars()}
    by_page: dict[uuid.UUID, list[StatusComponent]] = {pid: [] for pid in pages}
    for c in rows:
        by_page[c.page_id].append(c)
    return [(pages[pid], comps) for pid, comps in by_page.items() if comps or not linked]


# --- public incidents ----------------------------------------------------------------------------

def require_status_incident(session: Session, page: StatusPage, sid: uuid.UUID | str,
                            kind: StatusIncidentKind = StatusIncidentKind.incident) -> StatusIncident:
    try:
        key = sid if isinstance(sid, uuid.UUID) else uuid.UUID(str(sid))
    except ValueError:
        key = None
    row = session.get(StatusIncident, key) if key else None
    if row is None or row.page_id != page.id or row.kind != kind.value:
        raise NotFound(f"no {'maintenance' if kind == StatusIncidentKind.maintenance else 'public incident'} "
                       f"{sid} on status page {page.slug}", details={"id": str(sid)})
    return row


def list_status_incidents(session: Session, *, page: StatusPage, kind: StatusIncidentKind, limit: int = 50,
                          before: uuid.UUID | None = None) -> list[StatusIncident]:
    """Newest first (ids are time-ordered)."""
    stmt = (sa.select(StatusIncident).where(StatusIncident.page_id == page.id, StatusIncident.kind == kind.value)
            .order_by(StatusIncident.id.desc()).limit(limit))
    if before:
        stmt = stmt.where(StatusIncident.id < before)
    return list(session.execute(stmt).scalars())


def updates_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StatusUpdate]]:
    """Each status incident's updates, newest first (as Statuspage lists them)."""
    out: dict[uuid.UUID, list[StatusUpdate]] = {i: [] for i in ids}
    if ids:
        for u in session.execute(sa.select(StatusUpdate).where(StatusUpdate.status_incident_id.in_(ids))
                                 .order_by(StatusUpdate.display_at.desc(), StatusUpdate.id.desc())).scalars():
            out[u.status_incident_id].append(u)
    return out


def _linked_public_incident(session: Session, page: StatusPage, incident: Incident) -> StatusIncident | None:
    return session.execute(
        sa.select(StatusIncident).where(StatusIncident.page_id == page.id, StatusIncident.incident_id == incident.id,
                                        StatusIncident.kind == StatusIncidentKind.incident.value)
        .order_by(StatusIncident.id.desc()).limit(1)).scalar_one_or_none()


def public_incident_for(session: Session, *, page: StatusPage, incident: Incident) -> StatusIncident | None:
    """The public incident on `page` posted from `incident`, if any (the room prefills its name)."""
    return _linked_public_incident(session, page, incident)


def _components_for(session: Session, page: StatusPage,
                    component_statuses: dict[uuid.UUID, str] | None) -> list[tuple[StatusComponent, str]]:
    out = []
    for cid, status in (component_statuses or {}).items():
        component = require_component(session, page, cid)
        if component.is_group:
            raise InvalidInput(f"{component.name} is a group: post the statuses of its components",
                               details={"component": str(cid)})
        out.append((component, enum_field("component status", status, COMPONENT_STATUSES)))
    return out


def still_affected_elsewhere(session: Session, si: StatusIncident) -> set[uuid.UUID]:
    """Components another unresolved incident or running maintenance on the page also holds."""
    return set(session.execute(
        sa.select(StatusIncidentComponent.component_id)
        .join(StatusIncident, StatusIncident.id == StatusIncidentComponent.status_incident_id)
        .where(StatusIncident.page_id == si.page_id, StatusIncident.id != si.id,
               StatusIncident.status.in_((*UNRESOLVED, *MAINTENANCE_ACTIVE)))).scalars())


def _timeline(session: Session, *, incident: Incident, actor: Principal, now: datetime, page: StatusPage,
              si: StatusIncident, status: str, notice: bool) -> None:
    text = f"Status page update posted: {status}"
    if notice:
        text += " (as a separate public notice: the incident is restricted)"
    timeline.append(session, incident=incident, kind=TimelineKind.status_page, actor=actor, now=now, text=text,
                    data={"page": page.slug, "status_incident_id": str(si.id), "status": status,
                          "public_name": si.name})


def post_incident_update(session: Session, *, actor: Principal, now: datetime, page: StatusPage,
                         incident: Incident | None = None, status_incident: StatusIncident | None = None,
                         name: str | None = None, status: str, body: str,
                         component_statuses: dict[uuid.UUID, str] | None = None, impact: str | None = None,
                         deliver_notifications: bool = True) -> StatusIncident:
    """Post a customer-facing update (responder) and return the public incident.

    The first post creates the public incident (`name` required: the title customers see; the
    internal title is never used). Later posts from the same internal incident, or naming
    `status_incident`, append to it. Component statuses are applied and recorded in the
    update; resolving returns the incident's other components to operational. A restricted
    internal incident: Forbidden unless admin, and an admin's post is a separate notice not
    linked to it. A drill (issue 19) never reaches a status page: Conflict. Raises Forbidden, InvalidInput, NotFound, Conflict (a postmortem before
    the incident is resolved)."""
    actor.require(OrgRole.responder, "posting status page updates")
    if incident is not None and incident.drill:
        raise Conflict(DRILL_NEVER_PUBLIC, details={"drill": True})
    notice = incident is not None and incident.restricted
    if notice and not actor.is_admin:
        raise Forbidden("this incident is restricted: only an admin may post a (separate) public notice about it")
    enum_field("status", status, INCIDENT_STATUSES)
    body = text_field("body", body, limit=MAX_TEXT, required=True)
    if impact is not None:
        enum_field("impact", impact, INCIDENT_IMPACTS)
    changes = _components_for(session, page, component_statuses)
    si = status_incident
    if si is not None and (si.page_id != page.id or si.kind != StatusIncidentKind.incident.value):
        raise NotFound(f"no public incident {si.id} on status page {page.slug}")
    if si is None and incident is not None and not notice:
        si = _linked_public_incident(session, page, incident)
    if name is not None and name.strip():
        name = text_field("name", name, limit=MAX_INCIDENT_NAME, required=True)
    if si is None:
        if not name:
            raise InvalidInput("a new public incident needs a name: the title customers see", details={"field": "name"})
        if status == IncidentStatus.postmortem.value:
            raise Conflict("a postmortem follows a resolved incident; this one does not exist yet")
        si = StatusIncident(page_id=page.id, kind=StatusIncidentKind.incident.value,
                            incident_id=None if notice or incident is None else incident.id, name=name,
                            status=status, impact=impact or impact_for([s for _, s in changes]), started_at=now,
                            auto_transition=False, created_by_id=actor.user_id, created_at=now, updated_at=now)
        session.add(si)
        session.flush()
        created = True
    else:
        created = False
        if status == IncidentStatus.postmortem.value and si.status not in FINISHED:
            raise Conflict("a postmortem can be posted once the public incident is resolved",
                           details={"status": si.status})
        if name and name != si.name:
            si.name = name
        implied = impact_for([s for _, s in changes])
        if impact is not None:
            si.impact = impact
        elif _IMPACT_RANK.get(implied, 0) > _IMPACT_RANK.get(si.impact, 0):
            si.impact = implied
    affected = [apply_status(session, c, s, now) for c, s in changes]
    link_components(session, si, [c for c, _ in changes])
    if status == IncidentStatus.resolved.value:
        given = {c.id for c, _ in changes}
        held = still_affected_elsewhere(session, si)
        for c in components_of(session, [si.id])[si.id]:
            if c.id not in given and c.id not in held and c.status != ComponentStatus.operational.value:
                affected.append(apply_status(session, c, ComponentStatus.operational.value, now))
    if status == IncidentStatus.monitoring.value and si.monitoring_at is None:
        si.monitoring_at = now
    if status == IncidentStatus.resolved.value:
        si.resolved_at = now
    elif status in UNRESOLVED:
        si.resolved_at = None
    si.status, si.updated_at = status, now
    update = StatusUpdate(status_incident_id=si.id, status=status, body=body, affected_components=affected or None,
                          deliver_notifications=deliver_notifications, actor_id=actor.user_id, display_at=now,
                          created_at=now)
    session.add(update)
    session.flush()
    record(session, actor=actor, action="statuspage.incident_create" if created else "statuspage.incident_update",
           target_type="status_incident", target_id=si.id, now=now,
           details={"page": page.slug, "status": status, "name": si.name, "impact": si.impact,
                    "components": {a["code"]: a["new_status"] for a in affected}, "separate_notice": notice})
    if incident is not None:
        _timeline(session, incident=incident, actor=actor, now=now, page=page, si=si, status=status, notice=notice)
    if deliver_notifications:
        subscribers.queue_update(session, now=now, page=page, status_incident=si, update=update)
    announce(session, page.id)
    return si


def worst_status(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: COMPONENT_SEVERITY.get(s, 0), default=ComponentStatus.operational.value)


# --- postmortems ---------------------------------------------------------------------------------

def publish_postmortem(session: Session, *, actor: Principal, now: datetime, postmortem: Any,
                       page: StatusPage, body: str | None = None) -> StatusIncident:
    """Post the postmortem's `public_text` (or `body`, the text Legal approved for it) as a `postmortem`
    update of the public incident posted from its incident on `page` (responder); stamp
    `public_published_at`. Raises InvalidInput (no public text), Conflict (no public incident posted
    from it there, or not resolved yet)."""
    actor.require(OrgRole.responder, "publishing postmortems to a status page")
    text = body if body is not None else postmortem.public_text
    if not (text or "").strip():
        raise InvalidInput("the postmortem has no public text: write the customer-facing version first",
                           details={"field": "public_text"})
    incident = session.get(Incident, postmortem.incident_id)
    si = _linked_public_incident(session, page, incident) if incident is not None else None
    if si is None:
        raise Conflict(f"no public incident on status page {page.slug} was posted from this incident",
                       details={"page": page.slug})
    si = post_incident_update(session, actor=actor, now=now, page=page, incident=incident, status_incident=si,
                              status=IncidentStatus.postmortem.value, body=text)
    postmortem.public_published_at = now
    record(session, actor=actor, action="postmortem.publish_public", target_type="postmortem",
           target_id=postmortem.id, now=now, details={"page": page.slug, "status_incident": str(si.id)})
    return si



def first_update_times(session: Session, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When the first public update was posted from each internal incident (reports: time to first
    status-page update). Separate notices about restricted incidents are not linked, so not counted."""
    if not incident_ids:
        return {}
    rows = session.execute(
        sa.select(StatusIncident.incident_id, sa.func.min(StatusUpdate.created_at))
        .join(StatusUpdate, StatusUpdate.status_incident_id == StatusIncident.id)
        .where(StatusIncident.incident_id.in_(incident_ids), StatusIncident.kind == StatusIncidentKind.incident.value)
        .group_by(StatusIncident.incident_id)).all()
    # incident_id is nullable (a separate notice), but the IN above only matches linked ones
    return {incident_id: at for incident_id, at in rows if incident_id is not None}
