"""Services set up in the console: an admin adds, changes and deletes them with every setting the API
takes (owner, tier, runbook, dependencies, escalation policy, paging unit, grouping, flap window,
support hours); the answers, audit entries and refusals are the API's."""

from __future__ import annotations

import pytest

from tests.harness.console import csrf, post_form

FULL = {"name": "Payments API", "slug": "payments", "description": "Takes the money", "owner_team": "platform",
        "tier": "1", "runbook_url": "https://wiki.example.test/payments", "policy": "default", "dep:checkout": "1",
        "paging_unit": "alert", "group_by": "alertname, cluster", "group_window": "10m", "flap_window": "0s",
        "sh_on": "1", "sh_timezone": "Europe/Berlin", "day:1": "1", "day:2": "1", "day:3": "1",
        "sh_start": "08:00", "sh_end": "18:30"}


def _service(db, slug):
    from tocsin.services.service import dependency_slugs, require_service
    from tocsin.teams.service import get_team

    with db.unit_of_work() as s:
        svc = require_service(s, slug)
        team = get_team(s, svc.owner_team_id) if svc.owner_team_id else None
        return {"name": svc.name, "tier": svc.tier, "team": team.slug if team else None,
                "runbook": svc.runbook_url, "settings": svc.alert_settings, "unit": svc.paging_unit,
                "policy_id": svc.escalation_policy_id, "deps": dependency_slugs(s, svc.id),
                "description": svc.description}


def _actions(db):
    from tocsin.audit.service import list_entries

    with db.unit_of_work() as s:
        return [(e.action, e.details) for e in list_entries(s, limit=1000)]


def test_an_admin_creates_a_service_with_every_setting(web_client, world, make_team, db):
    make_team("platform")
    admin = web_client("admin")
    form = admin.get("/services/new")
    assert form.status_code == 200
    assert 'name="dep:checkout"' in form.text and '<option value="default">Default</option>' in form.text

    r = post_form(admin, "/services", FULL, page="/services/new")
    assert r.status_code == 303 and r.headers["location"] == "/services/payments"
    saved = _service(db, "payments")
    assert saved["name"] == "Payments API" and saved["tier"] == 1 and saved["team"] == "platform"
    assert saved["runbook"] == "https://wiki.example.test/payments" and saved["unit"] == "alert"
    assert saved["deps"] == ["checkout"] and saved["policy_id"] is not None
    assert saved["settings"] == {"group_by": ["alertname", "cluster"], "group_window_seconds": 600,
                                 "flap_window_seconds": 0,
                                 "support_hours": {"timezone": "Europe/Berlin", "days": [1, 2, 3], "start": "08:00",
                                                   "end": "18:30"}}
    actions = [a for a, _ in _actions(db)]
    assert "service.create" in actions and "service.escalation_policy" in actions

    page = admin.get("/services/payments").text
    assert "Service payments created" in page
    assert 'href="/services/payments/edit"' in page
    assert "by alertname, cluster, window 10 min" in page
    assert "08:00–18:30 Europe/Berlin, Mon Tue Wed" in page
    assert 'href="/teams/platform"' in page


def test_the_defaults_store_no_alert_settings(web_client, world, db):
    admin = web_client("admin")
    form = admin.get("/services/new").text
    assert 'value="1h"' in form and 'value="30m"' in form  # the defaults, shown as durations
    r = post_form(admin, "/services", {"name": "Search", "group_window": "1h", "flap_window": "30m",
                                       "paging_unit": "group", "tier": "3"}, page="/services/new")
    assert r.status_code == 303
    saved = _service(db, "search")
    assert saved["settings"] is None and saved["unit"] == "group" and saved["policy_id"] is None


def test_editing_shows_the_current_values_and_saves_only_changes(web_client, world, db):
    admin = web_client("admin")
    post_form(admin, "/services", FULL | {"owner_team": ""}, page="/services/new")
    form = admin.get("/services/payments/edit")
    assert form.status_code == 200
    text = form.text
    assert 'value="Payments API"' in text and 'value="10m"' in text and 'value="0s"' in text
    assert 'id="day-3" name="day:3" value="1" checked' in text and 'id="day-4" name="day:4" value="1">' in text
    assert 'name="dep:checkout" value="1" checked' in text and 'name="dep:payments"' not in text  # not itself
    assert '<option value="default" selected>' in text

    before = len(_actions(db))
    same = FULL | {"owner_team": ""}
    assert post_form(admin, "/services/payments/edit", same, page="/services/payments/edit").status_code == 303
    assert len(_actions(db)) == before  # nothing changed: nothing audited

    changed = {k: v for k, v in same.items() if k not in ("dep:checkout", "sh_on")}
    changed |= {"tier": "2", "policy": "", "paging_unit": "group", "group_window": "90s"}
    r = post_form(admin, "/services/payments/edit", changed, page="/services/payments/edit")
    assert r.status_code == 303 and r.headers["location"] == "/services/payments"
    saved = _service(db, "payments")
    assert saved["tier"] == 2 and saved["deps"] == [] and saved["policy_id"] is None and saved["unit"] == "group"
    assert saved["settings"] == {"group_by": ["alertname", "cluster"], "group_window_seconds": 90,
                                 "flap_window_seconds": 0}
    update = [d for a, d in _actions(db) if a == "service.update"][-1]
    assert set(update) == {"tier", "depends_on", "alert_settings", "paging_unit"}


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "name must not be empty"),
    ({"slug": "Bad Slug"}, "invalid slug"),
    ({"runbook_url": "javascript:alert(1)"}, "runbook_url must be an http:// or https:// address"),
    ({"tier": "7"}, "tier must be 1 (most critical) to 4"),
    ({"tier": "x"}, "tier must be 1 (most critical) to 4"),
    ({"group_window": "soon"}, "group_window: give a duration such as 90s, 5m, 1h or 1d"),
    ({"group_window": "0s"}, "group_window_seconds must be a whole number of seconds from 1"),
    ({"flap_window": "8d"}, "flap_window_seconds must be a whole number of seconds from 0 to 604800"),
    ({"sh_timezone": "Mars/Base"}, "Mars/Base"),
    ({"sh_end": "07:00"}, "support hours must end after they start"),
    ({"policy": "nope"}, "no escalation policy"),
    ({"paging_unit": "storm"}, "paging_unit must be"),
    ({"slug": "checkout"}, "a service with slug checkout already exists"),
    ({"name": "x" * 201}, "name must have at most 200 characters"),
])
def test_bad_input_shows_the_form_again_with_the_reason(web_client, world, db, change, message):
    admin = web_client("admin")
    r = post_form(admin, "/services", {**FULL, "owner_team": "", **change}, page="/services/new")
    assert r.status_code in (400, 409, 422), r.status_code
    assert message in r.text
    assert 'id="service-form"' in r.text and ">Takes the money</textarea>" in r.text  # the input is kept
    from tocsin.services.service import get_service

    with db.unit_of_work() as s:
        assert get_service(s, "payments") is None  # nothing half-made (the policy is set in the same unit)


def test_an_unknown_owner_team_is_refused_in_the_form(web_client, world):
    admin = web_client("admin")
    r = post_form(admin, "/services", {**FULL, "owner_team": "ghosts"}, page="/services/new")
    assert r.status_code == 404 and "no team" in r.text and 'id="service-form"' in r.text


def test_responders_and_viewers_see_the_settings_but_cannot_change_them(web_client, world, db):
    for role in ("responder", "viewer"):
        c = web_client(role)
        assert "New service" not in c.get("/services").text
        page = c.get("/services/checkout").text
        assert "Edit service" not in page and "Flap window" in page
        assert c.get("/services/new").status_code == 403
        assert c.get("/services/checkout/edit").status_code == 403
        token = csrf(c, "/services")
        assert post_form(c, "/services", {"name": "Sneaky"}, token=token).status_code == 403
        assert post_form(c, "/services/checkout/edit", {"name": "Renamed", "tier": "1"}, token=token).status_code == 403
        r = post_form(c, "/services/checkout/delete", {"confirm": "checkout"}, token=token)
        assert r.status_code == 403
    assert _service(db, "checkout")["name"] == "Checkout"


def test_unknown_service_is_a_404_page(web_client, world):
    admin = web_client("admin")
    assert admin.get("/services/nope/edit").status_code == 404
    assert post_form(admin, "/services/nope/edit", {"name": "x"}, page="/services").status_code == 404


def test_delete_needs_the_key_typed_and_waits_for_alerts_and_incidents(web_client, world, db, app):
    admin = web_client("admin")
    post_form(admin, "/services", {"name": "Doomed", "tier": "3", "dep:checkout": "1"}, page="/services/new")
    edit = admin.get("/services/doomed/edit").text
    assert 'id="delete-form"' in edit
    wrong = post_form(admin, "/services/doomed/delete", {"confirm": "doome"}, page="/services/doomed/edit")
    assert wrong.status_code == 422 and "type the service&#39;s key doomed to confirm" in wrong.text

    key = admin.post("/api/v1/integrations", json={"service": "doomed", "type": "events_v2", "name": "pd"},
                     headers=admin.user.headers).json()["key"]
    sent = admin.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "dedup_key": "d-1",
                                           "payload": {"summary": "down", "source": "mon", "severity": "critical"}})
    assert sent.status_code == 202 and app.state.ingest.wait_applied()
    firing = post_form(admin, "/services/doomed/delete", {"confirm": "doomed"}, page="/services/doomed/edit")
    assert firing.status_code == 409 and "while 1 of its alert(s) fire" in firing.text
    (alert,) = admin.get("/api/v1/alerts", headers=admin.user.headers).json()["items"]
    assert admin.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=admin.user.headers).status_code == 200

    r = post_form(admin, "/services/doomed/delete", {"confirm": "doomed"}, page="/services/doomed/edit")
    assert r.status_code == 303 and r.headers["location"] == "/services"
    assert "Service doomed deleted" in admin.get("/services").text
    assert admin.get("/services/doomed").status_code == 404
    assert admin.get("/api/v1/alerts", headers=admin.user.headers).json()["items"] == []  # its history went too
    assert ("service.delete", {"slug": "doomed", "name": "Doomed", "depended_on_by": []}) in _actions(db)


def test_a_service_an_incident_names_is_not_deleted(web_client, world, db):
    admin = web_client("admin")
    r = post_form(admin, "/incidents", {"title": "Checkout errors", "severity": "SEV2", "service": "checkout"})
    assert r.status_code == 303, r.text
    refused = post_form(admin, "/services/checkout/delete", {"confirm": "checkout"}, page="/services/checkout/edit")
    assert refused.status_code == 409 and "1 incident(s) name it" in refused.text
    assert _service(db, "checkout")
    api = admin.delete("/api/v1/services/checkout", headers=admin.user.headers)
    assert api.status_code == 409 and api.json()["error"]["details"] == {"incidents": 1}


def test_the_api_deletes_a_service_for_admins_only(web_client, world, make_service, make_web_user):
    make_service("spare")
    responder = make_web_user("responder")
    admin = web_client("admin")
    assert admin.delete("/api/v1/services/spare", headers=responder.headers).status_code == 403
    assert admin.delete("/api/v1/services/spare", headers=admin.user.headers).status_code == 204
    assert admin.get("/api/v1/services/spare", headers=admin.user.headers).status_code == 404
