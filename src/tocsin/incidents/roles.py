"""Incident roles (with the history of who held each when) and participants."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, Participant, RoleAssignment
from tocsin.incidents.types import (
    MULTI_HOLDER_ROLES,
    SECURITY_ONLY_ROLES,
    Kind,
    ParticipantKind,
    Role,
    TimelineKind,
)
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User

ROLE_LABELS = {
    Role.incident_commander: "Incident Commander", Role.scribe: "Scribe", Role.comms_lead: "Comms Lead",
    Role.sme: "Subject-Matter Expert", Role.customer_liaison: "Customer Liaison",
    Role.forensics_lead: "Forensics Lead", Role.legal: "Legal", Role.privacy_officer: "Privacy Officer",
}


def current_assignments(session: Session, incident_ids: list[uuid.UUID]) -> list[RoleAssignment]:
    if not incident_ids:
        return []
    return list(session.execute(
        sa.select(RoleAssignment).where(RoleAssignment.incident_id.in_(incident_ids), RoleAssignment.ended_at.is_(None))
        .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
    ).scalars())


def role_history(session: Session, incident_id: uuid.UUID) -> list[RoleAssignment]:
    return list(session.execute(
        sa.select(RoleAssignment).where(RoleAssignment.incident_id == incident_id)
        .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
    ).scalars())


def participants(session: Session, incident_id: uuid.UUID) -> list[Participant]:
    return list(session.execute(
        sa.select(Participant).where(Participant.incident_id == incident_id).order_by(Participant.joined_at)
    ).scalars())


def check_role_fits(role: Role, kind: Kind) -> None:
    if role in SECURITY_ONLY_ROLES and kind != Kind.security:
        raise InvalidInput(f"the {role.value} role exists only on security incidents", details={"role": role.value})


def _ensure_participant(session: Session, *, incident: Incident, user: User, kind: ParticipantKind,
                        actor: Principal, now: datetime, upgrade_only: bool) -> Participant | None:
    """Add or change a participant; with `upgrade_only`, never turn a responder into an observer."""
    row = session.get(Participant, (incident.id, user.id))
    if row is None:
        row = Participant(incident_id=incident.id, user_id=user.id, kind=kind.value, joined_at=now, updated_at=now)
        session.add(row)
        session.flush()
        timeline.append(session, incident=incident, kind=TimelineKind.participant_joined, actor=actor, now=now,
                        text=f"{user.name} joined as {kind.value}", data={"user_id": str(user.id), "kind": kind.value})
        return row
    if row.kind == kind.value or (upgrade_only and row.kind == ParticipantKind.responder.value):
        return row
    old = row.kind
    row.kind, row.updated_at = kind.value, now
    timeline.append(session, incident=incident, kind=TimelineKind.participant_changed, actor=actor, now=now,
                    text=f"{user.name} is now a {kind.value} (was {old})",
                    data={"user_id": str(user.id), "kind": kind.value, "previous": old})
    return row


# Who may be brought into a drill (issue 19) is decided by its drill services' escalation policies, a
# layer above this one: escalation/drill.py registers its check here when it is imported (the app, the
# engine and the CLI import it). With none registered, nobody is brought into a drill but by themselves.
DrillAdmission = Callable[[Session, Incident, dict[uuid.UUID, str]], None]
DRILL_ADMISSION: list[DrillAdmission] = []


def _only_participants(session: Session, incident: Incident, user: User, actor: Principal) -> None:
    """A drill takes in only its exercise's participants: adding someone else (a role, a participant)
    would make them pageable by the back door. Joining oneself stays open."""
    if not incident.drill or actor.user_id == user.id:
        return
    if not DRILL_ADMISSION:
        raise Forbidden("a drill takes in only the exercise's participants", details={"drill": True})
    for check in DRILL_ADMISSION:
        check(session, incident, {user.id: user.name})


def set_participant(session: Session, *, incident: Incident, user: User, kind: ParticipantKind,
                    actor: Principal, now: datetime) -> Participant:
    """Add `user` to the incident (or change how they take part).

    Anyone who can see the incident may join it themselves as an observer; making
    someone a responder, or adding someone else, needs the responder org role.
    """
    if not user.is_active:
        raise InvalidInput(f"{user.email} is deactivated", details={"user": user.email})
    if user.org_role == OrgRole.guest.value:
        raise InvalidInput(f"{user.email} is an outside responder: their guest access decides what they see",
                           details={"user": user.email})
    if not (actor.user_id == user.id and kind == ParticipantKind.observer):
        actor.require(OrgRole.responder, "adding responders or other people to an incident")
    if kind == ParticipantKind.responder and user.org_role == OrgRole.viewer.value:
        raise InvalidInput(f"{user.email} has the viewer role and can only observe", details={"user": user.email})
    _only_participants(session, incident, user, actor)
    if kind == ParticipantKind.observer:
        held = [a.role for a in current_assignments(session, [incident.id]) if a.user_id == user.id]
        if held:
            raise Conflict(f"{user.email} holds {', '.join(held)}; hand the role over before observing",
                           details={"roles": held})
    row = _ensure_participant(session, incident=incident, user=user, kind=kind, actor=actor, now=now,
                              upgrade_only=False)
    record(session, actor=actor, action="incident.participant", target_type="incident", target_id=incident.id,
           now=now, details={"user": user.email, "kind": kind.value})
    assert row is not None
    return row


def assign_role(session: Session, *, incident: Incident, role: Role, user: User, actor: Principal,
                now: datetime) -> RoleAssignment:
    """Give `user` the role, ending the previous holder's term for single-holder roles.

    Paging for an Incident Commander is stopped by `flows.incidents.assign_role`, which edges call."""
    actor.require(OrgRole.responder, "assigning incident roles")
    check_role_fits(role, Kind(incident.kind))
    if not user.is_active:
        raise InvalidInput(f"{user.email} is deactivated", details={"user": user.email})
    if user.org_role in (OrgRole.viewer.value, OrgRole.guest.value):
        raise InvalidInput(f"{user.email} has the {user.org_role} role and cannot hold an incident role",
                           details={"user": user.email})
    holders = [a for a in current_assignments(session, [incident.id]) if a.role == role.value]
    for a in holders:
        if a.user_id == user.id:
            return a  # already holds it: nothing changes, nothing recorded
    _only_participants(session, incident, user, actor)
    previous: list[uuid.UUID] = []
    if role not in MULTI_HOLDER_ROLES:
        for a in holders:
            a.ended_at, a.ended_by_id = now, actor.user_id
            previous.append(a.user_id)
    assignment = RoleAssignment(incident_id=incident.id, role=role.value, user_id=user.id,
                                assigned_by_id=actor.user_id, assigned_at=now)
    session.add(assignment)
    session.flush()
    _ensure_participant(session, incident=incident, user=user, kind=ParticipantKind.responder, actor=actor, now=now,
                        upgrade_only=True)
    prev_names = [u.name for u in (session.get(User, p) for p in previous) if u]
    text = f"{user.name} is now {ROLE_LABELS[role]}"
    if prev_names:
        text += f" (handed over from {', '.join(prev_names)})"
    timeline.append(session, incident=incident, kind=TimelineKind.role_assigned, actor=actor, now=now, text=text,
                    data={"role": role.value, "user_id": str(user.id), "previous": [str(p) for p in previous]},
                    key_event=role == Role.incident_commander)
    record(session, actor=actor, action="incident.role_assign", target_type="incident", target_id=incident.id,
           now=now, details={"role": role.value, "user": user.email})
    return assignment


def unassign_role(session: Session, *, incident: Incident, role: Role, actor: Principal, now: datetime,
                  user: User | None = None) -> int:
    """End the current term(s) of `role` (only `user`'s, when given); return how many ended.

    Any responder may vacate a role, e.g. when its holder cannot be reached.
    """
    actor.require(OrgRole.responder, "changing incident roles")
    ended = 0
    for a in current_assignments(session, [incident.id]):
        if a.role == role.value and (user is None or a.user_id == user.id):
            a.ended_at, a.ended_by_id = now, actor.user_id
            holder = session.get(User, a.user_id)
            timeline.append(session, incident=incident, kind=TimelineKind.role_unassigned, actor=actor, now=now,
                            text=f"{holder.name if holder else a.user_id} is no longer {ROLE_LABELS[role]}",
                            data={"role": role.value, "user_id": str(a.user_id)})
            ended += 1
    if ended:
        record(session, actor=actor, action="incident.role_unassign", target_type="incident", target_id=incident.id,
               now=now, details={"role": role.value, "user": user.email if user else None})
    elif user is not None:
        raise Conflict(f"{user.email} does not hold {role.value}", details={"role": role.value})
    return ended
