"""Users with API tokens, teams and services made directly through the services (not the API), for
fixtures and seeds: `make_person`, `make_team` and `make_service` in tests/conftest.py are these."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tocsin.clock import ManualClock
from tocsin.db import Database
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import create_service
from tocsin.teams.service import create_team, member_ids, require_team, set_members
from tocsin.users.service import create_token, create_user, require_user


@dataclass
class Person:
    """A user with a working API token."""

    id: uuid.UUID
    email: str
    name: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person_factory(db: Database, clock: ManualClock, system: Principal) -> Callable[..., Person]:
    """make(role="responder", teams=[slug...], name=None) -> Person, in `db`."""
    counter = iter(range(1, 10_000))

    def make(role: str = "responder", teams: list[str] | None = None, name: str | None = None) -> Person:
        n = next(counter)
        name = name or f"{role.capitalize()} {n}"
        with db.unit_of_work() as s:
            user = create_user(s, actor=system, now=clock.now(), email=f"{role}{n}@example.test", name=name,
                               org_role=OrgRole(role))
            _row, token = create_token(s, actor=system, now=clock.now(), user=user, name="tests")
            for slug in teams or []:
                team = require_team(s, slug)
                current = [require_user(s, uid) for uid in member_ids(s, team.id)]
                set_members(s, actor=system, now=clock.now(), team=team, users=current + [user])
            return Person(user.id, user.email, user.name, role, token)

    return make


def team_factory(db: Database, clock: ManualClock, system: Principal) -> Callable[..., uuid.UUID]:
    """make(slug, is_security=False) -> the new team's id, in `db`."""

    def make(slug: str, is_security: bool = False) -> uuid.UUID:
        with db.unit_of_work() as s:
            return create_team(s, actor=system, now=clock.now(), name=slug.title(), slug=slug,
                               is_security=is_security).id

    return make


def service_factory(db: Database, clock: ManualClock, system: Principal) -> Callable[..., uuid.UUID]:
    """make(slug, tier=2, owner_team=None, paging_unit="group") -> the new service's id, in `db`."""

    def make(slug: str, tier: int = 2, owner_team: str | None = None, paging_unit: str = "group") -> uuid.UUID:
        with db.unit_of_work() as s:
            return create_service(s, actor=system, now=clock.now(), name=slug.title(), slug=slug, tier=tier,
                                  owner_team=owner_team, paging_unit=paging_unit).id

    return make
