"""What incident changes do to paging.

- A SEV1 or SEV2 declared (or raised to one) without an Incident Commander pages the service's
  escalation policy for one (`escalation.incident_paging`).
- Someone taking the Incident Commander role stops that paging.
- An incident that is resolved or closed stops it.

Closing also needs the incident's postmortem status (the postmortems package builds on the
incidents package, so the incident update is given it from here).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.escalation import responders
from tocsin.escalation.incident_paging import page_for_commander, stop_for_incident
from tocsin.incidents import roles
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.types import Role, Status
from tocsin.postmortems.service import status_for_incident
from tocsin.principal import Principal
from tocsin.users.models import User

OVER = (Status.resolved.value, Status.closed.value)


def _has_commander(session: Session, incident: Incident) -> bool:
    return any(a.role == Role.incident_commander.value for a in roles.current_assignments(session, [incident.id]))


def declare(session: Session, *, actor: Principal, now: datetime, spec: incidents.Declaration) -> Incident:
    """Declare the incident; without an Incident Commander, a SEV1 or SEV2 pages for one."""
    incident = incidents.declare(session, actor=actor, now=now, spec=spec)
    if not _has_commander(session, incident):
        page_for_commander(session, incident, now)
    return incident


def update(session: Session, *, incident: Incident, actor: Principal, now: datetime, changes: dict[str, Any],
           postmortem_required: Collection[str] = incidents.DEFAULT_POSTMORTEM_SEVERITIES) -> Incident:
    """Apply the changes (see `incidents.service.update_incident`); when the status or severity moved,
    stop paging for an incident that is over, or page for a commander an active one lacks."""
    before = (incident.status, incident.severity)
    closing = changes.get("status") == Status.closed.value
    incidents.update_incident(session, incident=incident, actor=actor, now=now, changes=changes,
                              postmortem_required=postmortem_required,
                              postmortem_status=status_for_incident(session, incident.id) if closing else None)
    if (incident.status, incident.severity) != before:
        if incident.status in OVER:
            stop_for_incident(session, incident.id, f"the incident is {incident.status}", now)
        elif not _has_commander(session, incident):
            page_for_commander(session, incident, now)
    return incident


def assign_role(session: Session, *, incident: Incident, role: Role, user: User, actor: Principal,
                now: datetime) -> RoleAssignment:
    """Give `user` the role; an Incident Commander stops the paging for one."""
    assignment = roles.assign_role(session, incident=incident, role=role, user=user, actor=actor, now=now)
    if role == Role.incident_commander and actor.user_id is not None and incident.acknowledged_at is None:
        incident.acknowledged_at = now  # a person took command (answered the page for a commander)
    if role == Role.incident_commander:
        stop_for_incident(session, incident.id, f"{user.name} is now {roles.ROLE_LABELS[role]}", now)
    return assignment


def add_responders(session: Session, *, incident: Incident, actor: Principal, now: datetime,
                   targets: list[responders.Target], message: str) -> responders.Outcome:
    """Page people, teams or schedules' on-call into the running incident (`escalation.responders`);
    the delivery engine sends the pages after commit."""
    return responders.add(session, incident=incident, actor=actor, now=now, targets=targets, message=message)
