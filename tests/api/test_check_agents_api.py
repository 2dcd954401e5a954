"""The agent API refuses bad input with a clear 4xx and stores nothing; keys are shown once and audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

API = "/api/v1"
CHECK = {"service": "web", "name": "home", "kind": "http", "target": "https://example.test/", "timeout_seconds": 5}


@pytest.fixture
def scene(client, make_person, make_service):
    make_service("web")
    admin = make_person("admin")
    r = client.post(f"{API}/agents", json={"name": "eu-west"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    agent = r.json()
    c = client.post(f"{API}/checks", json={**CHECK, "locations": ["server", "eu-west"]}, headers=admin.headers)
    assert c.status_code == 201, c.text
    return {"admin": admin, "agent": agent, "key": {"Authorization": f"Bearer {agent['key']}"}, "check": c.json()}


def test_the_key_is_shown_once_stored_hashed_and_registration_is_audited(client, db, scene) -> None:
    key = scene["agent"]["key"]
    listed = client.get(f"{API}/agents", headers=scene["admin"].headers).json()
    assert [a["name"] for a in listed] == ["eu-west"] and "key" not in listed[0]
    assert listed[0]["checks"] == 1 and listed[0]["online"] is False  # never seen yet
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT key_hash FROM check_agents")).scalar_one()
        actions = list(conn.execute(sa.text("SELECT action FROM audit_log")).scalars())
    assert key not in stored and len(stored) == 64
    assert "check_agent.register" in actions
    assert client.get(f"{API}/agent/checks", headers=scene["key"]).json()["location"] == "eu-west"


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "server"}, 422),  # the server's own location
    ({"name": "EU West"}, 422),
    ({"name": "eu-west"}, 409),  # taken
    ({"name": "x", "extra": 1}, 422),
])
def test_bad_agent_names_are_refused(client, scene, body, status) -> None:
    assert client.post(f"{API}/agents", json=body, headers=scene["admin"].headers).status_code == status


@pytest.mark.parametrize(("change", "field"), [
    ({"locations": ["server", "nowhere"]}, "locations"),  # no such agent
    ({"locations": ["server", "server"]}, "locations"),
    ({"locations": []}, "locations"),
    ({"locations": ["server", "eu-west"], "quorum": 3}, "quorum"),  # more than the locations
])
def test_bad_locations_and_quorum_are_refused(client, scene, change, field) -> None:
    r = client.post(f"{API}/checks", json={**CHECK, "name": "other", **change}, headers=scene["admin"].headers)
    assert r.status_code == 422, r.text
    assert field in r.text
    p = client.patch(f"{API}/checks/{scene['check']['id']}", json=change, headers=scene["admin"].headers)
    assert p.status_code == 422, p.text


def test_a_check_run_by_agents_alone_may_aim_at_private_addresses_the_server_may_not(client, scene) -> None:
    admin = scene["admin"].headers
    far = client.post(f"{API}/checks", json={**CHECK, "name": "intranet", "target": "http://10.1.2.3/",
                                             "locations": ["eu-west"]}, headers=admin)
    assert far.status_code == 201, far.text
    assert far.json()["quorum"] is None and far.json()["locations"] == ["eu-west"]
    back = client.patch(f"{API}/checks/{far.json()['id']}", json={"locations": ["server", "eu-west"]}, headers=admin)
    assert back.status_code == 422 and "egress" in back.text  # the server would probe it now


@pytest.mark.parametrize("result", [
    {"at": "2026-01-01T12:00:00", "ok": True},  # no time zone
    {"at": "2026-01-01T12:00:00Z", "ok": "maybe"},
    {"at": "2026-01-01T12:00:00Z", "ok": False, "latency_ms": -1},
    {"at": "2026-01-01T12:00:00Z", "ok": False, "error": "x" * 1001},
    {"at": "2026-01-01T12:00:00Z"},
])
def test_malformed_results_are_refused_whole(client, db, scene, result) -> None:
    r = client.post(f"{API}/agent/results", json={"results": [{"check_id": scene["check"]["id"], **result}]},
                    headers=scene["key"])
    assert r.status_code == 422, r.text
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM check_results")).scalar_one() == 0


def test_results_for_unknown_or_foreign_checks_get_403_and_far_off_times_are_listed(client, scene) -> None:
    one = {"check_id": scene["check"]["id"], "at": "2026-01-01T12:00:00Z", "ok": True, "latency_ms": 3.5}
    r = client.post(f"{API}/agent/results", json={"results": [one, {**one, "check_id": "0" * 32}]},
                    headers=scene["key"])
    assert r.status_code == 403 and r.json()["error"]["details"]["check_ids"] == [
        "00000000-0000-0000-0000-000000000000"]
    late = client.post(f"{API}/agent/results", json={"results": [one, {**one, "at": "2025-12-01T12:00:00Z"}]},
                       headers=scene["key"])
    assert late.status_code == 200
    assert late.json()["accepted"] == 1 and [x["index"] for x in late.json()["rejected"]] == [1]
    too_many = client.post(f"{API}/agent/results", json={"results": [one] * 501}, headers=scene["key"])
    assert too_many.status_code == 422
    gone = client.delete(f"{API}/agents/{scene['agent']['id']}", headers=scene["admin"].headers)
    assert gone.status_code == 200
    assert client.post(f"{API}/agent/results", json={"results": [one]}, headers=scene["key"]).status_code == 401
