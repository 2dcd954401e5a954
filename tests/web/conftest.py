"""Fixtures for console (HTML) tests, shared with the incident-room tests.

For the ROOM helper (tests/web/test_room*.py) — what is here and how to use it:

- `make_web_user(role="responder", name=None, teams=None) -> WebUser`: a user (via `make_person`, so
  it also has an API token in `.token`/`.headers`) with the password `WebUser.password`.
- `web_client(user_or_role="responder") -> TestClient`: a NEW TestClient logged in through the real
  `/login` form (its own cookie jar, so several users can act at once). Pass a WebUser or a role.
  The client follows redirects by default; pass `follow_redirects=False` per request to see a 303.
- `login`, `csrf`, `post_form`, `new_incident`, `room_of`, `timeline`: the harness's console verbs
  (tests/harness/console.py); test modules import them from there.
- `world`: a service "checkout", schedule "primary", escalation policy "default" and status page
  "public" with a component (the console page tests use it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import WebUser, login


@pytest.fixture
def web_client(app, make_web_user) -> Iterator:
    clients: list[TestClient] = []

    def make(who: WebUser | str = "responder") -> TestClient:
        user = who if isinstance(who, WebUser) else make_web_user(who)
        c = TestClient(app, raise_server_exceptions=False)
        clients.append(c)
        response = login(c, user.email, user.password)
        assert response.status_code == 303, response.text
        c.user = user  # type: ignore[attr-defined]
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def world(db, clock, system, make_service, make_web_user):
    """A service, a schedule with a layer, an escalation policy and a status page with a component."""
    from tocsin.escalation import service as esc
    from tocsin.oncall import service as oncall
    from tocsin.services.service import require_service
    from tocsin.statuspage import service as sp
    from tocsin.users.service import require_user

    make_service("checkout")
    oncaller = make_web_user("responder", name="Olga Oncall")
    with db.unit_of_work() as s:
        schedule = oncall.create_schedule(s, actor=system, now=clock.now(), name="Primary", slug="primary")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=schedule, name="week", kind="weekly",
                            timezone="UTC", start=clock.now().replace(hour=0), shift_hours=168,
                            members=[str(oncaller.id)], restrictions=[])
        esc.create_policy(s, actor=system, now=clock.now(), name="Default", slug="default", repeat=1,
                                   levels=[{"delay_minutes": 10, "targets": [{"type": "schedule", "id": "primary"}]}])
        esc.set_service_policy(s, actor=system, now=clock.now(), service=require_service(s, "checkout"),
                               policy="default")
        page = sp.create_page(s, actor=system, now=clock.now(), slug="public", name="Public status")
        sp.create_component(s, actor=system, now=clock.now(), page=page, name="Checkout")
        require_user(s, oncaller.id)
    return {"oncaller": oncaller}
