"""Working with alerts and integrations through /api/v1: finding alerts, reading why they
paged, acknowledging, resolving, attaching them to incidents, and managing inbound keys.

Alerts are created the way they arrive in production: through the ingest endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

ALERTS = "/api/v1/alerts"
INTEGRATIONS = "/api/v1/integrations"


# --- helpers -----------------------------------------------------------------------------------

@pytest.fixture
def people(make_person, make_team):
    make_team("security", is_security=True)
    return {
        "bob": make_person("responder", name="Bob"),
        "dave": make_person("viewer", name="Dave"),
        "ada": make_person("admin", name="Ada"),
    }


def new_integration(client, admin, service: str, kind: str = "events_v2") -> dict[str, Any]:
    r = client.post(INTEGRATIONS, json={"service": service, "type": kind, "name": f"{kind} for {service}"},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def keys(client, people, make_service) -> dict[str, str]:
    """PagerDuty routing keys of two services, checkout (paging Bob) and search."""
    make_service("checkout")
    make_service("search")
    ada = people["ada"]
    r = client.post("/api/v1/escalation-policies", headers=ada.headers, json={
        "name": "Checkout on-call", "slug": "checkout", "levels": [
            {"delay_minutes": 5, "targets": [{"type": "user", "id": str(people["bob"].id)}]}]})
    assert r.status_code == 201, r.text
    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout"}, headers=ada.headers)
    assert r.status_code == 200, r.text
    return {s: new_integration(client, ada, s)["key"] for s in ("checkout", "search")}


def fire(client, key: str, dedup_key: str, summary: str | None = None, severity: str = "critical",
         **labels: str) -> dict[str, Any]:
    """Trigger through /v2/enqueue; return the alert as GET /api/v1/alerts shows it (to an admin)."""
    payload: dict[str, Any] = {"summary": summary or f"{dedup_key} is failing", "source": "monitor",
                               "severity": severity, **labels}
    r = client.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
                                         "payload": payload})
    assert r.status_code == 202, r.text
    return r.json()


def alerts(client, who, **params: Any) -> list[dict[str, Any]]:
    r = client.get(ALERTS, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def alert_id(client, who, dedup_key: str) -> str:
    (found,) = [a for a in alerts(client, who, limit=500) if a["dedup_key"] == dedup_key]
    return found["id"]


def declare(client, who, **body: Any) -> str:
    body.setdefault("title", "Checkout errors")
    body.setdefault("severity", "SEV2")
    r = client.post("/api/v1/incidents", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()["ref"]


def command(client, who, alert: str, verb: str, **body: Any):
    return client.post(f"{ALERTS}/{alert}/{verb}", json=body or None, headers=who.headers)


# --- listing -----------------------------------------------------------------------------------

@pytest.fixture
def world(client, people, keys):
    """checkout: disk (acknowledged), cpu (resolved), pay (triggered, component=payments);
    search: index (triggered, attached to an incident). Returns ids by name and the incident ref."""
    ada = people["ada"]
    fire(client, keys["checkout"], "disk", component="storage")
    fire(client, keys["checkout"], "cpu", severity="warning")
    fire(client, keys["checkout"], "pay", component="payments")
    fire(client, keys["search"], "index", component="storage")
    ids = {k: alert_id(client, ada, k) for k in ("disk", "cpu", "pay", "index")}
    assert command(client, ada, ids["disk"], "acknowledge").status_code == 200
    assert command(client, ada, ids["cpu"], "resolve").status_code == 200
    ref = declare(client, ada, services=["search"])
    assert command(client, ada, ids["index"], "attach", incident=ref).status_code == 200
    return {"ids": ids, "incident": ref}


def _group_of(client, who, ids, name):
    return client.get(f"{ALERTS}/{ids[name]}", headers=who.headers).json()["group_id"]


@pytest.mark.parametrize("params, expected", [
    ({}, ["index", "pay", "cpu", "disk"]),
    ({"status": "triggered"}, ["index", "pay"]),
    ({"status": ["acknowledged", "resolved"]}, ["cpu", "disk"]),
    ({"service": "checkout"}, ["pay", "cpu", "disk"]),
    ({"service": "search", "status": "resolved"}, []),
    ({"label": "component=storage"}, ["index", "disk"]),
    ({"label": ["component=storage", "group=none"]}, []),
    ({"label": "component=payments", "service": "checkout"}, ["pay"]),
    ({"incident": "{incident}"}, ["index"]),
    ({"group": "{group of index}"}, ["index"]),
    ({"group": "{group of disk}"}, ["pay", "cpu", "disk"]),
])
def test_list_filters(client, people, world, params, expected):
    bob = people["bob"]
    ids = world["ids"]
    resolved = {}
    for name, value in params.items():
        if value == "{incident}":
            value = world["incident"]
        elif value == "{group of index}":
            value = _group_of(client, bob, ids, "index")
        elif value == "{group of disk}":
            value = _group_of(client, bob, ids, "disk")
        resolved[name] = value
    assert [a["dedup_key"] for a in alerts(client, bob, **resolved)] == expected


@pytest.mark.parametrize("name", ["team", "a.b", "team-name", "a b", "a'b", 'a"b', "a\\b", "équipe", "$", "*"])
def test_label_filter_matches_any_label_name(client, people, make_service, name):
    # Alertmanager label names are restricted, but generic and PagerDuty senders are not.
    ada = people["ada"]
    make_service("checkout")
    key = new_integration(client, ada, "checkout", "alertmanager")["key"]
    group = {"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "A", name: "yes"}, "fingerprint": "0000000000000001"},
        {"status": "firing", "labels": {"alertname": "B", name: "no"}, "fingerprint": "0000000000000002"}]}
    assert client.post(f"/integrations/alertmanager/{key}", json=group).status_code == 202
    assert [a["labels"]["alertname"] for a in alerts(client, ada, label=f"{name}=yes")] == ["A"]
    assert [a["labels"]["alertname"] for a in alerts(client, ada, label=f"{name}=no")] == ["B"]
    assert alerts(client, ada, label=f"{name}=maybe") == []


@pytest.mark.parametrize("params, code", [
    ({"status": "open"}, "invalid_input"),
    ({"label": "component"}, "invalid_input"),
    ({"service": "nope"}, "not_found"),
    ({"incident": "INC-99"}, "not_found"),
    ({"cursor": "not-a-cursor"}, "invalid_input"),
])
def test_bad_filters_are_refused_with_a_reason(client, people, world, params, code):
    r = client.get(ALERTS, params=params, headers=people["bob"].headers)
    assert r.status_code in (404, 422) and r.json()["error"]["code"] == code


def test_cursor_pagination_walks_every_alert_once_newest_first(client, people, keys):
    bob = people["bob"]
    for n in range(8):
        fire(client, keys["checkout" if n % 2 else "search"], f"alert-{n}")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = client.get(ALERTS, params=params, headers=bob.headers)
        assert r.status_code == 200
        page = r.json()
        seen += [a["dedup_key"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"alert-{n}" for n in range(7, -1, -1)] and pages == 3
    odd = alerts(client, bob, service="checkout", limit=2)
    rest = client.get(ALERTS, params={"service": "checkout", "limit": 2,
                                      "cursor": client.get(ALERTS, params={"service": "checkout", "limit": 2},
                                                           headers=bob.headers).json()["next_cursor"]},
                      headers=bob.headers).json()["items"]
    assert [a["dedup_key"] for a in odd + rest] == ["alert-7", "alert-5", "alert-3", "alert-1"]


# --- one alert: why it paged -------------------------------------------------------------------

def test_alert_detail_explains_every_decision_and_lists_occurrences(client, people, keys, clock):
    bob = people["bob"]
    fire(client, keys["checkout"], "disk")
    clock.advance(minutes=5)
    fire(client, keys["checkout"], "disk")
    r = client.get(f"{ALERTS}/{alert_id(client, bob, 'disk')}", headers=bob.headers)
    assert r.status_code == 200
    alert = r.json()
    assert alert["occurrences"] == 2
    decisions = {d["kind"]: d for d in alert["decisions"]}
    assert [d["kind"] for d in alert["decisions"]] == ["routed", "grouped", "page_requested"]
    assert "routed to checkout" in decisions["routed"]["reason"] and "urgency high" in decisions["routed"]["reason"]
    assert "opened a new group" in decisions["grouped"]["reason"]
    assert decisions["page_requested"]["reason"] == "high urgency: page now"
    log = alert["occurrences_log"]
    assert [(o["action"], o["outcome"]) for o in log] == [("trigger", "deduplicated"), ("trigger", "created")], \
        "newest first"
    assert log[1]["body"]["summary"] == "disk is failing" and log[1]["source"] == "events_v2"
    assert alert["group"]["alert_count"] == 1 and alert["group"]["status"] == "open"


def test_low_urgency_alert_explains_its_urgency(client, people, keys):
    fire(client, keys["checkout"], "cpu", severity="warning")
    detail = client.get(f"{ALERTS}/{alert_id(client, people['bob'], 'cpu')}", headers=people["bob"].headers).json()
    assert detail["urgency"] == "low"
    assert "urgency low from severity warning" in detail["decisions"][0]["reason"]


def test_unknown_alert_is_404(client, people):
    r = client.get(f"{ALERTS}/0190e4d2-0000-7000-8000-000000000000", headers=people["bob"].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# --- acknowledge and resolve -------------------------------------------------------------------

def page_requests(db) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT status FROM page_requests"))]


def test_responder_acknowledges_which_cancels_the_pending_page(client, db, people, keys, clock):
    bob = people["bob"]
    fire(client, keys["checkout"], "disk")
    assert page_requests(db) == ["pending"]
    aid = alert_id(client, bob, "disk")
    clock.advance(minutes=2)
    r = command(client, bob, aid, "acknowledge")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged" and r.json()["acknowledged_at"] is not None
    assert page_requests(db) == ["cancelled"], "nobody is paged for an acknowledged alert"
    last = client.get(f"{ALERTS}/{aid}", headers=bob.headers).json()["decisions"][-1]
    assert last["kind"] == "acknowledged" and bob.email in last["reason"]
    assert command(client, bob, aid, "acknowledge").status_code == 409, "acknowledging twice"


@pytest.mark.parametrize("verb, status", [("acknowledge", "acknowledged"), ("resolve", "resolved")])
def test_viewer_may_not_acknowledge_or_resolve(client, db, people, keys, verb, status):
    fire(client, keys["checkout"], "disk")
    aid = alert_id(client, people["dave"], "disk")
    r = command(client, people["dave"], aid, verb)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert alerts(client, people["dave"])[0]["status"] == "triggered"
    assert page_requests(db) == ["pending"]
    r = command(client, people["bob"], aid, verb)
    assert r.status_code == 200 and r.json()["status"] == status


def test_resolving_twice_is_409_and_the_sender_can_trigger_again(client, people, keys):
    bob = people["bob"]
    fire(client, keys["checkout"], "disk")
    aid = alert_id(client, bob, "disk")
    r = command(client, bob, aid, "resolve")
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = command(client, bob, aid, "resolve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    assert command(client, bob, aid, "acknowledge").status_code == 409
    fire(client, keys["checkout"], "disk")
    assert [a["status"] for a in alerts(client, bob)] == ["triggered", "resolved"]


def test_resolving_the_last_alert_closes_its_group(client, people, keys):
    bob = people["bob"]
    fire(client, keys["checkout"], "a")
    fire(client, keys["checkout"], "b")
    a, b = alert_id(client, bob, "a"), alert_id(client, bob, "b")
    command(client, bob, a, "resolve")
    assert client.get(f"{ALERTS}/{b}", headers=bob.headers).json()["group"]["status"] == "open"
    command(client, bob, b, "resolve")
    group = client.get(f"{ALERTS}/{b}", headers=bob.headers).json()["group"]
    assert group["status"] == "closed" and group["alert_count"] == 2


# --- attaching to incidents --------------------------------------------------------------------

def test_attach_shows_the_alert_on_the_incident_timeline(client, people, keys):
    bob = people["bob"]
    fire(client, keys["checkout"], "disk", summary="Disk full on db1")
    aid = alert_id(client, bob, "disk")
    ref = declare(client, bob, services=["checkout"])
    r = command(client, bob, aid, "attach", incident=ref)
    assert r.status_code == 200, r.text
    assert r.json()["incident"] == ref
    assert alerts(client, bob)[0]["incident"] == ref
    entries = client.get(f"/api/v1/incidents/{ref}/timeline", headers=bob.headers).json()["items"]
    attached = [e for e in entries if e["kind"] == "alert_attached"]
    assert len(attached) == 1
    assert attached[0]["text"] == "Alert attached: [critical] Disk full on db1"
    assert attached[0]["data"]["alert_id"] == aid and attached[0]["actor"]["name"] == "Bob"
    assert command(client, bob, aid, "attach", incident=ref).status_code == 409, "already attached"
    assert [a["dedup_key"] for a in alerts(client, bob, incident=ref.lower())] == ["disk"]


@pytest.mark.parametrize("who, incident, status", [
    ("dave", "INC-1", 403),   # viewers do not attach
    ("bob", "INC-42", 404),
    ("bob", "", 422),
])
def test_attach_refusals(client, people, keys, who, incident, status):
    fire(client, keys["checkout"], "disk")
    declare(client, people["bob"])
    r = command(client, people[who], alert_id(client, people["bob"], "disk"), "attach", incident=incident)
    assert r.status_code == status, r.text


def test_restricted_incident_stays_invisible_through_its_alerts(client, people, keys):
    # Runbook: security declares a restricted incident → Ada attaches the alert → Bob, not on the
    # incident, can still work the alert but learns nothing about the incident.
    bob, ada = people["bob"], people["ada"]
    fire(client, keys["checkout"], "exfil", summary="Unusual egress from db1")
    aid = alert_id(client, bob, "exfil")
    secret = declare(client, ada, title="Possible data exfiltration", kind="security")
    assert command(client, bob, aid, "attach", incident=secret).status_code == 404
    r = command(client, ada, aid, "attach", incident=secret)
    assert r.status_code == 200 and r.json()["incident"] == secret

    assert alerts(client, bob)[0]["incident"] is None
    detail = client.get(f"{ALERTS}/{aid}", headers=bob.headers).json()
    assert detail["incident"] is None
    assert secret not in str(detail), "the decisions must not name the restricted incident either"
    assert client.get(ALERTS, params={"incident": secret}, headers=bob.headers).status_code == 404
    assert alerts(client, ada, incident=secret)[0]["id"] == aid
    ada_view = client.get(f"{ALERTS}/{aid}", headers=ada.headers).json()
    assert ada_view["incident"] == secret
    assert ada_view["decisions"][-1]["data"] == {"incident": secret}
    assert "attached" not in [d["kind"] for d in detail["decisions"]], "not even a redacted trace of the link"

    # Bob cannot move the alert away to an incident of his own: the restricted one would lose it unseen.
    mine = declare(client, bob, title="Slow checkout")
    r = command(client, bob, aid, "attach", incident=mine)
    assert r.status_code == 409 and secret not in r.text
    assert client.get(f"{ALERTS}/{aid}", headers=ada.headers).json()["incident"] == secret


# --- integrations ------------------------------------------------------------------------------

def integration_rows(db) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM integrations")).mappings()]


def test_integration_key_is_shown_once_and_stored_only_as_a_hash(client, db, people, make_service):
    ada = people["ada"]
    make_service("checkout")
    created = new_integration(client, ada, "checkout")
    key = created["key"]
    assert len(key) == 32 and int(key, 16) >= 0
    assert created["key_hint"] == key[:4] and created["url"] == "/v2/enqueue (routing_key = <key>)"
    listed = client.get(INTEGRATIONS, headers=people["bob"].headers).json()["items"]
    assert [i["id"] for i in listed] == [created["id"]] and "key" not in listed[0]
    one = client.get(f"{INTEGRATIONS}/{created['id']}", headers=people["dave"].headers).json()
    assert "key" not in one and one["last_event_at"] is None
    (row,) = integration_rows(db)
    assert not any(key in str(value) for value in row.values()), "the plaintext key is never stored"
    fire(client, key, "disk")
    assert client.get(f"{INTEGRATIONS}/{created['id']}", headers=ada.headers).json()["last_event_at"] is not None
    detail = client.get(f"{ALERTS}/{alert_id(client, people['dave'], 'disk')}", headers=people["dave"].headers)
    assert key not in detail.text, "the routing key is not kept in the stored event for viewers to read"


def test_rotating_a_key_stops_the_old_one_at_once(client, people, keys):
    ada = people["ada"]
    (integ,) = client.get(INTEGRATIONS, params={"service": "checkout"}, headers=ada.headers).json()["items"]
    old = keys["checkout"]
    r = client.post(f"{INTEGRATIONS}/{integ['id']}/rotate-key", headers=ada.headers)
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    assert new != old and r.json()["key_hint"] == new[:4] and r.json()["id"] == integ["id"]
    r = client.post("/v2/enqueue", json={"routing_key": old, "event_action": "trigger", "dedup_key": "x",
                                         "payload": {"summary": "s", "source": "m", "severity": "info"}})
    assert r.status_code == 400 and r.json()["status"] == "invalid event"
    fire(client, new, "x")
    assert [a["dedup_key"] for a in alerts(client, ada)] == ["x"]


def test_deleting_an_integration_keeps_its_alerts(client, people, keys):
    ada = people["ada"]
    fire(client, keys["checkout"], "disk")
    (integ,) = client.get(INTEGRATIONS, params={"service": "checkout"}, headers=ada.headers).json()["items"]
    assert client.delete(f"{INTEGRATIONS}/{integ['id']}", headers=ada.headers).status_code == 204
    assert client.get(f"{INTEGRATIONS}/{integ['id']}", headers=ada.headers).status_code == 404
    r = client.post("/v2/enqueue", json={"routing_key": keys["checkout"], "event_action": "resolve",
                                         "dedup_key": "disk"})
    assert r.status_code == 400
    (alert,) = alerts(client, ada)
    assert alert["dedup_key"] == "disk" and alert["integration_id"] is None


@pytest.mark.parametrize("who", ["bob", "dave"])
def test_only_admins_manage_integrations(client, people, keys, who):
    person = people[who]
    (integ,) = client.get(INTEGRATIONS, params={"service": "checkout"}, headers=person.headers).json()["items"]
    for method, path, body in [
        ("POST", INTEGRATIONS, {"service": "checkout", "type": "alertmanager", "name": "am"}),
        ("POST", f"{INTEGRATIONS}/{integ['id']}/rotate-key", None),
        ("DELETE", f"{INTEGRATIONS}/{integ['id']}", None),
    ]:
        r = client.request(method, path, json=body, headers=person.headers)
        assert r.status_code == 403, (method, path, r.text)
    fire(client, keys["checkout"], "still-works")
    assert len(client.get(INTEGRATIONS, headers=person.headers).json()["items"]) == 2


@pytest.mark.parametrize("body, status", [
    ({"service": "nope", "type": "events_v2", "name": "pd"}, 404),
    ({"service": "checkout", "type": "victorops", "name": "vo"}, 422),  # (opsgenie is a type since issue 20)
    ({"service": "checkout", "type": "events_v2", "name": "pd", "config": {"hmac": True}}, 422),
    ({"service": "checkout", "type": "grafana", "name": "g", "config": {"hmac": "yes"}}, 422),
    ({"service": "checkout", "type": "grafana", "name": "g", "config": {"secret": "s"}}, 422),
    ({"service": "checkout", "type": "events_v2", "name": "pd", "key": "mine"}, 422),
])
def test_invalid_integrations_are_refused(client, people, make_service, body, status):
    make_service("checkout")
    r = client.post(INTEGRATIONS, json=body, headers=people["ada"].headers)
    assert r.status_code == status, r.text
    assert client.get(INTEGRATIONS, headers=people["ada"].headers).json()["items"] == []


# --- authentication ----------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", ALERTS),
    ("GET", f"{ALERTS}/0190e4d2-0000-7000-8000-000000000000"),
    ("POST", f"{ALERTS}/0190e4d2-0000-7000-8000-000000000000/acknowledge"),
    ("POST", f"{ALERTS}/0190e4d2-0000-7000-8000-000000000000/resolve"),
    ("POST", f"{ALERTS}/0190e4d2-0000-7000-8000-000000000000/attach"),
    ("GET", INTEGRATIONS),
    ("POST", INTEGRATIONS),
    ("GET", f"{INTEGRATIONS}/0190e4d2-0000-7000-8000-000000000000"),
    ("POST", f"{INTEGRATIONS}/0190e4d2-0000-7000-8000-000000000000/rotate-key"),
    ("DELETE", f"{INTEGRATIONS}/0190e4d2-0000-7000-8000-000000000000"),
    ("GET", "/api/v1/services/checkout/changes"),
    ("GET", "/api/v1/incidents/INC-1/changes"),
])
@pytest.mark.parametrize("auth", [None, "Bearer tcs_not-a-real-token", "Basic YWRhOnB3"])
def test_unauthenticated_requests_are_401(client, people, method, path, auth):
    body = {"incident": "INC-1"} if path.endswith("attach") else (
        {"service": "checkout", "type": "events_v2", "name": "pd"} if method == "POST" and path == INTEGRATIONS
        else None)
    headers = {"Authorization": auth} if auth else {}
    r = client.request(method, path, json=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthenticated"
