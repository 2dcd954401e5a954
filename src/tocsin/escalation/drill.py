"""Drill mode's paging rule (issue 19): a drill pages only the exercise's participants.

An exercise runs through the real pipeline on a drill service (`Service.drill`) whose escalation
policy names its participants. Whatever pages from a drill incident (adding responders, paging a
team from the room, paging for an Incident Commander) may reach only the people of the policies
of the incident's drill services and those already taking part in the incident. This module is
the one place that says who they are; every paging path asks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.errors import Forbidden
from tocsin.escalation.models import EscalationLevel
from tocsin.incidents import roles
from tocsin.incidents.models import Incident, IncidentService, Participant
from tocsin.oncall.models import ScheduleLayer, ScheduleLayerMember
from tocsin.services.models import Service
from tocsin.teams.models import TeamMember
from tocsin.users.models import User

ONLY_PARTICIPANTS = "a drill pages only the exercise's participants"


def drill_services(s: Session, incident: Incident) -> list[Service]:
    """The incident's drill services (an exercise's stand-ins), by slug."""
    return list(s.execute(sa.select(Service).join(IncidentService, IncidentService.service_id == Service.id)
                          .where(IncidentService.incident_id == incident.id, Service.drill.is_(True))
                          .order_by(Service.slug)).scalars())


def policy_people(s: Session, policy_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Everyone an escalation policy can reach: its users, its schedules' members, its teams' members."""
    ids = set(policy_ids)
    if not ids:
        return set()
    return target_people(s, [t for targets in s.execute(sa.select(EscalationLevel.targets).where(
        EscalationLevel.policy_id.in_(ids))).scalars() for t in targets or []])


def target_people(s: Session, targets: Iterable[Mapping[str, Any]]) -> set[uuid.UUID]:
    """Everyone these policy level targets can reach: the users, the schedules' members, the teams' members."""
    users: set[uuid.UUID] = set()
    schedules: set[uuid.UUID] = set()
    teams: set[uuid.UUID] = set()
    for t in targets:
        try:
            tid = uuid.UUID(str(t.get("id")))
        except ValueError:
            continue
        {"user": users, "schedule": schedules, "team": teams}.get(str(t.get("type")), set()).add(tid)
    if schedules:
        users |= set(s.execute(sa.select(ScheduleLayerMember.user_id)
                               .join(ScheduleLayer, ScheduleLayer.id == ScheduleLayerMember.layer_id)
                               .where(ScheduleLayer.schedule_id.in_(schedules))).scalars())
    if teams:
        users |= set(s.execute(sa.select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))).scalars())
    return users


def participants(s: Session, incident: Incident) -> set[uuid.UUID] | None:
    """Who a drill incident may page (None: it is not a drill, anyone may be paged)."""
    if not incident.drill:
        return None
    policies = {svc.escalation_policy_id for svc in drill_services(s, incident) if svc.escalation_policy_id}
    taking_part = set(s.execute(sa.select(Participant.user_id).where(Participant.incident_id == incident.id)).scalars())
    return policy_people(s, policies) | taking_part


def outsiders(s: Session, incident: Incident, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Of these people, those a drill incident may not page (none for a real incident)."""
    allowed = participants(s, incident)
    return set() if allowed is None else {u for u in user_ids if u not in allowed}


def require_participants(s: Session, incident: Incident, people: dict[uuid.UUID, str]) -> None:
    """Refuse (Forbidden) paging anyone outside a drill's participants; `people` maps ids to names."""
    out = outsiders(s, incident, people)
    if out:
        names = ", ".join(sorted(people[u] for u in out))
        raise Forbidden(f"{ONLY_PARTICIPANTS}: {names} {'is' if len(out) == 1 else 'are'} not taking part",
                        details={"drill": True, "users": sorted(str(u) for u in out)})


roles.DRILL_ADMISSION.append(require_participants)  # roles, below, asks before it brings anyone into a drill


def alert_participants(s: Session, alert: Alert) -> set[uuid.UUID] | None:
    """Who a drill alert (one of a drill service) may page: its service's policy's people, and those
    taking part in the drill incident it is attached to. None: not a drill alert, anyone may be paged."""
    service = s.get(Service, alert.service_id)
    if service is None or not service.drill:
        return None
    allowed = policy_people(s, [service.escalation_policy_id] if service.escalation_policy_id else [])
    incident = s.get(Incident, alert.incident_id) if alert.incident_id else None
    if incident is not None:
        allowed |= participants(s, incident) or set()
    return allowed


def require_alert_participants(s: Session, alert: Alert, targets: Iterable[Mapping[str, Any]]) -> None:
    """Refuse (Forbidden) paging a drill alert to anyone outside its exercise's participants."""
    allowed = alert_participants(s, alert)
    if allowed is None:
        return
    out = target_people(s, targets) - allowed
    if out:
        names = ", ".join(sorted(u.name for u in s.execute(sa.select(User).where(User.id.in_(out))).scalars()))
        raise Forbidden(f"{ONLY_PARTICIPANTS}: {names} {'is' if len(out) == 1 else 'are'} not taking part",
                        details={"drill": True, "users": sorted(str(u) for u in out)})
