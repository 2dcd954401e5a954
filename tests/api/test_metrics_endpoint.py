"""Prometheus /metrics: who may scrape it, and that what it reports matches what is open.

An operator points Prometheus at /metrics with a viewer's API token (the default), or opens it
(TOCSIN_METRICS_PUBLIC) or turns it off (TOCSIN_METRICS_ENABLED=false). The values are read
back with prometheus_client's own parser after incidents and alerts were created through the
API, the way Prometheus would read them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.ingest import AppliedClient
from tocsin.actions.models import ActionItem
from tocsin.app import create_app
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.escalation.models import Notification

pytestmark = pytest.mark.both_backends  # the metrics are SQL aggregates (tests/conftest.py)


@pytest.fixture
def serve(db, clock):
    """serve(database=db, **settings) -> a TestClient of an app with those settings."""
    made: list[Any] = []

    def make(database: Database | None = None, **settings: Any) -> TestClient:
        app = create_app(settings=Settings(secret_key="test-secret", **settings), db=database or db, clock=clock)
        made.append(app)
        c = AppliedClient(app, raise_server_exceptions=False)
        made.append(c)
        return c

    yield make
    for thing in made:
        if isinstance(thing, TestClient):
            thing.close()
        else:
            thing.state.ingest.close()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample as {(name, labels): value}."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def of(found: dict, name: str) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in found.items() if n == name}


@pytest.mark.parametrize(("settings", "headers", "status"), [
    ({}, None, 401),  # default: a token is needed
    ({}, {"Authorization": "Bearer tcs_not-a-real-token"}, 401),
    ({}, "viewer", 200),  # any org role will do
    ({"metrics_public": True}, None, 200),
    ({"metrics_enabled": False}, "viewer", 404),
    ({"metrics_enabled": False, "metrics_public": True}, None, 404),
])
def test_who_may_scrape(serve, make_person, settings, headers, status):
    viewer = make_person("viewer")
    r = serve(**settings).get("/metrics", headers=viewer.headers if headers == "viewer" else headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.headers["content-type"] == CONTENT_TYPE_LATEST
        found = samples(r.text)
        (info,) = of(found, "tocsin_info")
        assert dict(info)["version"] == "0.1.0" and dict(info)["database"] in ("sqlite", "postgresql")
        assert of(found, "process_cpu_seconds_total") or of(found, "python_info")  # the process collectors
    else:
        assert r.json()["error"]["code"] in ("unauthenticated", "not_found")


def test_metrics_is_not_in_the_api_schema(client):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def fire(client, key: str, dedup_key: str, severity: str = "critical") -> None:
    r = client.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
                                         "payload": {"summary": dedup_key, "source": "m", "severity": severity}})
    assert r.status_code == 202, r.text


def test_open_incidents_alerts_outbox_and_overdue_actions(client, db, clock, make_person, make_service):
    admin, viewer = make_person("admin"), make_person("viewer")
    make_service("checkout"), make_service("search")

    def declare(**body: Any) -> str:
        r = client.post("/api/v1/incidents", json={"title": "t", **body}, headers=admin.headers)
        assert r.status_code == 201, r.text
        return r.json()["ref"]

    declare(severity="SEV1", services=["checkout"])
    declare(severity="SEV1", services=["checkout"], status="triage")
    declare(severity="SEV2", services=["checkout", "search"])  # counted under each service
    declare(severity="SEV4")  # no service
    declare(severity="SEV1", services=["search"], restricted=True)  # need-to-know: not counted
    declare(severity="SEV2", kind="security", services=["checkout"])  # restricted by default
    over = declare(severity="SEV3", services=["search"])
    r = client.patch(f"/api/v1/incidents/{over}", json={"status": "resolved"}, headers=admin.headers)
    assert r.status_code == 200, r.text

    keys = {}
    for svc in ("checkout", "search"):
        r = client.post("/api/v1/integrations", json={"service": svc, "type": "events_v2", "name": "pd"},
                        headers=admin.headers)
        keys[svc] = r.json()["key"]
    fire(client, keys["checkout"], "a"), fire(client, keys["checkout"], "b"), fire(client, keys["search"], "c")
    alerts = {a["dedup_key"]: a for a in client.get("/api/v1/alerts", params={"limit": 50},
                                                   headers=admin.headers).json()["items"]}
    assert client.post(f"/api/v1/alerts/{alerts['b']['id']}/acknowledge", headers=admin.headers).status_code == 200
    assert client.post(f"/api/v1/alerts/{alerts['c']['id']}/resolve", headers=admin.headers).status_code == 200

    now = clock.now()
    with db.unit_of_work() as s:
        for channel, status, send_after in [("email", "queued", now - timedelta(minutes=1)),
                                            ("email", "sending", now), ("sms", "queued", now + timedelta(hours=1)),
                                            ("sms", "failed", now), ("sms", "sent", now)]:
            s.add(Notification(id=uuid.uuid4(), user_id=admin.id, channel=channel, destination="d", kind="page",
                               subject="s", body="b", idempotency_key=str(uuid.uuid4()), status=status,
                               created_at=now, send_after=send_after))
        for n, (status, due) in enumerate([("open", now - timedelta(days=1)), ("in_progress", now - timedelta(hours=1)),
                                           ("done", now - timedelta(days=1)), ("open", now + timedelta(days=1)),
                                           ("open", None)], start=1):
            s.add(ActionItem(id=uuid.uuid4(), number=n, title="t", type="prevent", priority="high", status=status,
                             due_at=due, created_at=now, updated_at=now))

    r = client.get("/metrics", headers=viewer.headers)  # a viewer who may not see the restricted ones
    assert r.status_code == 200, r.text
    found = samples(r.text)
    assert of(found, "tocsin_incidents_open") == {
        frozenset({"severity": "SEV1", "kind": "operational", "service": "checkout"}.items()): 2.0,
        frozenset({"severity": "SEV2", "kind": "operational", "service": "checkout"}.items()): 1.0,
        frozenset({"severity": "SEV2", "kind": "operational", "service": "search"}.items()): 1.0,
        frozenset({"severity": "SEV4", "kind": "operational", "service": "(none)"}.items()): 1.0,
    }, "restricted incidents are left out: they do not exist for whoever may scrape"
    assert of(found, "tocsin_alerts_open") == {
        frozenset({"status": "triggered", "urgency": "high", "service": "checkout"}.items()): 1.0,
        frozenset({"status": "acknowledged", "urgency": "high", "service": "checkout"}.items()): 1.0,
    }
    assert of(found, "tocsin_notifications_queued") == {frozenset({"channel": "email"}.items()): 2.0,
                                                        frozenset({"channel": "sms"}.items()): 1.0}
    assert of(found, "tocsin_notifications_failed_total") == {frozenset({"channel": "sms"}.items()): 1.0}
    assert value(found, "tocsin_notifications_oldest_due_seconds") == 60.0
    assert value(found, "tocsin_action_items_overdue") == 2.0
    assert value(found, "tocsin_alert_events_pending") == 0.0
    assert value(found, "tocsin_ingest_journal_requests") == 0.0  # the client waited until it was applied
    assert value(found, "tocsin_ingest_journal_oldest_seconds") == 0.0


def test_journal_backlog_and_its_age(client, db, clock, make_person, make_service):
    # Two accepted requests not applied yet (journaled 90 s and 30 s ago): the backlog and its age.
    from tocsin.inbound.types import Action, Event
    from tocsin.pipeline.ingest import Incoming
    from tocsin.pipeline.journal import append

    viewer, service_id = make_person("viewer"), make_service("checkout")
    for age in (90, 30):
        with db.unit_of_work() as s:
            append(s, [[Incoming(Event(action=Action.trigger, dedup_key=f"k{age}"), service_id, None, "events_v2")]],
                   now=clock.now() - timedelta(seconds=age))
    found = samples(client.get("/metrics", headers=viewer.headers).text)
    assert value(found, "tocsin_ingest_journal_requests") == 2.0
    assert value(found, "tocsin_ingest_journal_oldest_seconds") == 90.0


def test_database_failure_is_503_not_500(serve, tmp_path):
    broken = Database(f"sqlite:///{tmp_path}/missing/dir/tocsin.db")  # the directory does not exist
    try:
        for settings, headers in [({"metrics_public": True}, None),
                                  ({}, {"Authorization": "Bearer tcs_whatever"})]:
            r = serve(database=broken, **settings).get("/metrics", headers=headers)
            assert (r.status_code, r.text) == (503, "database unavailable\n")
            assert r.headers["content-type"].startswith("text/plain")
    finally:
        broken.dispose()
