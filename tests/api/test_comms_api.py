"""/api/v1/comms/templates, /api/v1/stakeholders and POST /api/v1/incidents/{key}/updates: the rules a
caller meets (clear 4xx for bad templates and requests, need-to-know, who may subscribe what)."""

from __future__ import annotations

API = "/api/v1"
TPL = {"slug": "short", "name": "Short", "channel": "internal", "severities": [], "kind": "any",
       "subject": "{{ ref }}", "body": "{{ title }} ({{ severity }}), next by {{ next_update_label }}"}


def test_templates_are_checked_on_a_sample_before_they_are_saved(client, make_person) -> None:
    admin, bob = make_person("admin"), make_person("responder")
    listed = client.get(f"{API}/comms/templates", headers=bob.headers).json()["items"]
    assert {t["slug"] for t in listed} >= {"internal-update", "status-page-update", "customer-email"}  # the defaults
    r = client.post(f"{API}/comms/templates", json={**TPL, "body": "{{ ''.__class__.__mro__ }}"}, headers=admin.headers)
    assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "body"}
    r = client.post(f"{API}/comms/templates", json={**TPL, "subject": "{{ nope }}"}, headers=admin.headers)
    assert r.status_code == 422 and "'nope' is undefined" in r.json()["error"]["message"]
    assert client.post(f"{API}/comms/templates", json=TPL, headers=bob.headers).status_code == 403
    made = client.post(f"{API}/comms/templates", json=TPL, headers=admin.headers)
    assert made.status_code == 201
    assert client.post(f"{API}/comms/templates", json=TPL, headers=admin.headers).status_code == 409
    r = client.put(f"{API}/comms/templates/{made.json()['id']}", json={**TPL, "severities": ["P1"]},
                   headers=admin.headers)
    assert r.status_code == 200 and r.json()["severities"] == ["SEV2"]
    audit = client.get(f"{API}/audit", headers=admin.headers).json()["items"]
    assert {"comms.template_created", "comms.template_updated"} <= {e["action"] for e in audit}


def test_an_update_from_text_or_template_and_its_errors(client, make_person) -> None:
    alice, viewer = make_person("responder"), make_person("viewer")
    ref = client.post(f"{API}/incidents", json={"title": "Search slow", "severity": "SEV3"},
                      headers=alice.headers).json()["ref"]
    post = f"{API}/incidents/{ref}/updates"
    r = client.post(post, json={"template": "internal-update"}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["audience"] == "responders" and "Search slow" in r.json()["text"]
    assert client.post(post, json={}, headers=alice.headers).status_code == 422
    r = client.post(post, json={"template": "status-page-update"}, headers=alice.headers)
    assert r.status_code == 422 and "is not for internal updates" in r.json()["error"]["message"]
    assert client.post(post, json={"template": "missing"}, headers=alice.headers).status_code == 404
    assert client.post(post, json={"text": "x", "audience": "all"}, headers=alice.headers).status_code == 422
    assert client.post(post, json={"text": "x"}, headers=viewer.headers).status_code == 403
    filled = client.get(f"{API}/incidents/{ref}/comms/status-page-update", headers=viewer.headers).json()
    assert filled["channel"] == "status_page" and "We will post another update by" in filled["body"]
    notes = client.get(f"{API}/incidents/{ref}/timeline", headers=alice.headers).json()["items"]
    assert any(e["kind"] == "note" and e["key_event"] and "Search slow" in e["text"] for e in notes)


def test_need_to_know_hides_a_restricted_incident_from_its_updates_route(client, make_person) -> None:
    alice, oscar = make_person("admin"), make_person("responder")
    sec = client.post(f"{API}/incidents", json={"title": "Leak", "severity": "SEV2", "kind": "security"},
                      headers=alice.headers).json()["ref"]
    assert client.post(f"{API}/incidents/{sec}/updates", json={"text": "x"}, headers=oscar.headers).status_code == 404
    assert client.get(f"{API}/incidents/{sec}/comms/internal-update", headers=oscar.headers).status_code == 404


def test_who_may_subscribe_what(client, make_person, make_team, make_service) -> None:
    make_team("ops"), make_service("checkout")
    dana, erin, admin = make_person("viewer", teams=["ops"]), make_person("viewer"), make_person("admin")
    mine = client.post(f"{API}/stakeholders", json={"service": "checkout", "min_severity": "p1"}, headers=erin.headers)
    assert mine.status_code == 201 and mine.json()["min_severity"] == "SEV2" and mine.json()["service"] == "checkout"
    assert client.post(f"{API}/stakeholders", json={"team": "ops"}, headers=erin.headers).status_code == 403
    assert client.post(f"{API}/stakeholders", json={"team": "ops"}, headers=dana.headers).status_code == 201
    assert client.post(f"{API}/stakeholders", json={"service": "nope"}, headers=erin.headers).status_code == 422
    assert client.post(f"{API}/stakeholders", json={"min_severity": "SEV9"}, headers=erin.headers).status_code == 422
    assert client.post(f"{API}/stakeholders", json={"user_id": str(dana.id)}, headers=erin.headers).status_code == 403
    assert [x["service"] for x in client.get(f"{API}/stakeholders", headers=erin.headers).json()["items"]] == ["checkout"]
    assert len(client.get(f"{API}/stakeholders", headers=admin.headers).json()["items"]) == 2
    assert client.delete(f"{API}/stakeholders/{mine.json()['id']}", headers=dana.headers).status_code == 403
    assert client.delete(f"{API}/stakeholders/{mine.json()['id']}", headers=erin.headers).status_code == 204


def test_a_template_that_recurses_or_trips_a_filter_assertion_is_a_422_not_a_500(client, make_person) -> None:
    """attack3: a macro calling itself (RecursionError) and truncate(-1) (an assert in Jinja2) escaped
    the render's error handling as a 500."""
    admin = make_person("admin")
    for body in ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{{ title|truncate(-1) }}"):
        r = client.post(f"{API}/comms/templates", json={**TPL, "body": body}, headers=admin.headers)
        assert r.status_code == 422, (body, r.status_code, r.text[:200])
        assert r.json()["error"]["details"] == {"field": "body"}
