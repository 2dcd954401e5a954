"""Teams and their members."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import get_by_key, require_by_key
from tocsin.errors import Conflict
from tocsin.principal import OrgRole, Principal
from tocsin.slugs import check_description, check_name, check_slug, slugify
from tocsin.teams.models import Team, TeamMember


class HasId(Protocol):
    """A user row, as far as membership needs it (teams sit below users, so it is not imported)."""

    @property
    def id(self) -> uuid.UUID: ...


def get_team(session: Session, key: str | uuid.UUID) -> Team | None:
    return get_by_key(session, Team, key)


def require_team(session: Session, key: str | uuid.UUID) -> Team:
    return require_by_key(session, Team, key, "team")


def list_teams(session: Session, *, after: uuid.UUID | None = None, limit: int = 50) -> list[Team]:
    stmt = sa.select(Team).order_by(Team.id).limit(limit)
    if after:
        stmt = stmt.where(Team.id > after)
    return list(session.execute(stmt).scalars())


def member_ids(session: Session, team_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.execute(sa.select(TeamMember.user_id).where(TeamMember.team_id == team_id)).scalars())


def member_counts(session: Session) -> dict[uuid.UUID, int]:
    """How many members each team has (teams without members are left out)."""
    return {tid: int(n) for tid, n in session.execute(
        sa.select(TeamMember.team_id, sa.func.count()).group_by(TeamMember.team_id)).all()}


def create_team(session: Session, *, actor: Principal, now: datetime, name: str, slug: str | None = None,
                description: str = "", is_security: bool = False) -> Team:
    actor.require(OrgRole.admin, "creating teams")
    name, description = check_name(name), check_description(description)
    slug = check_slug(slug) if slug else slugify(name)
    if get_team(session, slug):
        raise Conflict(f"a team with slug {slug} already exists", details={"slug": slug})
    team = Team(slug=slug, name=name, description=description, is_security=is_security, created_at=now)
    session.add(team)
    session.flush()
    record(session, actor=actor, action="team.create", target_type="team", target_id=team.id, now=now,
           details={"slug": slug, "is_security": is_security})
    return team


def update_team(session: Session, *, actor: Principal, now: datetime, team: Team, name: str | None = None,
                description: str | None = None, is_security: bool | None = None) -> Team:
    actor.require(OrgRole.admin, "changing teams")
    changes: dict[str, object] = {}
    if name is not None:
        team.name = changes["name"] = check_name(name)
    if description is not None:
        team.description = changes["description"] = check_description(description)
    if is_security is not None:
        team.is_security = changes["is_security"] = is_security
    if changes:
        record(session, actor=actor, action="team.update", target_type="team", target_id=team.id, now=now,
               details=changes)
    return team


def set_members(session: Session, *, actor: Principal, now: datetime, team: Team,
                users: Iterable[HasId]) -> list[uuid.UUID]:
    """Replace the team's members with `users` (user rows); return the new member ids."""
    actor.require(OrgRole.admin, "changing team members")
    before = set(member_ids(session, team.id))
    after = {u.id for u in users}
    for uid in before - after:
        session.execute(sa.delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == uid))
    for uid in after - before:
        session.add(TeamMember(team_id=team.id, user_id=uid))
    session.flush()
    if before != after:
        record(session, actor=actor, action="team.members", target_type="team", target_id=team.id, now=now,
               details={"added": sorted(str(u) for u in after - before),
                        "removed": sorted(str(u) for u in before - after)})
    return sorted(after)
