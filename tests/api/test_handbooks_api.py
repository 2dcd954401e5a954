"""Role handbooks and the IC bench through the API: everyone reads, admins edit (audited), bad
input is a clear 4xx, and exercises passed as IC show on the bench."""

import uuid

import pytest

from tocsin.handbooks import bench

HB = "/api/v1/handbooks"
BENCH = "/api/v1/ic-bench"


@pytest.fixture
def people(make_person):
    return {"bob": make_person("responder", name="Bob"), "dave": make_person("viewer", name="Dave"),
            "admin": make_person("admin", name="Ada")}


def test_admins_edit_a_handbook_everyone_reads_it_and_it_is_audited(client, people):
    bob, dave, admin = people["bob"], people["dave"], people["admin"]
    listed = client.get(HB, headers=dave.headers)
    assert listed.status_code == 200
    assert [h["role"] for h in listed.json()][:3] == ["incident_commander", "scribe", "comms_lead"]
    assert not any(h["edited"] for h in listed.json())

    ic = client.get(f"{HB}/incident_commander", headers=bob.headers).json()
    assert ic["label"] == "Incident Commander" and "you do not fix" in ic["body_md"]

    body = "# IC at Acme\n\nCoordinate. <b>Never</b> fix.\n\n1. Say you are IC"
    assert client.put(f"{HB}/incident_commander", json={"body_md": body}, headers=bob.headers).status_code == 403
    put = client.put(f"{HB}/incident_commander", json={"body_md": body}, headers=admin.headers)
    assert put.status_code == 200, put.text
    got = client.get(f"{HB}/incident_commander", headers=dave.headers).json()
    assert got["edited"] and got["updated_by"] == "Ada" and got["body_md"] == body
    assert "<h1>IC at Acme</h1>" in got["html"] and "&lt;b&gt;Never&lt;/b&gt;" in got["html"]

    reset = client.delete(f"{HB}/incident_commander", headers=admin.headers)
    assert reset.status_code == 200 and not reset.json()["edited"] and "you do not fix" in reset.json()["body_md"]
    audit = client.get("/api/v1/audit", params={"action": "handbook"}, headers=admin.headers).json()["items"]
    assert sorted(e["action"] for e in audit) == ["handbook.reset", "handbook.update"]


def test_bad_handbook_input_is_refused_clearly(client, people):
    admin = people["admin"]
    assert client.get(f"{HB}/janitor", headers=admin.headers).status_code == 404
    assert client.put(f"{HB}/janitor", json={"body_md": "x"}, headers=admin.headers).status_code == 404
    assert client.put(f"{HB}/scribe", json={"body_md": ""}, headers=admin.headers).status_code == 422
    assert client.put(f"{HB}/scribe", json={"body_md": "   "}, headers=admin.headers).status_code == 422
    assert client.put(f"{HB}/scribe", json={"body_md": "x" * 50_001}, headers=admin.headers).status_code == 422
    assert client.put(f"{HB}/scribe", json={"text": "x"}, headers=admin.headers).status_code == 422
    assert client.get(HB).status_code == 401


def test_the_ic_bench_shows_who_is_trained_and_the_exercises_they_passed(client, people, db, clock):
    bob, dave, admin = people["bob"], people["dave"], people["admin"]
    assert client.get(BENCH, headers=dave.headers).json() == []
    drill = uuid.uuid4()
    with db.unit_of_work() as s:
        bench.record_exercise(s, user_id=dave.id, exercise_id=drill, exercise_name="Database outage",
                              role="incident_commander", passed=True, score=80, now=clock.now())
        bench.record_exercise(s, user_id=dave.id, exercise_id=drill, exercise_name="Database outage",
                              role="incident_commander", passed=True, score=85, now=clock.now())  # re-scored: once
        bench.record_exercise(s, user_id=dave.id, exercise_id=uuid.uuid4(), exercise_name="Bad deploy",
                              role="incident_commander", passed=False, score=30, now=clock.now())
        bench.record_exercise(s, user_id=bob.id, exercise_id=uuid.uuid4(), exercise_name="Leaked credential",
                              role="responder", passed=True, score=90, now=clock.now())
    rows = client.get(BENCH, headers=bob.headers).json()
    assert [(r["user"]["name"], r["trained"]) for r in rows] == [("Dave", False)]
    assert [(c["name"], c["score"]) for c in rows[0]["exercises_passed"]] == [("Database outage", 85)]

    assert client.put(f"{BENCH}/{bob.email}", json={"trained": True}, headers=bob.headers).status_code == 403
    # a non-admin learns nothing from the answer: an unknown email is refused the same way, not "not found"
    assert client.put(f"{BENCH}/nobody@example.com", json={"trained": True}, headers=bob.headers).status_code == 403
    marked = client.put(f"{BENCH}/{bob.email}", json={"trained": True}, headers=admin.headers)
    assert marked.status_code == 200 and marked.json()["trained"] and marked.json()["trained_at"]
    rows = client.get(BENCH, headers=bob.headers).json()
    assert [(r["user"]["name"], r["trained"]) for r in rows] == [("Bob", True), ("Dave", False)]
    unmarked = client.put(f"{BENCH}/{bob.email}", json={"trained": False}, headers=admin.headers)
    assert unmarked.status_code == 200 and not unmarked.json()["trained"]
    assert [r["user"]["name"] for r in client.get(BENCH, headers=bob.headers).json()] == ["Dave"]
    assert client.put(f"{BENCH}/nobody@example.com", json={"trained": True}, headers=admin.headers).status_code == 404
    assert client.put(f"{BENCH}/{bob.email}", json={"trained": "maybe"}, headers=admin.headers).status_code == 422
    assert client.get(BENCH, params={"role": "janitor"}, headers=bob.headers).status_code == 422
    audit = client.get("/api/v1/audit", params={"action": "bench"}, headers=admin.headers).json()["items"]
    assert [(e["action"], e["details"]["email"]) for e in audit] == [("bench.trained", bob.email),
                                                                    ("bench.untrained", bob.email)]
