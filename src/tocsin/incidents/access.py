"""Need-to-know: the one place that decides which incidents a principal may see.

A restricted incident is visible to admins, members of a security team and its own
participants. To everyone else it does not exist: every incident query goes through
`visible()` and every lookup through `require_incident()`, which answers NotFound
rather than Forbidden so that not even its existence leaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.errors import NotFound
from tocsin.ids import parse_incident_ref, parse_uuid
from tocsin.incidents.models import Incident, Participant
from tocsin.principal import OrgRole, Principal
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User


def visibility_clause(principal: Principal) -> sa.ColumnElement[bool]:
    if principal.is_guest:  # an outside responder: the incidents of live grants only, restricted or not
        return Incident.id.in_(principal.guest_incidents) if principal.guest_incidents else sa.false()
    if principal.sees_all_restricted:
        return sa.true()
    if principal.user_id is None:
        return Incident.restricted.is_(False)
    is_participant = sa.exists().where(Participant.incident_id == Incident.id,
                                       Participant.user_id == principal.user_id)
    return sa.or_(Incident.restricted.is_(False), is_participant)


def visible(principal: Principal) -> sa.Select[Incident]:
    """Return a SELECT of the incidents `principal` may see; callers add filters and order."""
    return sa.select(Incident).where(visibility_clause(principal))


def get_incident(session: Session, principal: Principal, key: str | uuid.UUID, *,
                 for_update: bool = False) -> Incident | None:
    """Return the incident with this id or ref (INC-42) if the principal may see it, else None."""
    stmt = visible(principal)
    if isinstance(key, uuid.UUID):
        stmt = stmt.where(Incident.id == key)
    elif (number := parse_incident_ref(key)) is not None:
        stmt = stmt.where(Incident.number == number)
    elif (as_uuid := parse_uuid(key)) is not None:
        stmt = stmt.where(Incident.id == as_uuid)
    else:
        return None
    if for_update:
        stmt = stmt.with_for_update(of=Incident)
    return session.execute(stmt).scalar_one_or_none()


def require_incident(session: Session, principal: Principal, key: str | uuid.UUID, *,
                     for_update: bool = False) -> Incident:
    """Return the visible incident; raise NotFound (also for one the principal may not see)."""
    incident = get_incident(session, principal, key, for_update=for_update)
    if incident is None:
        raise NotFound(f"no incident {key}", details={"incident": str(key)})
    return incident


# --- who may see it: the people a message about an incident may reach ------------------------------

def _may_see_clause(incident: Incident) -> sa.ColumnElement[bool]:
    """On `User`: may this user see `incident`? (the person-side twin of `visibility_clause`). Outside
    (guest) responders never: they are not paged, reminded or given roles, whatever teams they are in."""
    staff = User.org_role != OrgRole.guest.value
    if not incident.restricted:
        return staff
    in_security_team = sa.exists().where(TeamMember.user_id == User.id, TeamMember.team_id == Team.id,
                                         Team.is_security.is_(True))
    is_participant = sa.exists().where(Participant.incident_id == incident.id, Participant.user_id == User.id)
    return sa.and_(staff, sa.or_(User.org_role == OrgRole.admin.value, in_security_team, is_participant))


def who_may_see(session: Session, incident: Incident, user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `user_ids` who may see the incident now (all of them for one that is not restricted).

    Paging, acknowledging a page and reminders ask this before a person gets the incident's words
    or a role in it: being paged must never be the way into a restricted incident."""
    if not user_ids:
        return set()
    return set(session.execute(sa.select(User.id).where(User.id.in_(set(user_ids)),
                                                        _may_see_clause(incident))).scalars())


def need_to_know(session: Session) -> list[User]:
    """Who is paged for a restricted incident when nobody its policy reaches may see it: the active
    members of the security teams, or, when they have none, the active admins."""
    security = list(session.execute(
        sa.select(User).where(User.is_active.is_(True), User.org_role != OrgRole.guest.value, sa.exists().where(
            TeamMember.user_id == User.id, TeamMember.team_id == Team.id, Team.is_security.is_(True)))
        .order_by(User.email)).scalars())
    if security:
        return security
    return list(session.execute(sa.select(User).where(User.is_active.is_(True), User.org_role == OrgRole.admin.value)
                                .order_by(User.email)).scalars())
