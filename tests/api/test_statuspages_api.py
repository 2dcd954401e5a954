"""Managing status pages over the API: pages, components, public incidents posted from the API
and from an internal incident, maintenances, webhooks and publishing a postmortem; who may do
what, and clear 4xx answers for bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness.incidents import declare

SP = "/api/v1/status-pages"


@pytest.fixture
def people(make_person):
    return {"admin": make_person("admin", name="Ada"), "bob": make_person("responder", name="Bob"),
            "vic": make_person("viewer", name="Vic")}


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def make_page(client, admin, slug="acme", **extra):
    return ok(client.post(SP, json={"slug": slug, "name": "Acme Status", **extra}, headers=admin.headers), 201)


def make_component(client, admin, name, slug="acme", **extra):
    return ok(client.post(f"{SP}/{slug}/components", json={"name": name, **extra}, headers=admin.headers), 201)


def test_admin_builds_a_page_with_grouped_components_that_everyone_can_read(client, people, make_service):
    admin, vic = people["admin"], people["vic"]
    make_service("payments-api")
    page = make_page(client, admin, description="How Acme is doing", public_url="https://status.acme.test",
                     time_zone="Europe/Berlin")
    assert page["components"] == [] and page["time_zone"] == "Europe/Berlin"
    group = make_component(client, admin, "Payments", is_group=True)
    api = make_component(client, admin, "Card payments API", group=group["id"], service="payments-api")
    assert api["group_id"] == group["id"] and api["status"] == "operational" and api["service_id"]
    got = ok(client.get(f"{SP}/acme", headers=vic.headers))
    assert [c["name"] for c in got["components"]] == ["Payments", "Card payments API"]
    assert [p["slug"] for p in ok(client.get(SP, headers=vic.headers))["items"]] == ["acme"]
    renamed = ok(client.patch(f"{SP}/acme", json={"name": "Acme", "logo_url": None}, headers=admin.headers))
    assert renamed["name"] == "Acme"
    audit = [e["action"] for e in ok(client.get("/api/v1/audit", headers=admin.headers))["items"]]
    assert {"statuspage.create", "statuspage.component_create", "statuspage.update"} <= set(audit)


@pytest.mark.parametrize("body, field", [
    ({"slug": "Acme", "name": "x"}, "slug"),
    ({"slug": "-acme", "name": "x"}, "slug"),
    ({"slug": "a" * 65, "name": "x"}, "slug"),
    ({"slug": "acme", "name": ""}, "name"),
    ({"slug": "acme", "name": "x", "logo_url": "http://acme.test/logo.png"}, "logo_url"),
    ({"slug": "acme", "name": "x", "logo_url": "javascript:alert(1)"}, "logo_url"),
    ({"slug": "acme", "name": "x", "logo_url": "data:text/html;base64,PGgxPg=="}, "logo_url"),
    ({"slug": "acme", "name": "x", "logo_url": "data:image/png;base64,@@@"}, "logo_url"),
    ({"slug": "acme", "name": "x", "public_url": "ftp://acme.test"}, "public_url"),
    ({"slug": "acme", "name": "x", "time_zone": "Mars/Olympus"}, "time_zone"),
])
def test_bad_page_input_is_a_clear_422(client, people, body, field):
    r = client.post(SP, json=body, headers=people["admin"].headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"
    assert field in r.text


def test_good_logos_are_accepted_and_a_taken_slug_conflicts(client, people):
    admin = people["admin"]
    make_page(client, admin, logo_url="data:image/svg+xml;base64,PHN2Zy8+")
    make_page(client, admin, slug="other", logo_url="https://cdn.acme.test/logo.png")
    r = client.post(SP, json={"slug": "acme", "name": "Again"}, headers=admin.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize("who, method, path, body, status", [
    ("bob", "POST", SP, {"slug": "x", "name": "x"}, 403),
    ("bob", "PATCH", f"{SP}/acme", {"name": "x"}, 403),
    ("bob", "DELETE", f"{SP}/acme", None, 403),
    ("bob", "POST", f"{SP}/acme/components", {"name": "x"}, 403),
    ("bob", "GET", f"{SP}/acme/subscribers", None, 403),
    ("bob", "POST", f"{SP}/acme/webhooks", {"url": "https://hooks.test/x"}, 403),
    ("vic", "POST", f"{SP}/acme/incidents", {"name": "x", "status": "investigating", "body": "b"}, 403),
    ("vic", "POST", f"{SP}/acme/maintenances", {"name": "x", "body": "b", "scheduled_for": "2030-01-01T00:00:00Z",
                                                "scheduled_until": "2030-01-01T01:00:00Z"}, 403),
    ("admin", "GET", f"{SP}/nope", None, 404),
])
def test_who_may_do_what(client, people, who, method, path, body, status):
    make_page(client, people["admin"])
    r = client.request(method, path, json=body, headers=people[who].headers)
    assert r.status_code == status, r.text


def test_responder_sets_a_component_status_but_not_its_name(client, people):
    admin, bob = people["admin"], people["bob"]
    make_page(client, admin)
    c = make_component(client, admin, "Website")
    path = f"{SP}/acme/components/{c['id']}"
    assert ok(client.patch(path, json={"status": "degraded_performance"}, headers=bob.headers))["status"] == \
        "degraded_performance"
    assert client.patch(path, json={"name": "www"}, headers=bob.headers).status_code == 403
    g = make_component(client, admin, "Group", is_group=True)
    r = client.patch(f"{SP}/acme/components/{g['id']}", json={"status": "major_outage"}, headers=admin.headers)
    assert r.status_code == 422 and "group" in r.json()["error"]["message"]


def test_a_public_incident_from_an_internal_one_keeps_the_internal_title_private(client, people, make_service):
    admin, bob = people["admin"], people["bob"]
    make_service("payments-api")
    make_page(client, admin)
    api = make_component(client, admin, "Card payments API", service="payments-api")
    web = make_component(client, admin, "Website")
    inc = declare(client, bob, title="Postgres primary OOM-killed on dbhost-seven", services=["payments-api"])
    first = ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=bob.headers, json={
        "page": "acme", "name": "Card payments failing for some customers", "status": "investigating",
        "body": "We are looking into failed card payments.",
        "component_statuses": {api["id"]: "partial_outage"}}), 201)
    assert first["impact"] == "major", "partial outage implies a major impact"
    assert first["updates"][0]["affected_components"] == [
        {"code": api["id"], "name": "Card payments API", "old_status": "operational", "new_status": "partial_outage"}]
    # the second post from the same incident appends to the same public incident
    second = ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=bob.headers, json={
        "page": "acme", "status": "resolved", "body": "Payments work again."}), 201)
    assert second["id"] == first["id"] and [u["status"] for u in second["updates"]] == ["resolved", "investigating"]
    assert second["resolved_at"] is not None
    comps = {c["name"]: c["status"] for c in ok(client.get(f"{SP}/acme/components", headers=bob.headers))["items"]}
    assert comps == {"Card payments API": "operational", "Website": "operational"}, "resolving restores components"
    assert web["status"] == "operational"
    listed = ok(client.get(f"{SP}/acme/incidents", headers=people["vic"].headers))
    assert "dbhost-seven" not in str(listed) and "OOM" not in str(listed)
    timeline = ok(client.get(f"/api/v1/incidents/{inc['ref']}/timeline", headers=bob.headers))["items"]
    assert [e["text"] for e in timeline if e["kind"] == "status_page"] == [
        "Status page update posted: investigating", "Status page update posted: resolved"]
    # the postmortem update only follows a resolved incident; an unknown component is a 404
    r = client.post(f"{SP}/acme/incidents/{first['id']}/updates", headers=bob.headers,
                    json={"status": "investigating", "body": "x", "component_statuses": {inc["id"]: "major_outage"}})
    assert r.status_code == 404


@pytest.mark.parametrize("statuses, impact", [
    ({"a": "major_outage", "b": "degraded_performance"}, "critical"),
    ({"a": "partial_outage"}, "major"),
    ({"b": "degraded_performance"}, "minor"),
    ({"a": "under_maintenance"}, "none"),
    ({}, "none"),
])
def test_impact_defaults_from_the_worst_component_status(client, people, statuses, impact):
    admin = people["admin"]
    make_page(client, admin)
    ids = {"a": make_component(client, admin, "A")["id"], "b": make_component(client, admin, "B")["id"]}
    si = ok(client.post(f"{SP}/acme/incidents", headers=people["bob"].headers, json={
        "name": "Trouble", "status": "investigating", "body": "Looking",
        "component_statuses": {ids[k]: v for k, v in statuses.items()}}), 201)
    assert si["impact"] == impact


def test_a_postmortem_update_needs_a_resolved_incident(client, people):
    make_page(client, people["admin"])
    bob = people["bob"]
    si = ok(client.post(f"{SP}/acme/incidents", headers=bob.headers,
                        json={"name": "Slow logins", "status": "identified", "body": "Found it"}), 201)
    path = f"{SP}/acme/incidents/{si['id']}/updates"
    assert client.post(path, headers=bob.headers, json={"status": "postmortem", "body": "Why"}).status_code == 409
    ok(client.post(path, headers=bob.headers, json={"status": "resolved", "body": "Fixed"}), 201)
    done = ok(client.post(path, headers=bob.headers, json={"status": "postmortem", "body": "Why it happened"}), 201)
    assert done["status"] == "postmortem"


def test_restricted_incident_admin_posts_a_separate_notice_and_responders_are_refused(client, people):
    admin, bob = people["admin"], people["bob"]
    make_page(client, admin)
    inc = declare(client, bob, title="Secret breach of vault-3", restricted=True)
    body = {"page": "acme", "name": "Degraded logins", "status": "investigating", "body": "Some logins fail."}
    r = client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=bob.headers, json=body)
    assert r.status_code == 403
    notice = ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=admin.headers, json=body), 201)
    assert notice["name"] == "Degraded logins"
    again = ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=admin.headers, json=body), 201)
    assert again["id"] != notice["id"], "a notice is not linked, so a second post is another notice"


def test_maintenance_is_scheduled_updated_and_refuses_bad_windows(client, people, clock):
    admin, bob = people["admin"], people["bob"]
    make_page(client, admin)
    db_c = make_component(client, admin, "Database")
    start = clock.now() + timedelta(days=3)
    body = {"name": "Database upgrade", "body": "We upgrade the database.", "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=2)).isoformat(), "components": [db_c["id"]]}
    m = ok(client.post(f"{SP}/acme/maintenances", headers=bob.headers, json=body), 201)
    assert (m["status"], m["impact"], m["components"]) == ("scheduled", "maintenance", [db_c["id"]])
    started = ok(client.patch(f"{SP}/acme/maintenances/{m['id']}", headers=bob.headers, json={"status": "in_progress"}))
    assert started["updates"][0]["body"].startswith("Scheduled maintenance is currently in progress")
    assert ok(client.get(f"{SP}/acme/components", headers=bob.headers))["items"][0]["status"] == "under_maintenance"
    ok(client.patch(f"{SP}/acme/maintenances/{m['id']}", headers=bob.headers,
                    json={"status": "completed", "body": "All done."}))
    assert ok(client.get(f"{SP}/acme/components", headers=bob.headers))["items"][0]["status"] == "operational"
    r = client.patch(f"{SP}/acme/maintenances/{m['id']}", headers=bob.headers, json={"body": "more"})
    assert r.status_code == 409
    bad = {**body, "scheduled_until": body["scheduled_for"]}
    assert client.post(f"{SP}/acme/maintenances", headers=bob.headers, json=bad).status_code == 422
    assert [x["id"] for x in ok(client.get(f"{SP}/acme/maintenances", headers=bob.headers))["items"]] == [m["id"]]


def test_webhook_subscribers_are_admin_managed_with_a_signing_secret(client, people):
    admin = people["admin"]
    make_page(client, admin)
    hook = ok(client.post(f"{SP}/acme/webhooks", json={"url": "https://hooks.acme.test/status"},
                          headers=admin.headers), 201)
    assert hook["signing_secret"].startswith("whsec_") and hook["confirmed_at"] is not None
    assert client.post(f"{SP}/acme/webhooks", json={"url": "https://hooks.acme.test/status"},
                       headers=admin.headers).status_code == 409
    assert client.post(f"{SP}/acme/webhooks", json={"url": "file:///etc/passwd"},
                       headers=admin.headers).status_code == 422
    ok(client.delete(f"{SP}/acme/subscribers/{hook['id']}", headers=admin.headers), 204)
    (sub,) = ok(client.get(f"{SP}/acme/subscribers", headers=admin.headers))["items"]
    assert sub["unsubscribed_at"] is not None


def test_a_postmortem_is_published_to_the_public_incident(client, people):
    admin, bob = people["admin"], people["bob"]
    make_page(client, admin)
    inc = declare(client, bob, title="Queue backlog in worker-pool-b")
    ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=bob.headers, json={
        "page": "acme", "name": "Delayed emails", "status": "investigating", "body": "Emails are late."}), 201)
    ok(client.patch(f"/api/v1/incidents/{inc['ref']}", headers=bob.headers, json={"status": "resolved"}))
    pm = ok(client.post(f"/api/v1/incidents/{inc['ref']}/postmortem", headers=bob.headers, json={}), 201)
    path = f"/api/v1/postmortems/{pm['id']}/publish-public"
    r = client.post(path, headers=bob.headers, json={"page": "acme"})
    assert r.status_code == 422 and "public text" in r.json()["error"]["message"]
    ok(client.patch(f"/api/v1/postmortems/{pm['id']}", headers=bob.headers,
                    json={"public_text": "A queue filled up; we added capacity."}))
    r = client.post(path, headers=bob.headers, json={"page": "acme"})
    assert r.status_code == 409, "the public incident is not resolved yet"
    ok(client.post(f"/api/v1/incidents/{inc['ref']}/status-updates", headers=bob.headers, json={
        "page": "acme", "status": "resolved", "body": "Emails flow again."}), 201)
    published = ok(client.post(path, headers=bob.headers, json={"page": "acme"}))
    assert published["status"] == "postmortem"
    assert published["updates"][0]["body"] == "A queue filled up; we added capacity."
    other = make_page(client, admin, slug="other")
    r = client.post(path, headers=bob.headers, json={"page": other["slug"]})
    assert r.status_code == 409 and "no public incident" in r.json()["error"]["message"]


# components (by name → status), open/closed incidents (status, impact), a maintenance in progress
ROLLUPS = [
    ("every component down", {"API": "major_outage", "Web": "major_outage"}, [], False,
     ("critical", "Major System Outage")),
    ("one component down", {"API": "major_outage", "Web": "operational"}, [], False,
     ("major", "Partial System Outage")),
    ("a critical incident on a degraded page", {"API": "degraded_performance", "Web": "operational"},
     [("identified", "critical")], False, ("critical", "Major System Outage")),
    ("a resolved incident counts for nothing", {"API": "partial_outage", "Web": "operational"},
     [("resolved", "critical")], False, ("minor", "Minor Service Outage")),
    ("a maintenance in progress on a green page", {"API": "operational", "Web": "operational"}, [], True,
     ("maintenance", "Service Under Maintenance")),
]


@pytest.mark.parametrize("name, statuses, incidents, maintenance, want", ROLLUPS, ids=[r[0] for r in ROLLUPS])
def test_webhook_page_status_is_the_status_json_rollup(app, client, people, clock, db, name, statuses, incidents,
                                                       maintenance, want):
    from tocsin.statuspage import deliver, service
    from tocsin.statuspage.models import StatusComponent

    admin, bob = people["admin"], people["bob"]
    make_page(client, admin)
    for cname, status in statuses.items():
        c = make_component(client, admin, cname)
        ok(client.patch(f"{SP}/acme/components/{c['id']}", json={"status": status}, headers=bob.headers))
    for n, (status, impact) in enumerate(incidents):
        ok(client.post(f"{SP}/acme/incidents", headers=bob.headers, json={
            "name": f"Incident {n}", "status": status, "body": "Words.", "impact": impact}), 201)
    if maintenance:
        start = clock.now() + timedelta(hours=1)
        m = ok(client.post(f"{SP}/acme/maintenances", headers=bob.headers, json={
            "name": "Upgrade", "body": "Planned.", "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(), "components": []}), 201)
        ok(client.patch(f"{SP}/acme/maintenances/{m['id']}", headers=bob.headers, json={"status": "in_progress"}))
    assert app.state.status_cache.wait_idle()
    status = client.get("/status/acme/api/v2/status.json").json()["status"]
    with db.unit_of_work() as s:
        page = service.require_page(s, "acme")
        components = list(s.query(StatusComponent).filter_by(page_id=page.id))
        hook = deliver.page_json(s, page, components, "https://tocsin.example")
    assert (hook["status_indicator"], hook["status_description"]) == (status["indicator"], status["description"]) \
        == want
