"""Synthetic checks, as an operator uses them, against a real HTTP server on 127.0.0.1.

An admin adds an HTTP check to a service (alert after 2 failures, resolve after 2 successes).
The engine runs it every interval (the test moves a ManualClock past the interval between
ticks): the endpoint breaks, one alert opens on the second failure, the endpoint recovers, the
alert resolves on the second success; the results and uptime endpoints tell the story in numbers.
Also: a TCP check on a closed port fails, two engines racing for a due check run it once, and a
check aimed at the cloud metadata address is refused by the egress guard without connecting.

Written on the harness's runbook (tests/harness/scenario.py): Ada (admin) works through the API,
the whole engine ticks; the site is a harness LocalServer whose answer the test switches.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.harness.ports import closed_port
from tests.harness.webhook import LocalServer
from tocsin.checks.models import Check, CheckResult
from tocsin.checks.monitor import checks
from tocsin.db import Database
from tocsin.engine.runner import Engine
from tocsin.services.models import Service

CHECKS = "/checks"


class SiteHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        site: Site = self.server  # type: ignore[assignment]
        with site.lock:
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


class Site(LocalServer):
    """A tiny web site whose answer (status, body, delay) the test switches; it counts the requests it gets."""

    def __init__(self) -> None:
        super().__init__(SiteHandler)
        self.status = 200
        self.body = "OK: all systems go"
        self.delay = 0.0
        self.hits = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def rb(runbook):
    """Ada (admin) and the service web."""
    runbook.person("Ada", role="admin")
    runbook.service("web")
    return runbook


def create(rb, **fields):
    """Ada adds a check (homepage, http, every 60 s, 5 s timeout unless `fields` say otherwise)."""
    body = {"service": "web", "name": "homepage", "kind": "http", "interval_seconds": 60, "timeout_seconds": 5,
            **fields}
    return rb.as_("Ada").post(CHECKS, **body)


def stored_results(rb, check_id):
    return rb.rows(CheckResult, CheckResult.check_id == uuid.UUID(check_id), order_by=CheckResult.at)


def run_once(rb, interval=60):
    """Let one interval pass and tick; return how many checks ran."""
    return rb.tick(seconds=interval)["checks"]


def test_failures_open_one_alert_and_successes_resolve_it(rb, site):
    ada = rb.as_("Ada")
    check = create(rb, target=site.url, keyword="OK", failures_to_alert=2, successes_to_resolve=2)
    path = f"{CHECKS}/{check['id']}"
    assert check["state"] == "unknown" and check["next_run_at"] == check["created_at"]

    # Due at once: the first run passes.
    assert rb.tick()["checks"] == 1
    assert rb.tick()["checks"] == 0  # not due again before the interval has passed
    assert ada.get(path)["state"] == "up"

    # The site breaks. One failure is not enough to alert...
    site.status = 500
    assert run_once(rb) == 1
    assert rb.alerts("web") == []
    # ...the second one opens exactly one alert.
    assert run_once(rb) == 1
    [alert] = rb.alerts("web")
    assert alert.status == "triggered" and alert.severity == "critical" and alert.source == "check"
    assert alert.dedup_key == f"check:1:{check['id']}"
    assert "homepage" in alert.summary and "status 500 not in 200-399" in alert.summary
    assert alert.labels == {"check": "homepage"}
    got = ada.get(path)
    assert got["state"] == "down" and got["consecutive_failures"] == 2

    # The site recovers. One success is not enough to resolve...
    site.status = 200
    assert run_once(rb) == 1
    assert [a.status for a in rb.alerts("web")] == ["triggered"]
    # ...the second one resolves it.
    assert run_once(rb) == 1
    [alert] = rb.alerts("web")
    assert alert.status == "resolved"
    assert ada.get(path)["state"] == "up"

    # Five results, newest first; two failures out of five is 60 % uptime.
    results = ada.get(f"{path}/results")["items"]
    assert [x["ok"] for x in results] == [True, True, False, False, True]
    assert [x["status_code"] for x in results] == [200, 200, 500, 500, 200]
    assert results[2]["error"] == "status 500 not in 200-399"
    assert [x["ok"] for x in ada.get(f"{path}/results", limit=2)["items"]] == [True, True]

    up = ada.get(f"{path}/uptime", hours=24)
    assert (up["checks"], up["failures"], up["uptime_percent"]) == (5, 2, 60.0)
    assert 0 < up["latency_ms"]["p50"] <= up["latency_ms"]["p95"]
    # An hour's window, 58 minutes after the last run, holds only the last two runs: both passed.
    rb.clock.advance(minutes=58)
    up = ada.get(f"{path}/uptime", hours=1)
    assert (up["checks"], up["failures"], up["uptime_percent"]) == (2, 0, 100.0)
    rb.clock.advance(days=2)
    up = ada.get(f"{path}/uptime")
    assert (up["checks"], up["uptime_percent"], up["latency_ms"]["p50"]) == (0, None, None)


def test_a_missing_keyword_fails_the_check(rb, site):
    check = create(rb, target=site.url, keyword="all systems go", failures_to_alert=1)
    site.body = "Maintenance"
    assert rb.tick()["checks"] == 1
    [result] = stored_results(rb, check["id"])
    assert not result.ok and result.status_code == 200 and result.error == "keyword 'all systems go' not found"
    [alert] = rb.alerts("web")
    assert alert.status == "triggered"


def test_a_slow_answer_alerts_as_a_warning(rb, site):
    site.delay = 0.05
    create(rb, target=site.url, latency_threshold_ms=1, failures_to_alert=1)
    assert rb.tick()["checks"] == 1
    [alert] = rb.alerts("web")
    assert alert.severity == "warning" and "latency" in alert.summary


def test_tcp_checks(rb, site):
    closed = create(rb, name="db port", kind="tcp", target=f"127.0.0.1:{closed_port()}", failures_to_alert=1)
    open_ = create(rb, name="web port", kind="tcp", target=f"127.0.0.1:{site.port}")
    assert rb.tick()["checks"] == 2
    [bad] = stored_results(rb, closed["id"])
    assert not bad.ok and bad.error == "connection refused"
    [good] = stored_results(rb, open_["id"])
    assert good.ok and good.latency_ms is not None
    [alert] = rb.alerts("web")
    assert "db port" in alert.summary and "connection refused" in alert.summary


def test_two_engines_never_run_the_same_check_at_once(rb, site):
    site.delay = 0.3  # long enough for the second engine to try while the first is probing
    check = create(rb, target=site.url)
    other_db = Database(rb.db.url)  # the second engine is another process: its own connections
    try:
        engines = [rb.new_engine("checks"),
                   Engine(other_db, rb.clock, settings=rb.settings, modules=[("checks", checks)])]
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
            rb.clock.advance(seconds=61)
    finally:
        other_db.dispose()
    assert site.hits == rounds
    assert len(stored_results(rb, check["id"])) == rounds
    (row,) = rb.rows(Check, Check.id == uuid.UUID(check["id"]))
    assert row.lease_owner is None and row.lease_until is None


def test_a_lease_held_by_a_dead_engine_expires(rb, site):
    check = create(rb, target=site.url, timeout_seconds=5)
    with rb.db.unit_of_work() as s:  # another engine claimed it, then died mid-probe
        row = s.get(Check, uuid.UUID(check["id"]))
        row.lease_owner, row.lease_until = "dead-engine", rb.now + timedelta(seconds=35)
    assert rb.tick()["checks"] == 0
    assert rb.tick(seconds=36)["checks"] == 1
    assert site.hits == 1


def test_the_metadata_address_is_refused_without_connecting(rb, monkeypatch):
    attempts: list[object] = []

    def no_connect(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    refused = rb.as_("Ada").post(CHECKS, 422, service="web", name="metadata", kind="http",
                                 target="http://169.254.169.254/latest/meta-data/", interval_seconds=60,
                                 timeout_seconds=5)
    assert "cloud metadata" in refused["error"]["message"]
    # A check stored before that rule (or straight into the database) is still refused when it runs.
    with rb.db.unit_of_work() as s:
        row = Check(service_id=rb.rows(Service, Service.slug == "web")[0].id, name="metadata", kind="http",
                    target="http://169.254.169.254/latest/meta-data/", method="GET", headers={}, interval_seconds=60,
                    timeout_seconds=5, expected_statuses="200-399", keyword_absent=False, failures_to_alert=1,
                    successes_to_resolve=1, enabled=True, created_at=rb.now, next_run_at=rb.now,
                    consecutive_failures=0, consecutive_successes=0, state="unknown")
        s.add(row)
        s.flush()
        check = {"id": str(row.id)}
    engine = rb.engine  # made (and its modules imported) before the network is taken away
    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_connect)
    assert engine.tick()["checks"] == 1
    monkeypatch.undo()
    assert attempts == []
    [result] = stored_results(rb, check["id"])
    assert not result.ok and result.error.startswith("blocked:") and "169.254.169.254" in result.error
    assert result.status_code is None and result.latency_ms is None
    [alert] = rb.alerts("web")
    assert "blocked" in alert.summary


def test_disabling_or_deleting_a_failing_check_resolves_its_alert(rb, site):
    ada = rb.as_("Ada")
    site.status = 503
    a = create(rb, target=site.url, failures_to_alert=1)
    b = create(rb, name="api", target=site.url, failures_to_alert=1)
    assert rb.tick()["checks"] == 2
    assert [x.status for x in rb.alerts("web")] == ["triggered", "triggered"]

    assert ada.patch(f"{CHECKS}/{a['id']}", enabled=False)["state"] == "unknown"
    ada.delete(f"{CHECKS}/{b['id']}")
    assert [x.status for x in rb.alerts("web")] == ["resolved", "resolved"]
    assert stored_results(rb, b["id"]) == []
    assert run_once(rb) == 0  # disabled: not run

    enabled = ada.patch(f"{CHECKS}/{a['id']}", enabled=True)
    assert datetime.fromisoformat(enabled["next_run_at"]) == rb.now
    assert rb.tick()["checks"] == 1
