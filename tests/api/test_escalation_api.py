"""Escalation policies over the API: CRUD, whole-list levels, validation (422, nothing stored),
roles (403), attaching a policy to a service, reading an alert's escalation, and 401s."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts.pipeline import Incoming, ingest
from tocsin.engine.escalations import escalations
from tocsin.engine.runner import Engine
from tocsin.escalation.models import EscalationLevel, EscalationPolicy
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.oncall import service as oncall

POL = "/api/v1/escalation-policies"


@pytest.fixture
def people(make_person, make_service, db, clock, system):
    make_service("checkout", tier=1)
    admin, alice, viewer = (make_person("admin", name="Admin"), make_person("responder", name="Alice"),
                            make_person("viewer", name="Viewer"))
    with db.unit_of_work() as s:
        primary = oncall.create_schedule(s, actor=system, now=clock.now(), name="Primary", slug="primary")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=primary, name="a", kind="weekly",
                            timezone="UTC", start=clock.now() - timedelta(days=1), members=[alice.email])
    return {"admin": admin, "alice": alice, "viewer": viewer}


def body(alice, **over):
    b = {"name": "Checkout paging", "repeat": 1, "levels": [
        {"delay_minutes": 5, "targets": [{"type": "user", "email": alice.email}]},
        {"delay_minutes": 10, "targets": [{"type": "schedule", "slug": "primary"}, {"type": "user", "id": str(alice.id)}]},
    ]}
    return b | over


def counts(db):
    with db.unit_of_work() as s:
        return tuple(s.execute(sa.select(sa.func.count()).select_from(m)).scalar_one()
                     for m in (EscalationPolicy, EscalationLevel))


def test_crud(client, people, db):
    admin, alice = people["admin"].headers, people["alice"]
    r = client.post(POL, json=body(alice), headers=admin)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["slug"] == "checkout-paging" and p["repeat"] == 1 and p["services"] == []
    assert [lv["delay_minutes"] for lv in p["levels"]] == [5, 10]
    assert [(t["type"], t["name"]) for t in p["levels"][1]["targets"]] == [("schedule", "primary"),
                                                                          ("user", alice.email)]
    assert client.get(f"{POL}/checkout-paging", headers=people["viewer"].headers).json() == p
    assert [x["slug"] for x in client.get(POL, headers=alice.headers).json()] == ["checkout-paging"]

    r = client.patch(f"{POL}/{p['id']}", json={"levels": [{"delay_minutes": 3, "targets": [
        {"type": "user", "id": alice.email}]}], "repeat": 0}, headers=admin)
    assert r.status_code == 200, r.text
    assert [lv["delay_minutes"] for lv in r.json()["levels"]] == [3] and r.json()["repeat"] == 0
    assert counts(db) == (1, 1)

    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout-paging"}, headers=admin)
    assert r.status_code == 200 and r.json()["policy"] == "checkout-paging", r.text
    assert client.get(f"{POL}/checkout-paging", headers=admin).json()["services"] == ["checkout"]

    assert client.post(POL, json=body(alice), headers=admin).status_code == 409, "slug taken"
    assert client.delete(f"{POL}/checkout-paging", headers=admin).status_code == 204
    assert client.get(f"{POL}/checkout-paging", headers=admin).status_code == 404
    assert counts(db) == (0, 0)
    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": None}, headers=admin)
    assert r.status_code == 200 and r.json()["policy"] is None
    audit = client.get("/api/v1/audit", headers=admin).json()
    actions = [e["action"] for e in (audit["items"] if isinstance(audit, dict) else audit)]
    for a in ("escalation_policy.create", "escalation_policy.update", "escalation_policy.delete",
              "service.escalation_policy"):
        assert a in actions, a


@pytest.mark.parametrize("bad", [
    {"levels": []},
    {"levels": [{"delay_minutes": 0, "targets": [{"type": "user", "email": "x@example.test"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "user", "email": "nobody@example.test"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "schedule", "slug": "nope"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "team", "id": "ops"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": []}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "user"}]}]},
    {"repeat": 10},
    {"slug": "Not A Slug"},
])
def test_validation_is_422_and_stores_nothing(client, people, db, bad):
    admin = people["admin"].headers
    r = client.post(POL, json=body(people["alice"], **bad), headers=admin)
    assert r.status_code == 422, r.text
    assert counts(db) == (0, 0)
    client.post(POL, json=body(people["alice"]), headers=admin)
    r = client.patch(f"{POL}/checkout-paging", json=bad, headers=admin)
    assert r.status_code == 422, r.text
    assert counts(db) == (1, 2), "a rejected patch changes nothing"


def test_unknown_policy_for_a_service_is_422(client, people):
    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "nope"},
                   headers=people["admin"].headers)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("who", ["alice", "viewer"])
def test_only_admins_change_policies(client, people, db, who):
    admin, me = people["admin"].headers, people[who].headers
    assert client.post(POL, json=body(people["alice"]), headers=me).status_code == 403
    assert counts(db) == (0, 0)
    client.post(POL, json=body(people["alice"]), headers=admin)
    assert client.patch(f"{POL}/checkout-paging", json={"repeat": 0}, headers=me).status_code == 403
    assert client.delete(f"{POL}/checkout-paging", headers=me).status_code == 403
    assert client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout-paging"},
                      headers=me).status_code == 403
    assert client.get(f"{POL}/checkout-paging", headers=admin).json()["repeat"] == 1
    assert client.get(f"{POL}/checkout-paging", headers=me).status_code == 200


def test_without_a_token_is_401(client, people):
    for method, path, b in (("GET", POL, None), ("POST", POL, body(people["alice"])),
                            ("PUT", "/api/v1/services/checkout/escalation-policy", {"policy": None})):
        assert client.request(method, path, json=b).status_code == 401


def test_an_alerts_escalation_is_readable(client, people, db, clock):
    admin = people["admin"].headers
    client.post(POL, json=body(people["alice"]), headers=admin)
    client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout-paging"}, headers=admin)
    with db.unit_of_work() as s:
        svc = client.get("/api/v1/services/checkout", headers=admin).json()["id"]
        ev = Event(action=Action.trigger, dedup_key="k", summary="checkout down", severity=AlertSeverity.critical,
                   source="t", labels={})
        alert_id = ingest(s, [Incoming(ev, uuid.UUID(svc), None, "events_v2")], now=clock.now())[0].alert_id
    assert client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=admin).status_code == 404
    Engine(db, clock, modules=[("escalations", escalations)]).tick()
    r = client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=people["viewer"].headers)
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["status"], e["level"], e["loop"]) == ("active", 1, 0)
    assert [lv["delay_minutes"] for lv in e["snapshot"]["levels"]] == [5, 10]
    assert [n["user"] for n in e["notifications"]] == [people["alice"].email]
    r = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=people["alice"].headers)
    assert r.status_code == 200, r.text
    e = client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=admin).json()
    assert e["status"] == "stopped" and e["next_at"] is None and e["stop_reason"].startswith("acknowledged by")
