"""Fixtures for the adversarial suite (tests/security): users who can also log in to the console,
and a logged-in console client per user.

The suite's modules seed their own worlds (what a module reads is seeded once per test, through the
API as an admin would); the helpers they share live in tests/harness.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, WebUser, login


@pytest.fixture
def make_web_user(db, clock, system, make_person):
    """make_web_user(role="responder", name=None, teams=None) -> WebUser (API token and password)."""
    from tocsin.users.service import require_user, update_user

    def make(role: str = "responder", name: str | None = None, teams: list[str] | None = None) -> WebUser:
        person = make_person(role, teams=teams, name=name)
        with db.unit_of_work() as s:
            update_user(s, actor=system, now=clock.now(), user=require_user(s, person.id), password=PASSWORD)
        return WebUser(person.id, person.email, person.name, person.role, person.token)

    return make


@pytest.fixture
def console_as(app) -> Iterator:
    """console_as(user or None) -> a TestClient logged in to the console as `user` (None: anonymous)."""
    clients: list[TestClient] = []

    def make(user: WebUser | None) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False)
        clients.append(c)
        if user is not None:
            r = login(c, user.email, user.password)
            assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.close()
