"""Console behaviour as a user sees it: dashboard, schedules, invites, tokens, silences, roles, escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, csrf, login, post_form
from tests.harness.incidents import declare


def test_dashboard_shows_open_incident_and_who_is_on_call(web_client, world):
    client = web_client("responder")
    incident = declare(client, client.user, title="Payments are failing", severity="SEV1")
    page = client.get("/")
    assert page.status_code == 200
    assert f'<a href="/incidents/{incident["ref"]}">{incident["ref"]}</a> Payments are failing' in page.text
    assert 'class="sev sev-sev1"' in page.text
    assert client.user.name in page.text  # the declarer is the incident commander
    oncall = page.text.split('id="h-oncall"')[1].split("</section>")[0]
    assert "Primary" in oncall and "Olga Oncall" in oncall


def test_dashboard_hides_restricted_incidents_from_others(web_client, world, make_team):
    make_team("sec", is_security=True)
    insider, outsider = web_client("responder"), web_client("responder")
    r = insider.post("/api/v1/incidents", json={"title": "Secret breach", "severity": "SEV1", "kind": "security",
                                                "restricted": True}, headers=insider.user.headers)
    assert r.status_code == 201, r.text
    assert "Secret breach" not in outsider.get("/").text


def test_week_view_shows_an_override_added_from_the_form(web_client, world, clock):
    client = web_client("responder")
    token = csrf(client, "/schedules/primary")
    start = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    end = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT14:00")
    r = post_form(client, "/schedules/primary/overrides", {"start": start, "end": end, "user": str(client.user.id)},
                  token=token)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    week = page.text.split('id="week-view"')[1].split("</div>")[0]
    blocks = re.findall(r'<li class="shift override" data-source="override">\s*<strong>([^<]+)</strong><br>(\d\d:\d\d–\d\d:\d\d)',
                        week)
    assert blocks == [(client.user.name, "10:00–14:00")]
    assert "Olga Oncall" in week  # the layer's shifts around it


def test_week_view_uses_the_viewers_time_zone_and_pages(web_client, world, db, clock, system):
    from tocsin.users.service import require_user, update_user

    client = web_client("responder")
    with db.unit_of_work() as s:
        update_user(s, actor=system, now=clock.now(), user=require_user(s, client.user.id), time_zone="Asia/Tokyo")
    page = client.get("/schedules/primary?week=2026-01-07")
    assert "Week of 05 January 2026" in page.text and "(Asia/Tokyo)" in page.text
    assert 'href="/schedules/primary?week=2025-12-29"' in page.text
    assert 'href="/schedules/primary?week=2026-01-12"' in page.text


def test_invite_flow_admin_link_set_password_logged_in_once(web_client, app, clock):
    admin = web_client("admin")
    r = post_form(admin, "/users/invite", {"name": "Nina New", "email": "nina@example.test",
                                           "org_role": "responder"}, page="/users")
    assert r.status_code == 200
    link = re.search(r'id="invite-link">([^<]+)<', r.text).group(1)
    path = "/invite/" + link.rsplit("/invite/", 1)[1]
    guest = TestClient(app, raise_server_exceptions=False)
    assert 'value="Nina New"' in guest.get(path).text
    r = guest.post(path, data={"name": "Nina N.", "password": "a good long password"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Nina N." in guest.get("/").text
    assert TestClient(app).get(path).status_code == 404  # used once
    assert TestClient(app).post(path, data={"name": "x", "password": "another password"}).status_code == 404
    assert login(TestClient(app), "nina@example.test", "a good long password").status_code == 303


def test_invite_link_expires(web_client, app, clock):
    admin = web_client("admin")
    r = post_form(admin, "/users/invite", {"name": "Late Larry", "email": "larry@example.test",
                                           "org_role": "viewer"}, page="/users")
    path = "/invite/" + re.search(r'/invite/([A-Za-z0-9_-]+)', r.text).group(1)
    clock.advance(days=7, minutes=1)
    guest = TestClient(app, raise_server_exceptions=False)
    assert guest.get(path).status_code == 404
    assert guest.post(path, data={"name": "L", "password": "a good long password"}).status_code == 404


def test_invite_short_password_is_a_readable_error(web_client, app):
    admin = web_client("admin")
    r = post_form(admin, "/users/invite", {"name": "Pat", "email": "pat@example.test", "org_role": "viewer"},
                  page="/users")
    path = "/invite/" + re.search(r'/invite/([A-Za-z0-9_-]+)', r.text).group(1)
    r = TestClient(app).post(path, data={"name": "Pat", "password": "short"})
    assert r.status_code == 400 and "at least 8 characters" in r.text
    assert TestClient(app).get(path).status_code == 200  # still usable


def test_api_token_from_me_page_works_and_revoke_stops_it(web_client):
    client = web_client("responder")
    r = post_form(client, "/me/tokens", {"name": "laptop"}, page="/me")
    assert r.status_code == 200
    token = re.search(r'id="new-token">(tcs_[A-Za-z0-9_-]+)<', r.text).group(1)
    api = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/users/me", headers=api)
    assert me.status_code == 200 and me.json()["email"] == client.user.email
    assert token not in client.get("/me").text  # shown once
    page = client.get("/me").text
    token_id = re.search(r'action="/me/tokens/([0-9a-f-]+)/revoke"', page.split("laptop")[1]).group(1)
    assert post_form(client, f"/me/tokens/{token_id}/revoke", page="/me").status_code == 303
    assert client.get("/api/v1/users/me", headers=api).status_code == 401


def test_silence_created_from_the_page_mutes_matching_alerts(web_client, world, db, clock):
    from tocsin.routing import service as rules
    from tocsin.routing.matchers import load

    client = web_client("responder")
    r = post_form(client, "/silences", {"matchers": 'service=checkout\nalertname=~"Disk.*"', "duration": "2h",
                                        "reason": "disk swap"}, page="/silences")
    assert r.status_code == 303, r.text
    assert "disk swap" in client.get("/silences").text

    def muted(labels: dict[str, str]) -> bool:
        with db.unit_of_work() as s:
            active = rules.list_silences(s, now=clock.now(), state="active")
            return any(all(m.matches(labels) for m in load(x.matchers)) for x in active)

    assert muted({"service": "checkout", "alertname": "DiskFull"})
    assert not muted({"service": "checkout", "alertname": "CPUHigh"})
    clock.advance(hours=2, minutes=1)
    assert not muted({"service": "checkout", "alertname": "DiskFull"})


def test_silence_can_be_expired_from_the_page(web_client, world, db, clock):
    from tocsin.routing import service as rules

    client = web_client("responder")
    post_form(client, "/silences", {"matchers": "service=checkout", "duration": "60", "reason": "deploy"},
              page="/silences")
    page = client.get("/silences").text
    sid = re.search(r'action="/silences/([0-9a-f-]+)/expire"', page).group(1)
    assert post_form(client, f"/silences/{sid}/expire", page="/silences").status_code == 303
    with db.unit_of_work() as s:
        assert rules.list_silences(s, now=clock.now(), state="active") == []


def test_password_change_needs_the_current_one_and_ends_other_sessions(web_client, make_web_user, app):
    user = make_web_user("responder")
    here, elsewhere = web_client(user), web_client(user)
    r = post_form(here, "/me/password", {"current_password": "wrong one!", "new_password": "new password 123",
                                         "confirm_password": "new password 123"}, page="/me")
    assert r.status_code == 422 and "current password is wrong" in r.text
    r = post_form(here, "/me/password", {"current_password": PASSWORD, "new_password": "new password 123",
                                         "confirm_password": "new password 123"}, page="/me")
    assert r.status_code == 303
    assert here.get("/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/", follow_redirects=False).status_code == 303
    assert login(TestClient(app), user.email, PASSWORD).status_code == 400
    assert login(TestClient(app), user.email, "new password 123").status_code == 303


def test_me_contact_methods_add_and_remove(web_client):
    client = web_client("responder")
    r = post_form(client, "/me/contacts", {"type": "sms", "address": "+14155550123", "label": "mobile"}, page="/me")
    assert r.status_code == 303
    page = client.get("/me").text
    assert "+14155550123" in page
    mid = re.search(r'action="/me/contacts/([0-9a-f-]+)/delete"', page).group(1)
    assert post_form(client, f"/me/contacts/{mid}/delete", page="/me").status_code == 303
    assert "+14155550123" not in client.get("/me").text


def test_me_contact_methods_take_a_mattermost_destination(web_client):
    client = web_client("responder")
    assert '<option value="mattermost">' in client.get("/me").text
    r = post_form(client, "/me/contacts", {"type": "mattermost", "address": "@Ivy.Ops", "label": "chat"}, page="/me")
    assert r.status_code == 303
    assert "@ivy.ops" in client.get("/me").text
    r = post_form(client, "/me/contacts", {"type": "mattermost", "address": "town-square"}, page="/me")
    assert r.status_code == 422 and "Mattermost channel id" in r.text


def test_admin_changes_role_and_deactivates(web_client, make_web_user, app):
    admin = web_client("admin")
    bob = make_web_user("responder", name="Bob Builder")
    bob_client = web_client(bob)
    assert post_form(admin, f"/users/{bob.id}/role", {"org_role": "viewer"}, page="/users").status_code == 303
    r = post_form(bob_client, "/silences", {"matchers": "a=b", "duration": "1h", "reason": "x"}, page="/silences")
    assert r.status_code == 403
    assert post_form(admin, f"/users/{bob.id}/active", {"active": "false"}, page="/users").status_code == 303
    assert bob_client.get("/", follow_redirects=False).status_code == 303


VIEWER_FORBIDDEN = [
    ("/silences", {"matchers": "service=checkout", "duration": "1h", "reason": "nope"}),
    ("/schedules/primary/overrides", {"start": "2026-01-02T10:00", "end": "2026-01-02T12:00"}),
    ("/maintenance-windows", {"service": "checkout", "name": "w", "start": "2026-01-02T10:00",
                              "end": "2026-01-02T12:00"}),
    ("/users/invite", {"name": "X", "email": "x@example.test", "org_role": "admin"}),
    ("/status-pages", {"name": "X", "slug": "x"}),
    ("/status-pages/public/maintenance", {"name": "m", "body": "b", "start": "2026-01-02T10:00",
                                          "end": "2026-01-02T12:00"}),
]


@pytest.mark.parametrize("path,data", VIEWER_FORBIDDEN, ids=[p for p, _ in VIEWER_FORBIDDEN])
def test_viewer_cannot_do_responder_actions(web_client, world, path, data):
    viewer = web_client("viewer")
    r = post_form(viewer, path, data)
    assert r.status_code == 403
    assert "<h1>Forbidden</h1>" in r.text and "role" in r.text


def test_viewer_sees_no_edit_forms(web_client, world):
    viewer = web_client("viewer")
    assert 'id="silence-form"' not in viewer.get("/silences").text
    assert 'id="override-form"' not in viewer.get("/schedules/primary").text
    assert 'id="invite-form"' not in viewer.get("/users").text


def test_user_names_are_escaped(web_client, db, clock, system, make_web_user):
    from tocsin.services.service import create_service

    evil = "<script>alert(1)</script>"
    with db.unit_of_work() as s:
        create_service(s, actor=system, now=clock.now(), name=f"Svc {evil}", slug="evil", tier=2)
    admin = web_client(make_web_user("admin", name=f"Mallory {evil}"))
    declare(admin, admin.user, title=f"Boom {evil}")
    for path in ("/", "/users", "/services", "/services/evil", "/me"):
        text = admin.get(path).text
        assert "<script>alert" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path


def test_status_pages_admin_creates_page_component_and_sets_status(web_client, db):
    from tocsin.statuspage import service as sp

    admin = web_client("admin")
    r = post_form(admin, "/status-pages", {"name": "Acme status", "slug": "acme", "time_zone": "UTC"},
                  page="/status-pages")
    assert r.status_code == 303 and r.headers["location"] == "/status-pages/acme"
    assert 'href="/status/acme"' in admin.get("/status-pages").text
    assert post_form(admin, "/status-pages/acme/components", {"name": "API"}, page="/status-pages/acme"
                     ).status_code == 303
    page = admin.get("/status-pages/acme").text
    cid = re.search(r'action="/status-pages/acme/components/([0-9a-f-]+)/status"', page).group(1)
    r = post_form(admin, f"/status-pages/acme/components/{cid}/status", {"status": "partial_outage"},
                  page="/status-pages/acme")
    assert r.status_code == 303
    with db.unit_of_work() as s:
        [component] = sp.list_components(s, sp.require_page(s, "acme"))
        assert component.status == "partial_outage"


def test_reports_view_uses_the_session(web_client, world):
    client = web_client("viewer")
    r = client.get("/reports/view?since=30d&group_by=severity", follow_redirects=False)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "<script" not in r.text


def test_alert_detail_shows_decisions_and_acknowledges(web_client, world):
    client = web_client("responder")
    admin = web_client("admin")
    r = admin.post("/api/v1/integrations", json={"service": "checkout", "type": "events_v2", "name": "pd"},
                   headers=admin.user.headers)
    assert r.status_code == 201, r.text
    sent = client.post("/v2/enqueue", json={"routing_key": r.json()["key"], "event_action": "trigger",
                                            "dedup_key": "disk-1", "payload": {"summary": "Disk <b>almost</b> full",
                                                                               "source": "mon", "severity": "critical"}})
    assert sent.status_code == 202, sent.text
    listing = client.get("/alerts?status=triggered").text
    assert "Disk &lt;b&gt;almost&lt;/b&gt; full" in listing
    aid = re.search(r'href="/alerts/([0-9a-f-]+)"', listing).group(1)
    page = client.get(f"/alerts/{aid}").text
    assert "<h2>Decisions</h2>" in page and "<li><strong>" in page
    assert post_form(client, f"/alerts/{aid}/acknowledge", page=f"/alerts/{aid}").status_code == 303
    page = client.get(f"/alerts/{aid}").text
    assert "acknowledged by" in page and 'id="alert-ack-form"' not in page
    assert "1 firing" in client.get("/").text or "Firing alerts (1)" in client.get("/").text
