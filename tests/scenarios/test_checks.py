"""Synthetic checks, as an operator uses them, against a real HTTP server on 127.0.0.1.

An admin adds an HTTP check to a service (alert after 2 failures, resolve after 2 successes).
The engine runs it every interval (the test moves a ManualClock past the interval between
ticks): the endpoint breaks, one alert opens on the second failure, the endpoint recovers, the
alert resolves on the second success; the results and uptime endpoints tell the story in numbers.
Also: a TCP check on a closed port fails, two engines racing for a due check run it once, and a
check aimed at the cloud metadata address is refused by the egress guard without connecting.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tests.support import service_alerts as alerts
from tocsin.checks.models import Check, CheckResult
from tocsin.db import Database
from tocsin.checks.monitor import checks
from tocsin.engine.runner import Engine

CHECKS = "/api/v1/checks"


class Site:
    """A tiny web server whose answer the test switches; it counts the requests it gets."""

    def __init__(self) -> None:
        self.status = 200
        self.body = "OK: all systems go"
        self.delay = 0.0
        self.hits = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site._lock:
                    site.hits += 1
                    status, body, delay = site.status, site.body.encode(), site.delay
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/health"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def admin(make_person):
    return make_person("admin")


@pytest.fixture
def service_id(make_service):
    return make_service("web")


@pytest.fixture
def engine(db, clock):
    return Engine(db, clock, modules=[("checks", checks)])


def create(client, admin, **fields):
    body = {"service": "web", "name": "homepage", "kind": "http", "interval_seconds": 60, "timeout_seconds": 5,
            **fields}
    r = client.post(CHECKS, json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()


def stored_results(db, check_id):
    with db.unit_of_work() as s:
        return s.execute(sa.select(CheckResult).where(CheckResult.check_id == uuid.UUID(check_id))
                         .order_by(CheckResult.at)).scalars().all()


def run_once(engine, clock, interval=60):
    """Let one interval pass and tick; return how many checks ran."""
    clock.advance(seconds=interval)
    return engine.tick()["checks"]


def test_failures_open_one_alert_and_successes_resolve_it(client, db, clock, admin, service_id, site, engine):
    check = create(client, admin, target=site.url, keyword="OK", failures_to_alert=2, successes_to_resolve=2)
    assert check["state"] == "unknown" and check["next_run_at"] == check["created_at"]

    # Due at once: the first run passes.
    assert engine.tick()["checks"] == 1
    assert engine.tick()["checks"] == 0  # not due again before the interval has passed
    assert client.get(f"{CHECKS}/{check['id']}", headers=admin.headers).json()["state"] == "up"

    # The site breaks. One failure is not enough to alert...
    site.status = 500
    assert run_once(engine, clock) == 1
    assert alerts(db, service_id) == []
    # ...the second one opens exactly one alert.
    assert run_once(engine, clock) == 1
    [alert] = alerts(db, service_id)
    assert alert.status == "triggered" and alert.severity == "critical" and alert.source == "check"
    assert alert.dedup_key == f"check:1:{check['id']}"
    assert "homepage" in alert.summary and "status 500 not in 200-399" in alert.summary
    assert alert.labels == {"check": "homepage"}
    got = client.get(f"{CHECKS}/{check['id']}", headers=admin.headers).json()
    assert got["state"] == "down" and got["consecutive_failures"] == 2

    # The site recovers. One success is not enough to resolve...
    site.status = 200
    assert run_once(engine, clock) == 1
    assert [a.status for a in alerts(db, service_id)] == ["triggered"]
    # ...the second one resolves it.
    assert run_once(engine, clock) == 1
    [alert] = alerts(db, service_id)
    assert alert.status == "resolved"
    assert client.get(f"{CHECKS}/{check['id']}", headers=admin.headers).json()["state"] == "up"

    # Five results, newest first; two failures out of five is 60 % uptime.
    r = client.get(f"{CHECKS}/{check['id']}/results", headers=admin.headers)
    assert r.status_code == 200
    assert [x["ok"] for x in r.json()] == [True, True, False, False, True]
    assert [x["status_code"] for x in r.json()] == [200, 200, 500, 500, 200]
    assert r.json()[2]["error"] == "status 500 not in 200-399"
    r = client.get(f"{CHECKS}/{check['id']}/results", params={"limit": 2}, headers=admin.headers)
    assert [x["ok"] for x in r.json()] == [True, True]

    up = client.get(f"{CHECKS}/{check['id']}/uptime", params={"hours": 24}, headers=admin.headers).json()
    assert (up["checks"], up["failures"], up["uptime_percent"]) == (5, 2, 60.0)
    assert 0 < up["latency_ms"]["p50"] <= up["latency_ms"]["p95"]
    # An hour's window, 58 minutes after the last run, holds only the last two runs: both passed.
    clock.advance(minutes=58)
    up = client.get(f"{CHECKS}/{check['id']}/uptime", params={"hours": 1}, headers=admin.headers).json()
    assert (up["checks"], up["failures"], up["uptime_percent"]) == (2, 0, 100.0)
    clock.advance(days=2)
    up = client.get(f"{CHECKS}/{check['id']}/uptime", headers=admin.headers).json()
    assert (up["checks"], up["uptime_percent"], up["latency_ms"]["p50"]) == (0, None, None)


def test_a_missing_keyword_fails_the_check(client, db, clock, admin, service_id, site, engine):
    check = create(client, admin, target=site.url, keyword="all systems go", failures_to_alert=1)
    site.body = "Maintenance"
    assert engine.tick()["checks"] == 1
    [result] = stored_results(db, check["id"])
    assert not result.ok and result.status_code == 200 and result.error == "keyword 'all systems go' not found"
    [alert] = alerts(db, service_id)
    assert alert.status == "triggered"


def test_a_slow_answer_alerts_as_a_warning(client, db, clock, admin, service_id, site, engine):
    site.delay = 0.05
    create(client, admin, target=site.url, latency_threshold_ms=1, failures_to_alert=1)
    assert engine.tick()["checks"] == 1
    [alert] = alerts(db, service_id)
    assert alert.severity == "warning" and "latency" in alert.summary


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_checks(client, db, clock, admin, service_id, site, engine):
    closed = create(client, admin, name="db port", kind="tcp", target=f"127.0.0.1:{closed_port()}",
                    failures_to_alert=1)
    open_ = create(client, admin, name="web port", kind="tcp", target=f"127.0.0.1:{site.port}")
    assert engine.tick()["checks"] == 2
    [bad] = stored_results(db, closed["id"])
    assert not bad.ok and bad.error == "connection refused"
    [good] = stored_results(db, open_["id"])
    assert good.ok and good.latency_ms is not None
    [alert] = alerts(db, service_id)
    assert "db port" in alert.summary and "connection refused" in alert.summary


def test_two_engines_never_run_the_same_check_at_once(client, db, clock, admin, service_id, site):
    site.delay = 0.3  # long enough for the second engine to try while the first is probing
    check = create(client, admin, target=site.url)
    other_db = Database(db.url)
    try:
        engines = [Engine(db, clock, modules=[("checks", checks)]),
                   Engine(other_db, clock, modules=[("checks", checks)])]
        assert engines[0].owner != engines[1].owner
        rounds = 3
        for n in range(rounds):
            barrier = threading.Barrier(len(engines))
            done: list[int] = []

            def run(e: Engine, barrier: threading.Barrier, done: list[int]) -> None:
                barrier.wait()
                done.append(e.tick()["checks"])

            threads = [threading.Thread(target=run, args=(e, barrier, done)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert sorted(done) == [0, 1], f"round {n}: {done}"
            clock.advance(seconds=61)
    finally:
        other_db.dispose()
    assert site.hits == rounds
    assert len(stored_results(db, check["id"])) == rounds
    with db.unit_of_work() as s:
        row = s.get(Check, uuid.UUID(check["id"]))
        assert row.lease_owner is None and row.lease_until is None


def test_a_lease_held_by_a_dead_engine_expires(client, db, clock, admin, service_id, site, engine):
    check = create(client, admin, target=site.url, timeout_seconds=5)
    with db.unit_of_work() as s:  # another engine claimed it, then died mid-probe
        row = s.get(Check, uuid.UUID(check["id"]))
        row.lease_owner, row.lease_until = "dead-engine", clock.now() + timedelta(seconds=35)
    assert engine.tick()["checks"] == 0
    clock.advance(seconds=36)
    assert engine.tick()["checks"] == 1
    assert site.hits == 1


def test_the_metadata_address_is_refused_without_connecting(client, db, clock, admin, service_id, engine,
                                                             monkeypatch):
    attempts: list[object] = []

    def no_connect(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    check = create(client, admin, name="metadata", target="http://169.254.169.254/latest/meta-data/",
                   failures_to_alert=1)
    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_connect)
    assert engine.tick()["checks"] == 1
    monkeypatch.undo()
    assert attempts == []
    [result] = stored_results(db, check["id"])
    assert not result.ok and result.error.startswith("blocked:") and "169.254.169.254" in result.error
    assert result.status_code is None and result.latency_ms is None
    [alert] = alerts(db, service_id)
    assert "blocked" in alert.summary


def test_disabling_or_deleting_a_failing_check_resolves_its_alert(client, db, clock, admin, service_id, site,
                                                                  engine):
    site.status = 503
    a = create(client, admin, target=site.url, failures_to_alert=1)
    b = create(client, admin, name="api", target=site.url, failures_to_alert=1)
    assert engine.tick()["checks"] == 2
    assert [x.status for x in alerts(db, service_id)] == ["triggered", "triggered"]

    r = client.patch(f"{CHECKS}/{a['id']}", json={"enabled": False}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["state"] == "unknown"
    assert client.delete(f"{CHECKS}/{b['id']}", headers=admin.headers).status_code == 200
    assert [x.status for x in alerts(db, service_id)] == ["resolved", "resolved"]
    assert stored_results(db, b["id"]) == []
    assert run_once(engine, clock) == 0  # disabled: not run

    r = client.patch(f"{CHECKS}/{a['id']}", json={"enabled": True}, headers=admin.headers)
    assert r.status_code == 200 and datetime.fromisoformat(r.json()["next_run_at"]) == clock.now()
    assert engine.tick()["checks"] == 1
