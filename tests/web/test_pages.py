"""Every console page renders for a responder, needs a login, and keeps its security headers."""

from __future__ import annotations

import pytest

from tests.support import declare

PAGES = ["/", "/alerts", "/alerts?status=triggered", "/services", "/services/checkout", "/schedules",
         "/schedules/primary", "/schedules/primary?week=2026-03-02", "/escalation-policies",
         "/escalation-policies/default", "/users", "/silences", "/status-pages", "/status-pages/public",
         "/reports", "/me"]


@pytest.fixture
def world(db, clock, system, make_service, make_web_user):
    """A service, a schedule with a layer, an escalation policy, a status page and an incident."""
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
        policy = esc.create_policy(s, actor=system, now=clock.now(), name="Default", slug="default", repeat=1,
                                   levels=[{"delay_minutes": 10, "targets": [{"type": "schedule", "id": "primary"}]}])
        esc.set_service_policy(s, actor=system, now=clock.now(), service=require_service(s, "checkout"),
                               policy="default")
        page = sp.create_page(s, actor=system, now=clock.now(), slug="public", name="Public status")
        sp.create_component(s, actor=system, now=clock.now(), page=page, name="Checkout")
        require_user(s, oncaller.id)
    return {"oncaller": oncaller}


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_for_a_responder(web_client, world, path):
    client = web_client("responder")
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert '<a class="skip-link" href="#main">' in text and '<main id="main"' in text
    assert 'id="declare-open"' in text and 'id="declare-form" method="post" action="/incidents"' in text
    assert "<script>" not in text and "style=" not in text  # CSP: nothing inline


@pytest.mark.parametrize("path", PAGES + ["/users/00000000-0000-0000-0000-000000000000", "/reports/view"])
def test_page_needs_login(client, world, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
