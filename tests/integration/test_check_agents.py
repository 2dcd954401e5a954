"""Checks from many places: three `tocsin agent` loops on loopback report to a real uvicorn server.

The target is a local web site that answers 500 to the locations the test chooses (it reads the
location from the agent's User-Agent). The agents are driven round by round (`Agent.step` with a
monotonic time the test moves by the check's interval, and the app's ManualClock as both clocks),
so the test waits for no interval: every probe, fetch and report is a real HTTP exchange.

One location failing of three: no alert. Two of three: one alert. Recovery: it resolves. Each
location's uptime and latency are served per location. An agent that stops is offline after three
silent intervals, and its location no longer counts as failing. A report retried after a lost answer counts
once; results buffered while the server is unreachable arrive later; a report for a check not
assigned to the agent is refused (403) with nothing stored.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness.console import served
from tests.harness.ports import closed_port
from tests.harness.webhook import LocalServer
from tocsin.agent.runner import Agent
from tocsin.agent.server import Refused, Server

API = "/api/v1"
LOCATIONS = ("eu-west", "us-east", "ap-south")
INTERVAL = 10


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        site: Site = self.server  # type: ignore[assignment]
        agent = self.headers.get("User-Agent", "")
        with site.lock:
            failing = any(f"({loc})" in agent for loc in site.failing)
        body = b"broken" if failing else b"fine"
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Site(LocalServer):
    def __init__(self) -> None:
        super().__init__(Handler)
        self.lock = threading.Lock()
        self.failing: set[str] = set()

    def fail(self, *locations: str) -> None:
        with self.lock:
            self.failing = set(locations)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def world(app, clock, make_person, make_service, site) -> Iterator[dict[str, Any]]:
    make_service("shop")
    admin = make_person("admin")
    with served(app) as base, httpx.Client(base_url=base, headers=admin.headers, timeout=10, trust_env=False) as api:
        keys = {}
        for loc in LOCATIONS:
            r = api.post(f"{API}/agents", json={"name": loc})
            assert r.status_code == 201, r.text
            keys[loc] = r.json()["key"]
        r = api.post(f"{API}/checks", json={
            "service": "shop", "name": "shop home", "kind": "http", "target": f"http://127.0.0.1:{site.port}/",
            "interval_seconds": INTERVAL, "timeout_seconds": 2, "failures_to_alert": 1, "successes_to_resolve": 1,
            "locations": list(LOCATIONS)})
        assert r.status_code == 201, r.text
        agents = {loc: Agent(Server(base, keys[loc]), interval=30, allow_private=True, clock=clock)
                  for loc in LOCATIONS}
        try:
            yield {"api": api, "base": base, "check": r.json(), "agents": agents, "keys": keys}
        finally:
            for a in agents.values():
                a.server.close()


class Rounds:
    """Move every agent one check interval on: each fetches (when due), probes and reports."""

    def __init__(self, world: dict[str, Any], clock: Any) -> None:
        self.world, self.clock, self.t = world, clock, 1000.0

    def __call__(self, *only: str) -> None:
        self.clock.advance(seconds=INTERVAL)
        self.t += INTERVAL
        for name, agent in self.world["agents"].items():
            if only and name not in only:
                continue  # this agent is stopped
            agent.step(self.t)
            assert not agent.buffer, "every result was reported"


def alerts(api: httpx.Client) -> list[dict[str, Any]]:
    r = api.get(f"{API}/alerts", params={"service": "shop", "limit": 100})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def locations(api: httpx.Client, check_id: str) -> dict[str, dict[str, Any]]:
    r = api.get(f"{API}/checks/{check_id}/locations")
    assert r.status_code == 200, r.text
    return {item["location"]: item for item in r.json()["items"]}


def test_a_quorum_of_locations_opens_one_alert_and_recovery_resolves_it(world, site, clock) -> None:
    api, check_id = world["api"], world["check"]["id"]
    step = Rounds(world, clock)
    step()
    seen = locations(api, check_id)
    assert {loc: v["state"] for loc, v in seen.items()} == dict.fromkeys(LOCATIONS, "up")
    assert all(v["last_latency_ms"] is not None and v["last_status_code"] == 200 for v in seen.values())

    site.fail("ap-south")  # one of three: that location is down, the check is not
    step()
    seen = locations(api, check_id)
    assert seen["ap-south"]["state"] == "down" and seen["ap-south"]["last_error"].startswith("status 500")
    assert seen["eu-west"]["state"] == "up"
    assert api.get(f"{API}/checks/{check_id}").json()["state"] == "up"
    assert alerts(api) == []

    site.fail("ap-south", "eu-west")  # two of three: one alert
    step()
    step()  # still failing: still one alert
    opened = alerts(api)
    assert len(opened) == 1, opened
    assert opened[0]["status"] == "triggered"
    assert "2 of 3 locations" in opened[0]["summary"] and "eu-west" in opened[0]["summary"]
    assert api.get(f"{API}/checks/{check_id}").json()["state"] == "down"

    site.fail("ap-south")  # back to one of three: resolved
    step()
    [alert] = alerts(api)
    assert alert["status"] == "resolved"
    assert api.get(f"{API}/checks/{check_id}").json()["state"] == "up"

    # per-location uptime and latency: ap-south failed 4 of 5 runs, eu-west 2 of 5, us-east none
    r = api.get(f"{API}/checks/{check_id}/locations")
    body = r.json()
    assert body["quorum"] == 2 and body["failing"] == 1 and body["reporting"] == 3
    up = {i["location"]: i["uptime"] for i in body["items"]}
    assert up["ap-south"]["checks"] == 5 and up["ap-south"]["uptime_percent"] == 20.0
    assert up["eu-west"]["uptime_percent"] == 60.0 and up["us-east"]["uptime_percent"] == 100.0
    assert all(u["latency_ms"]["p50"] is not None for u in up.values())

    # ap-south's agent stops (still failing when last heard): after 3 silent intervals it is offline, and
    # offline never counts as failing: eu-west failing too is 1 reporting failure of 2, no alert.
    clock.advance(seconds=90)  # the two others have nothing due meanwhile but this one round
    step("eu-west", "us-east")
    site.fail("eu-west")
    step("eu-west", "us-east")
    seen = locations(api, check_id)
    assert seen["ap-south"]["state"] == "offline" and seen["eu-west"]["state"] == "down"
    assert [a["status"] for a in alerts(api)] == ["resolved"]
    assert api.get(f"{API}/checks/{check_id}").json()["state"] == "up"
    online = {a["name"]: a["online"] for a in api.get(f"{API}/agents").json()}
    assert online == {"ap-south": False, "eu-west": True, "us-east": True}


def test_reports_are_idempotent_buffered_while_away_and_refused_for_foreign_checks(world, site, clock) -> None:
    api, check_id = world["api"], world["check"]["id"]
    agent = world["agents"]["eu-west"]
    agent.refresh(0.0)
    real = agent.server
    away = Server(f"http://127.0.0.1:{closed_port()}", world["keys"]["eu-west"])
    agent.server = away  # the server goes away: results wait in the buffer
    try:
        agent.run_due(0.0)
        clock.advance(seconds=INTERVAL)
        agent.run_due(float(INTERVAL))
        assert agent.flush(float(INTERVAL)) is False
        assert len(agent.buffer) == 2
    finally:
        away.close()
        agent.server = real
    batch = list(agent.buffer)
    assert agent.flush(100.0) is True and not agent.buffer  # it is back: both delivered
    again = real.report(batch)  # the same batch again, as after a lost answer: counted once
    assert again["accepted"] == 0 and again["duplicates"] == 2
    r = api.get(f"{API}/checks/{check_id}/locations")
    assert {i["location"]: i["uptime"]["checks"] for i in r.json()["items"]}["eu-west"] == 2

    other = api.post(f"{API}/checks", json={"service": "shop", "name": "server only", "kind": "http",
                                           "target": "https://example.test/", "enabled": False})
    assert other.status_code == 201, other.text
    with pytest.raises(Refused) as refused:
        real.report([{**batch[0], "check_id": other.json()["id"]}, {**batch[0], "at": clock.now().isoformat()}])
    assert refused.value.status == 403 and refused.value.details["check_ids"] == [other.json()["id"]]
    assert {i["location"]: i["uptime"]["checks"] for i in api.get(
        f"{API}/checks/{check_id}/locations").json()["items"]}["eu-west"] == 2  # nothing of that batch stored

    bad = httpx.get(f"{world['base']}{API}/agent/checks", headers=api.headers, timeout=5)  # a user token is no key
    assert bad.status_code == 401
