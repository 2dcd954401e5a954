"""Escalation policies over the API: CRUD, whole-list levels, validation (422, nothing stored),
roles (403), attaching a policy to a service, reading an alert's escalation, teams as targets,
re-escalating and reassigning an alert by hand, and 401s."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.engine.runner import Engine
from tocsin.escalation.models import EscalationLevel, EscalationPolicy
from tocsin.escalation.steps import escalations
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.oncall import service as oncall
from tocsin.pipeline.ingest import Incoming, ingest

POL = "/api/v1/escalation-policies"


@pytest.fixture
def people(make_person, make_service, db, clock, system):
    make_service("checkout", tier=1)
    admin, alice, viewer, bob = (make_person("admin", name="Admin"), make_person("responder", name="Alice"),
                                 make_person("viewer", name="Viewer"), make_person("responder", name="Bob"))
    with db.unit_of_work() as s:
        primary = oncall.create_schedule(s, actor=system, now=clock.now(), name="Primary", slug="primary")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=primary, name="a", kind="weekly",
                            timezone="UTC", start=clock.now() - timedelta(days=1), members=[alice.email])
    return {"admin": admin, "alice": alice, "viewer": viewer, "bob": bob}


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
    assert [x["slug"] for x in client.get(POL, headers=alice.headers).json()["items"]] == ["checkout-paging"]

    r = client.patch(f"{POL}/{p['id']}", json={"levels": [{"delay_minutes": 3, "targets": [
        {"type": "user", "id": alice.email}]}], "repeat": 0}, headers=admin)
    assert r.status_code == 200, r.text
    assert [lv["delay_minutes"] for lv in r.json()["levels"]] == [3] and r.json()["repeat"] == 0
    assert counts(db) == (1, 1)

    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout-paging"}, headers=admin)
    assert r.status_code == 200 and r.json()["policy"] == "checkout-paging", r.text
    assert client.get(f"{POL}/checkout-paging", headers=admin).json()["services"] == ["checkout"]

    assert client.post(POL, json=body(alice), headers=admin).status_code == 409, "slug taken"
    r = client.delete(f"{POL}/checkout-paging", headers=admin)
    assert r.status_code == 409 and r.json()["error"]["details"]["services"] == ["checkout"], \
        "a policy a service pages with is not deleted (the service would page nobody)"
    r = client.put("/api/v1/services/checkout/escalation-policy", json={"policy": None}, headers=admin)
    assert r.status_code == 200 and r.json()["policy"] is None
    assert client.delete(f"{POL}/checkout-paging", headers=admin).status_code == 204
    assert client.get(f"{POL}/checkout-paging", headers=admin).status_code == 404
    assert counts(db) == (0, 0)
    audit = client.get("/api/v1/audit", headers=admin).json()["items"]
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
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "team", "slug": "nope"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "team", "email": "x@example.test"}]}]},
    {"levels": [{"delay_minutes": 5, "targets": [{"type": "squad", "slug": "ops"}]}]},
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
    Engine(db, clock, settings=Settings(secret_key="test-secret"), modules=[("escalations", escalations)]).tick()
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


# --- teams as targets ----------------------------------------------------------------------------

def test_a_team_is_a_target_named_by_slug_or_id(client, people, make_team):
    ops = make_team("ops")
    admin = people["admin"].headers
    levels = [{"delay_minutes": 5, "targets": [{"type": "team", "slug": "ops"}]},
              {"delay_minutes": 5, "targets": [{"type": "team", "id": str(ops)},
                                               {"type": "user", "email": people["bob"].email}]}]
    r = client.post(POL, json={"name": "Ops", "levels": levels}, headers=admin)
    assert r.status_code == 201, r.text
    got = [[(t["type"], t["id"], t["name"]) for t in lv["targets"]] for lv in r.json()["levels"]]
    assert got == [[("team", str(ops), "ops")], [("team", str(ops), "ops"), ("user", str(people["bob"].id),
                                                                           people["bob"].email)]]
    r = client.post(POL, json={"name": "Twice", "levels": [{"delay_minutes": 5, "targets": [
        {"type": "team", "slug": "ops"}, {"type": "team", "id": str(ops)}]}]}, headers=admin)
    assert r.status_code == 422 and "twice" in r.json()["error"]["message"], r.text


# --- re-escalate and reassign by hand ------------------------------------------------------------

def alert_on(client, db, clock, admin, service="checkout"):
    svc = client.get(f"/api/v1/services/{service}", headers=admin).json()["id"]
    with db.unit_of_work() as s:
        ev = Event(action=Action.trigger, dedup_key=f"k-{uuid.uuid4()}", summary=f"{service} down",
                   severity=AlertSeverity.critical, source="t", labels={})
        return ingest(s, [Incoming(ev, uuid.UUID(svc), None, "events_v2")], now=clock.now())[0].alert_id


def tick(db, clock):
    Engine(db, clock, settings=Settings(secret_key="test-secret"), modules=[("escalations", escalations)]).tick()


@pytest.fixture
def paged(client, people, db, clock):
    """An alert of checkout paged at level 1 of 'checkout-paging' (2 levels, repeat 1), then
    acknowledged by Alice a minute later."""
    admin = people["admin"].headers
    assert client.post(POL, json=body(people["alice"]), headers=admin).status_code == 201
    client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout-paging"}, headers=admin)
    alert_id = alert_on(client, db, clock, admin)
    tick(db, clock)
    clock.advance(minutes=1)
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=people["alice"].headers).status_code == 200
    return alert_id


def escalation(client, people, alert_id):
    r = client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=people["admin"].headers)
    assert r.status_code == 200, r.text
    return r.json()


def alert(client, people, alert_id):
    return client.get(f"/api/v1/alerts/{alert_id}", headers=people["admin"].headers).json()


def decisions(client, people, alert_id, kind):
    return [d["reason"] for d in alert(client, people, alert_id)["decisions"] if d["kind"] == kind]


def audit_actions(client, people):
    audit = client.get("/api/v1/audit", headers=people["admin"].headers).json()["items"]
    return [e["action"] for e in (audit["items"] if isinstance(audit, dict) else audit)]


def at(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("level,index", [(None, 1), (1, 0), (2, 1)])
def test_reescalate_an_acknowledged_alert(client, people, db, clock, paged, level, index):
    before = escalation(client, people, paged)
    assert (before["status"], before["level"]) == ("stopped", 1)
    clock.advance(minutes=1)
    bob = people["bob"]
    r = client.post(f"/api/v1/alerts/{paged}/escalate", json={"level": level}, headers=bob.headers)
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["status"], e["stop_reason"], e["level"], e["loop"]) == ("active", None, index, 0)
    assert at(e["next_at"]) == clock.now() and e["epoch"] > before["epoch"]
    assert e == client.get(f"/api/v1/alerts/{paged}/escalation", headers=bob.headers).json()
    a = alert(client, people, paged)
    assert a["status"] == "triggered" and a["acknowledged_at"] is None
    assert decisions(client, people, paged, "unacknowledged") == [f"unacknowledged: re-escalated by {bob.email}"]
    assert decisions(client, people, paged, "reescalated") == [f"re-escalated to level {index + 1} by {bob.email}"]
    assert "alert.reescalate" in audit_actions(client, people)

    tick(db, clock)  # the engine pages the level now
    e = escalation(client, people, paged)
    # level 1 leads to level 2; level 2, the last, to the policy's repeat
    assert (e["status"], e["level"], e["loop"]) == (("active", 1, 0) if index == 0 else ("active", 0, 1))
    assert len(e["notifications"]) == 2 and e["notifications"][-1]["user"] == people["alice"].email
    # the step says it was re-escalated by hand, not that nobody acknowledged in time
    assert decisions(client, people, paged, "escalated") == []


def test_reescalate_an_exhausted_escalation_notifies_the_last_level(client, people, db, clock, paged):
    client.post(f"/api/v1/alerts/{paged}/escalate", json={"level": 2}, headers=people["bob"].headers)
    for _ in range(4):  # level 2, then the policy's repeat, then exhausted
        tick(db, clock)
        clock.advance(minutes=10)
    tick(db, clock)
    e = escalation(client, people, paged)
    assert (e["status"], e["level"], e["loop"]) == ("exhausted", 2, 1), e
    r = client.post(f"/api/v1/alerts/{paged}/escalate", json={}, headers=people["bob"].headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["level"], r.json()["loop"]) == ("active", 1, 0)


@pytest.mark.parametrize("bad", [{"level": 3}, {"level": 0}, {"level": 21}, {"level": "two"}, {"lvl": 1}])
def test_reescalate_to_no_such_level_is_422_and_changes_nothing(client, people, paged, bad):
    before, decided = escalation(client, people, paged), alert(client, people, paged)["decisions"]
    r = client.post(f"/api/v1/alerts/{paged}/escalate", json=bad, headers=people["bob"].headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", r.text
    assert escalation(client, people, paged) == before
    a = alert(client, people, paged)
    assert a["status"] == "acknowledged" and a["decisions"] == decided


@pytest.mark.parametrize("path,b", [("escalate", {"level": None}),
                                    ("reassign", {"targets": [{"type": "user", "email": "{bob}"}]})])
def test_a_resolved_alert_is_409(client, people, paged, path, b):
    assert client.post(f"/api/v1/alerts/{paged}/resolve", headers=people["alice"].headers).status_code == 200
    before = escalation(client, people, paged)
    b = {k: [{**t, "email": people["bob"].email} for t in v] if k == "targets" else v for k, v in b.items()}
    r = client.post(f"/api/v1/alerts/{paged}/{path}", json=b, headers=people["bob"].headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition", r.text
    assert escalation(client, people, paged) == before
    assert alert(client, people, paged)["status"] == "resolved"


def test_an_alert_without_escalation_cannot_be_reescalated_but_can_be_reassigned(client, people, db, clock,
                                                                                make_service):
    make_service("billing")
    admin, bob = people["admin"].headers, people["bob"]
    alert_id = alert_on(client, db, clock, admin, service="billing")
    tick(db, clock)
    assert decisions(client, people, alert_id, "not_paged") == ["service billing has no escalation policy"]
    r = client.post(f"/api/v1/alerts/{alert_id}/escalate", json={"level": None}, headers=bob.headers)
    assert r.status_code == 409 and "reassign" in r.json()["error"]["message"], r.text
    assert client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=admin).status_code == 404

    r = client.post(f"/api/v1/alerts/{alert_id}/reassign", json={"targets": [{"type": "user", "id": str(bob.id)}]},
                    headers=people["alice"].headers)
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["status"], e["level"], e["loop"], e["epoch"]) == ("active", 0, 0, 0)
    assert at(e["next_at"]) == clock.now() and at(e["started_at"]) == clock.now() and e["alert_id"] == str(alert_id)
    tick(db, clock)
    assert [n["user"] for n in escalation(client, people, alert_id)["notifications"]] == [bob.email]


def test_reassign_to_a_user(client, people, db, clock, paged):
    before = escalation(client, people, paged)
    clock.advance(minutes=2)
    alice, bob = people["alice"], people["bob"]
    r = client.post(f"/api/v1/alerts/{paged}/reassign", json={"targets": [{"type": "user", "email": bob.email}]},
                    headers=alice.headers)
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["snapshot"]["levels"] == [{"delay_minutes": 15, "targets": [{"type": "user", "id": str(bob.id)}]}]
    assert e["snapshot"]["repeat"] == 0 and e["snapshot"]["reassigned_to"] == bob.email
    assert (e["status"], e["stop_reason"], e["level"], e["loop"]) == ("active", None, 0, 0)
    assert at(e["next_at"]) == clock.now() and e["epoch"] > before["epoch"] and e["id"] == before["id"]
    assert alert(client, people, paged)["status"] == "triggered"
    assert decisions(client, people, paged, "reassigned") == [f"reassigned to {bob.email} by {alice.email}"]
    assert decisions(client, people, paged, "unacknowledged") == [f"unacknowledged: reassigned by {alice.email}"]
    assert "alert.reassign" in audit_actions(client, people)

    tick(db, clock)  # the engine pages Bob now, and nobody else
    e = escalation(client, people, paged)
    assert [n["user"] for n in e["notifications"]] == [alice.email, bob.email]
    assert e["notifications"][-1]["channel"] == "email" and e["notifications"][-1]["destination"] in ("", bob.email)
    assert (e["status"], e["level"]) == ("active", 1)
    assert any(bob.name in r for r in decisions(client, people, paged, "notified"))


def test_reassign_to_a_team_pages_its_members(client, people, db, clock, paged, make_team, make_person):
    make_team("ops")
    carol = make_person("responder", teams=["ops"], name="Carol")
    dave = make_person("viewer", teams=["ops"], name="Dave")
    r = client.post(f"/api/v1/alerts/{paged}/reassign", json={"targets": [{"type": "team", "slug": "ops"}]},
                    headers=people["bob"].headers)
    assert r.status_code == 200, r.text
    assert decisions(client, people, paged, "reassigned") == [f"reassigned to team 'ops' by {people['bob'].email}"]
    tick(db, clock)
    users = [n["user"] for n in escalation(client, people, paged)["notifications"]]
    assert sorted(users[1:]) == sorted([carol.email, dave.email])


def test_reassign_to_a_policy(client, people, db, clock, paged):
    admin, bob = people["admin"].headers, people["bob"]
    night = {"name": "Night", "repeat": 2,
             "levels": [{"delay_minutes": 7, "targets": [{"type": "user", "email": bob.email}]}]}
    assert client.post(POL, json=night, headers=admin).status_code == 201
    before = escalation(client, people, paged)
    r = client.post(f"/api/v1/alerts/{paged}/reassign", json={"policy": "night"}, headers=people["alice"].headers)
    assert r.status_code == 200, r.text
    e = r.json()
    snap = e["snapshot"]
    assert (snap["slug"], snap["name"], snap["repeat"]) == ("night", "Night", 2)
    assert snap["levels"] == [{"delay_minutes": 7, "targets": [{"type": "user", "id": str(bob.id)}]}]
    assert (e["status"], e["level"], e["loop"]) == ("active", 0, 0) and e["epoch"] > before["epoch"]
    assert decisions(client, people, paged, "reassigned") == [
        f"reassigned to escalation policy 'Night' (night) by {people['alice'].email}"]
    tick(db, clock)
    assert escalation(client, people, paged)["notifications"][-1]["user"] == bob.email


@pytest.mark.parametrize("bad", [
    {},
    {"targets": None, "policy": None},
    {"targets": [{"type": "user", "email": "{bob}"}], "policy": "checkout-paging"},
    {"targets": []},
    {"targets": [{"type": "team", "slug": "nope"}]},
    {"targets": [{"type": "user", "email": "nobody@example.test"}]},
    {"targets": [{"type": "user", "email": "{bob}"}, {"type": "user", "email": "{bob}"}]},
    {"policy": "nope"},
    {"policy": ""},
    {"team": "ops"},
])
def test_reassign_needs_exactly_one_known_target_set_or_policy(client, people, paged, bad):
    bad = {k: [{**t, "email": people["bob"].email} if t.get("email") == "{bob}" else t for t in v]
           if k == "targets" and v else v for k, v in bad.items()}
    before, decided = escalation(client, people, paged), alert(client, people, paged)["decisions"]
    r = client.post(f"/api/v1/alerts/{paged}/reassign", json=bad, headers=people["bob"].headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", r.text
    assert escalation(client, people, paged) == before
    assert alert(client, people, paged)["decisions"] == decided


def test_viewers_may_not_reescalate_or_reassign(client, people, paged):
    viewer = people["viewer"].headers
    before = escalation(client, people, paged)
    for path, b in (("escalate", {"level": 1}), ("reassign", {"policy": "checkout-paging"})):
        r = client.post(f"/api/v1/alerts/{paged}/{path}", json=b, headers=viewer)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        r = client.post(f"/api/v1/alerts/{paged}/{path}", json=b)
        assert r.status_code == 401, r.text
    assert escalation(client, people, paged) == before
    assert alert(client, people, paged)["status"] == "acknowledged"


def test_unknown_alert_is_404(client, people):
    for path, b in (("escalate", {"level": 1}), ("reassign", {"policy": "checkout-paging"})):
        r = client.post(f"/api/v1/alerts/{uuid.uuid4()}/{path}", json=b, headers=people["bob"].headers)
        assert r.status_code == 404, r.text
