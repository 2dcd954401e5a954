"""Attacks on the agent API: a stolen agent key flooding results, a failing agent cut off to resolve
an alert, a non-admin probing which agents exist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

# the run-time windows and the locking are the database's: both backends
pytestmark = pytest.mark.both_backends

API = "/api/v1"
CHECK = {"service": "web", "name": "home", "kind": "http", "target": "https://example.test/", "timeout_seconds": 5,
         "interval_seconds": 60, "failures_to_alert": 1, "successes_to_resolve": 1}


def _agents(client: Any, admin: Any, *names: str) -> dict[str, dict[str, str]]:
    out = {}
    for name in names:
        r = client.post(f"{API}/agents", json={"name": name}, headers=admin.headers)
        assert r.status_code == 201, r.text
        out[name] = {"Authorization": f"Bearer {r.json()['key']}"}
    return out


def _report(client: Any, key: dict[str, str], check_id: str, *results: tuple[Any, bool]) -> dict[str, Any]:
    r = client.post(f"{API}/agent/results", headers=key, json={"results": [
        {"check_id": check_id, "at": at.isoformat(), "ok": ok, "error": None if ok else "timeout"}
        for at, ok in results]})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _open_alerts(db: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM alerts WHERE status != 'resolved'")).scalar_one())


def test_a_flood_of_results_with_distinct_run_times_is_refused_and_cannot_flap_the_alert(
        client, db, clock, make_person, make_service) -> None:
    make_service("web")
    admin = make_person("admin")
    key = _agents(client, admin, "eu-west")["eu-west"]
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["eu-west"]}, headers=admin.headers).json()
    start = clock.now() - timedelta(seconds=200)
    # 150 results one second apart, failing and passing in turn: each would open or resolve the alert
    flood = [(start + timedelta(seconds=i), i % 2 == 1) for i in range(150)]
    answer = _report(client, key, check["id"], *flood)
    assert answer["accepted"] == 5  # one per 30 s (half the 60 s interval, at most 30 s) in 150 s
    assert len(answer["rejected"]) == 145 and "less than 30 s" in answer["rejected"][0]["error"]
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM check_results")).scalar_one() == 5
        assert conn.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one() == 1  # not 75 triggers
    # the same batch again is duplicates and refusals, nothing new
    again = _report(client, key, check["id"], *flood)
    assert again["accepted"] == 0 and again["duplicates"] == 5


def test_cutting_off_a_failing_agent_does_not_resolve_the_alert_it_helped_open(
        client, db, clock, make_person, make_service) -> None:
    make_service("web")
    admin = make_person("admin")
    keys = _agents(client, admin, "a", "b", "c")
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["a", "b", "c"]}, headers=admin.headers).json()
    assert check["quorum"] is None  # a majority: 2 of 3
    _report(client, keys["a"], check["id"], (clock.now(), False))
    _report(client, keys["b"], check["id"], (clock.now(), False))
    _report(client, keys["c"], check["id"], (clock.now(), True))
    assert _open_alerts(db) == 1
    # b's network is cut off: a keeps failing, c keeps passing, b is silent long enough to be offline
    for _ in range(6):
        clock.advance(minutes=1)
        _report(client, keys["a"], check["id"], (clock.now(), False))
        _report(client, keys["c"], check["id"], (clock.now(), True))
    places = client.get(f"{API}/checks/{check['id']}/locations", headers=admin.headers).json()
    assert {p["location"]: p["state"] for p in places["items"]} == {"a": "down", "b": "offline", "c": "up"}
    assert _open_alerts(db) == 1
    assert client.get(f"{API}/checks/{check['id']}", headers=admin.headers).json()["state"] == "down"
    # b is back and passes: now fewer than 2 fail, the alert resolves
    _report(client, keys["b"], check["id"], (clock.now(), True))
    assert _open_alerts(db) == 0


def test_a_non_admin_cannot_tell_which_agents_exist(client, make_person) -> None:
    admin, viewer = make_person("admin"), make_person("viewer")
    r = client.post(f"{API}/agents", json={"name": "eu-west"}, headers=admin.headers)
    real = r.json()["id"]
    for agent_id in (real, str(uuid.uuid4())):
        assert client.delete(f"{API}/agents/{agent_id}", headers=viewer.headers).status_code == 403


def test_results_buffered_before_a_pause_move_nothing_after_it(client, clock, make_person, make_service) -> None:
    make_service("web")
    admin = make_person("admin")
    key = _agents(client, admin, "eu-west")["eu-west"]
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["eu-west"], "failures_to_alert": 2},
                        headers=admin.headers).json()
    ran = clock.now()
    assert client.patch(f"{API}/checks/{check['id']}", json={"enabled": False}, headers=admin.headers).status_code == 200
    assert _report(client, key, check["id"], (ran, False))["accepted"] == 1  # kept for uptime
    assert client.patch(f"{API}/checks/{check['id']}", json={"enabled": True}, headers=admin.headers).status_code == 200
    # one failure after the pause is one, not the second of a streak the pause had forgotten
    clock.advance(minutes=1)
    _report(client, key, check["id"], (clock.now(), False))
    assert client.get(f"{API}/checks/{check['id']}", headers=admin.headers).json()["state"] != "down"
    places = client.get(f"{API}/checks/{check['id']}/locations", headers=admin.headers).json()["items"]
    assert places[0]["state"] == "unknown" and places[0]["uptime"]["checks"] == 2


def test_an_agent_key_opens_no_user_route(client, make_person, make_service) -> None:
    make_service("web")
    admin = make_person("admin")
    key = _agents(client, admin, "eu-west")["eu-west"]
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["eu-west"]}, headers=admin.headers).json()
    for path in ("/checks", f"/checks/{check['id']}", f"/checks/{check['id']}/locations", "/agents", "/incidents"):
        assert client.get(f"{API}{path}", headers=key).status_code == 401, path
    assert client.post(f"{API}/agents", json={"name": "rogue"}, headers=key).status_code == 401


def test_an_agent_splits_a_batch_the_server_finds_too_large_and_loses_nothing(
        client, db, clock, make_person, make_service) -> None:
    from tocsin.agent.runner import Agent
    from tocsin.agent.server import Server

    make_service("web")
    admin = make_person("admin")
    r = client.post(f"{API}/agents", json={"name": "eu-west"}, headers=admin.headers)
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["eu-west"]}, headers=admin.headers).json()
    import httpx

    class ToApp(httpx.BaseTransport):  # the agent's requests, handed to this app (its body limit: 64 KiB in tests)
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            got = client.request(request.method, str(request.url), content=request.read(),
                                 headers=dict(request.headers))
            return httpx.Response(got.status_code, content=got.content, headers=dict(got.headers))

    server = Server("http://127.0.0.1", r.json()["key"], transport=ToApp())
    agent = Agent(server)
    start = clock.now() - timedelta(hours=5)
    agent.buffer.extend({"check_id": check["id"], "at": (start + timedelta(minutes=i)).isoformat(), "ok": False,
                         "latency_ms": None, "status_code": None, "error": "connect timeout " + "x" * 600,
                         "tls_expires_at": None} for i in range(120))  # about 80 KB: one batch is too large
    assert agent.flush(0.0) is True and not agent.buffer and agent.batch < 120
    server.close()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM check_results")).scalar_one() == 120
