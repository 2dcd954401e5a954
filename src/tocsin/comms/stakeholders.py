"""Stakeholders: people and teams who receive an incident's updates without being responders.

A subscription names a person or a team, optionally a service (incidents touching it) and a minimum
severity (that severity or worse). An update posted to stakeholders is queued, per person, on the
paging outbox (kind "stakeholder", low urgency: their rules' immediate channels, else their account
email), so it leaves by email, SMS, Slack... like any notification. Need-to-know holds: a restricted
incident's update reaches only the stakeholders who may see it (`who_may_see`); the others get
nothing. A drill's updates reach nobody (the caller notes how many were spared).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.comms.models import StakeholderSubscription
from tocsin.contacts.service import Route, routes_for
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident, IncidentService
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.severities import parse_severity
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User

URGENCY = "low"  # an update informs; it never wakes anyone


@dataclass(frozen=True)
class SubscriptionView:
    id: uuid.UUID
    user: str | None
    team: str | None
    service: str | None
    min_severity: str | None


def _member(s: Session, team_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    return user_id is not None and s.get(TeamMember, (team_id, user_id)) is not None


def _may_manage(s: Session, actor: Principal, sub: StakeholderSubscription) -> bool:
    if actor.is_admin:
        return True
    if sub.user_id is not None:
        return sub.user_id == actor.user_id
    return sub.team_id is not None and _member(s, sub.team_id, actor.user_id)


def subscribe(s: Session, *, actor: Principal, now: datetime, team: str | None = None, service: str | None = None,
              min_severity: str | None = None, user_id: uuid.UUID | None = None) -> StakeholderSubscription:
    """Subscribe the actor (or, for an admin, `user_id`), or a team (its members and admins may)."""
    actor.require(OrgRole.viewer, "subscribing to incident updates")
    if actor.is_guest:
        raise Forbidden("outside responders cannot subscribe to incident updates")
    team_row = None
    if team:
        team_row = s.execute(sa.select(Team).where(Team.slug == team)).scalar_one_or_none()
        if team_row is None:
            raise InvalidInput(f"no team {team!r}", details={"field": "team"})
        if not (actor.is_admin or _member(s, team_row.id, actor.user_id)):
            raise Forbidden("only the team's members and admins subscribe a team")
    elif user_id is not None and user_id != actor.user_id:
        actor.require(OrgRole.admin, "subscribing someone else")
        if s.get(User, user_id) is None:
            raise InvalidInput("no such person", details={"field": "user_id"})
    service_row = None
    if service:
        service_row = s.execute(sa.select(Service).where(Service.slug == service)).scalar_one_or_none()
        if service_row is None:
            raise InvalidInput(f"no service {service!r}", details={"field": "service"})
    sev = None
    if min_severity:
        try:
            sev = parse_severity(min_severity).value
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"field": "min_severity"}) from None
    who = None if team_row else (user_id or actor.require_user_id())
    row = StakeholderSubscription(id=new_id(), user_id=who, team_id=team_row.id if team_row else None,
                                  service_id=service_row.id if service_row else None, min_severity=sev, created_at=now)
    s.add(row)
    s.flush()
    record(s, actor=actor, action="comms.stakeholder_subscribed", target_type="stakeholder_subscription",
           target_id=row.id, now=now, details={"team": team, "service": service, "min_severity": sev,
                                               "user": str(who) if who else None})
    return row


def unsubscribe(s: Session, sub_id: uuid.UUID, *, actor: Principal, now: datetime) -> None:
    row = s.get(StakeholderSubscription, sub_id)
    if row is None:
        raise NotFound("no such subscription")
    if not _may_manage(s, actor, row):
        raise Forbidden("only the subscriber, the team's members or an admin may remove a subscription")
    record(s, actor=actor, action="comms.stakeholder_unsubscribed", target_type="stakeholder_subscription",
           target_id=row.id, now=now)
    s.delete(row)
    s.flush()


def list_for(s: Session, actor: Principal) -> list[SubscriptionView]:
    """Admins see every subscription; others their own and their teams'."""
    q = sa.select(StakeholderSubscription).order_by(StakeholderSubscription.created_at, StakeholderSubscription.id)
    if not actor.is_admin:
        teams = sa.select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)
        q = q.where(sa.or_(StakeholderSubscription.user_id == actor.user_id,
                           StakeholderSubscription.team_id.in_(teams)))
    rows = list(s.execute(q).scalars())
    users = {u.id: u.name for u in s.execute(sa.select(User).where(
        User.id.in_({r.user_id for r in rows if r.user_id}))).scalars()}
    teams_ = {t.id: t.slug for t in s.execute(sa.select(Team).where(
        Team.id.in_({r.team_id for r in rows if r.team_id}))).scalars()}
    services = {x.id: x.slug for x in s.execute(sa.select(Service).where(
        Service.id.in_({r.service_id for r in rows if r.service_id}))).scalars()}
    return [SubscriptionView(id=r.id, user=users.get(r.user_id) if r.user_id else None,
                             team=teams_.get(r.team_id) if r.team_id else None,
                             service=services.get(r.service_id) if r.service_id else None,
                             min_severity=r.min_severity) for r in rows]


def _rank(severity: str) -> int:
    return int(severity[-1]) if severity[-1:].isdigit() else 9


def stakeholders_of(s: Session, incident: Incident) -> list[User]:
    """Every active person subscribed (directly or by a team) to this incident's services and severity,
    before need-to-know."""
    services = sa.select(IncidentService.service_id).where(IncidentService.incident_id == incident.id)
    subs = list(s.execute(sa.select(StakeholderSubscription).where(
        sa.or_(StakeholderSubscription.service_id.is_(None), StakeholderSubscription.service_id.in_(services)))
    ).scalars())
    subs = [x for x in subs if x.min_severity is None or _rank(incident.severity) <= _rank(x.min_severity)]
    ids = {x.user_id for x in subs if x.user_id}
    team_ids = {x.team_id for x in subs if x.team_id}
    if team_ids:
        ids |= set(s.execute(sa.select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))).scalars())
    if not ids:
        return []
    return list(s.execute(sa.select(User).where(User.id.in_(ids), User.is_active.is_(True))
                          .order_by(User.email)).scalars())


def recipients(s: Session, incident: Incident, *, author: uuid.UUID | None = None) -> list[User]:
    """The stakeholders an update of this incident goes to: those who may see it, but its author."""
    people = [u for u in stakeholders_of(s, incident) if u.id != author]
    allowed = who_may_see(s, incident, [u.id for u in people])
    return [u for u in people if u.id in allowed]


def pick_now(routes: list[Route]) -> list[Route]:
    """The routes a low-urgency message goes to: the person's immediate ones (delay 0), else their first."""
    now_routes = [r for r in routes if r.delay_minutes == 0]
    return now_routes or routes[:1]


def send(s: Session, incident: Incident, people: list[User], *, entry_id: uuid.UUID, subject: str, body: str,
         now: datetime) -> int:
    """Queue the update to each person through their channels; return how many people."""
    routes = routes_for(s, people, URGENCY)
    for person in people:
        for route in pick_now(routes.get(person.id, [])):
            tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
            s.add(Notification(id=new_id(), user_id=person.id, alert_id=None, incident_id=incident.id,
                               escalation_id=None, contact_method_id=route.contact_method_id, channel=route.channel,
                               destination=route.destination, kind="stakeholder", subject=subject[:300], body=body,
                               idempotency_key=f"stakeholder:{entry_id}:{person.id}:{tag}", status="queued",
                               created_at=now, send_after=now, attempts=0))
    s.flush()
    return len(people)
