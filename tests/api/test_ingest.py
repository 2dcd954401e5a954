"""Sending alerts to tocsin, as each monitoring tool does: PagerDuty Events API v2 (and change
events), Alertmanager and Grafana webhooks, generic JSON with a mapping, heartbeats.

Every check goes through HTTP: what the sender gets back, and what a responder then sees at
/api/v1/alerts. A refused request must leave the whole database as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests.harness.ingest import AppliedClient
from tocsin.config import Settings
from tocsin.inbound.types import MAX_EVENT_BYTES
from tocsin.integrations.models import Integration

pytestmark = pytest.mark.both_backends  # what the ingest writer stores, and how (tests/conftest.py)

STORED_TABLES = ("alerts", "alert_events", "alert_decisions", "alert_groups", "page_requests", "change_events",
                 "ingest_journal")


# --- helpers -----------------------------------------------------------------------------------

@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")


@pytest.fixture
def bob(make_person):
    return make_person("responder", name="Bob")


def create_integration(client, admin, kind: str, service: str = "checkout", **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"service": service, "type": kind, "name": f"{kind} sender"}
    if config:
        body["config"] = config
    r = client.post("/api/v1/integrations", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def pd_key(client, admin, make_service) -> str:
    """The routing key of an events_v2 integration of service `checkout`."""
    make_service("checkout")
    return create_integration(client, admin, "events_v2")["key"]


@pytest.fixture
def am_key(client, admin, make_service) -> str:
    make_service("checkout")
    return create_integration(client, admin, "alertmanager")["key"]


def trigger(key: str, dedup_key: str | None = "disk/db1", summary: str = "Disk full on db1", **extra: Any) -> dict:
    event: dict[str, Any] = {"routing_key": key, "event_action": "trigger",
                             "payload": {"summary": summary, "source": "db1", "severity": "critical"}, **extra}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def enqueue(client, event: Any) -> Any:
    return client.post("/v2/enqueue", json=event)


def list_alerts(client, who, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/alerts", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def by_key(client, who) -> dict[str, dict[str, Any]]:
    return {a["dedup_key"]: a for a in list_alerts(client, who, limit=500)}


def stored(db) -> dict[str, int]:
    """Row counts of every table an inbound request can write to."""
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in STORED_TABLES}


def outcomes(db, answer: Any) -> list[str | None]:
    """What the pipeline did with each event of a webhook answer, in order (by the event ids it lists;
    the answer itself only says `accepted`: it comes before the events are applied)."""
    from tocsin.alerts.models import AlertEvent

    results = answer.json()["results"]
    assert {x["outcome"] for x in results} <= {"accepted"}
    ids = [uuid.UUID(x["event_id"]) for x in results]
    with db.unit_of_work() as s:
        found = dict(s.execute(sa.select(AlertEvent.id, AlertEvent.outcome).where(AlertEvent.id.in_(ids))).all())
    return [found.get(i) for i in ids]


def am_alert(fingerprint: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    labels = {"alertname": "HighErrorRate", "service": "api", **labels}
    return {"status": status, "labels": labels,
            "annotations": {"summary": f"{labels['alertname']} on {fingerprint}"},
            "startsAt": "2024-05-01T12:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2024-05-01T12:30:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": fingerprint}


def am_group(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    status = "resolved" if alerts and all(a["status"] == "resolved" for a in alerts) else "firing"
    return {"receiver": "incident-platform", "status": status, "alerts": list(alerts),
            "notification_reason": "first notification", "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate"}, "commonAnnotations": {}, "routeLabels": {},
            "externalURL": "http://alertmanager:9093", "version": "4",
            "groupKey": '{}:{alertname="HighErrorRate"}', "truncatedAlerts": 0, **extra}


def grafana_body(fingerprint: str = "c6eadffa33fcdf37") -> dict[str, Any]:
    return {
        "receiver": "My Super Webhook", "status": "firing", "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {"summary": "This alert was triggered for zone us-1"},
            "startsAt": "2021-10-12T09:51:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit", "fingerprint": fingerprint,
            "silenceURL": "https://play.grafana.org/alerting/silence/new", "dashboardURL": "https://grafana/d/1",
            "panelURL": "", "values": {"B": 44.23943737541908, "C": 1},
        }],
        "groupLabels": {}, "commonLabels": {"team": "blue"}, "commonAnnotations": {},
        "externalURL": "https://play.grafana.org/", "version": "1", "groupKey": "{}:{}", "truncatedAlerts": 0,
        "title": "[FIRING:1]  (blue)", "state": "alerting", "message": "**Firing**",
    }


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def grafana_headers(secret: str, body: bytes, now: datetime, header: str = "X-Grafana-Alerting-Signature"
                    ) -> dict[str, str]:
    """What Grafana sends with `hmacConfig.timestampHeader: X-Grafana-Alerting-Timestamp`."""
    stamp = str(int(now.timestamp()))
    return {"Content-Type": "application/json", "X-Grafana-Alerting-Timestamp": stamp,
            header: sign(secret, f"{stamp}:".encode() + body)}


# --- PagerDuty Events API v2 -------------------------------------------------------------------

def test_trigger_answers_exactly_what_pagerduty_clients_expect(client, pd_key, admin):
    r = enqueue(client, trigger(pd_key, dedup_key="srv01/HTTP"))
    assert r.status_code == 202
    assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}
    (alert,) = list_alerts(client, admin)
    assert (alert["dedup_key"], alert["status"], alert["summary"], alert["severity"], alert["service"]) == \
        ("srv01/HTTP", "triggered", "Disk full on db1", "critical", "checkout")


def test_202_means_journaled_and_the_engine_applies_what_a_server_left(db, clock, make_person, make_service):
    # A server that only journals (TOCSIN_INGEST_APPLY=false, as API processes beside `tocsin engine`):
    # the sender gets its 202 and dedup key at once, the alert exists only once an engine applied it.
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.engine.modules import pending_events
    from tocsin.jobs import JobContext

    app = create_app(settings=Settings(secret_key="test-secret", ingest_apply=False), db=db, clock=clock)
    admin = make_person("admin")
    make_service("checkout")
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            key = create_integration(c, admin, "events_v2")["key"]
            r = enqueue(c, trigger(key, dedup_key=None))
            assert r.status_code == 202 and r.json()["message"] == "Event processed"
            dedup_key = r.json()["dedup_key"]
            assert dedup_key, "the key is given at accept time"
            assert list_alerts(c, admin) == []
            assert stored(db)["ingest_journal"] == 1 and stored(db)["alert_events"] == 0
            assert pending_events(JobContext(db, clock, "test", clock.now(), Settings(secret_key="test-secret"))) == 1
            (alert,) = list_alerts(c, admin)
            assert alert["dedup_key"] == dedup_key and stored(db)["ingest_journal"] == 0
    finally:
        app.state.ingest.close()


def test_trigger_without_dedup_key_gets_a_fresh_key_each_time(client, pd_key, admin):
    keys = []
    for _ in range(2):
        r = enqueue(client, trigger(pd_key, dedup_key=None))
        assert r.status_code == 202
        body = r.json()
        assert set(body) == {"status", "message", "dedup_key"} and body["status"] == "success"
        keys.append(body["dedup_key"])
    assert keys[0] != keys[1] and all(keys)
    assert {a["dedup_key"] for a in list_alerts(client, admin)} == set(keys), "each trigger is its own alert"


def test_sender_acknowledges_then_resolves_by_dedup_key(client, pd_key, admin):
    # Runbook: the monitor fires → a responder sees it triggered → the monitor acks → then resolves.
    assert enqueue(client, trigger(pd_key)).status_code == 202
    assert list_alerts(client, admin)[0]["status"] == "triggered"
    for action, status in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
        r = enqueue(client, {"routing_key": pd_key, "dedup_key": "disk/db1", "event_action": action})
        assert r.status_code == 202
        assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "disk/db1"}
        (alert,) = list_alerts(client, admin)
        assert alert["status"] == status
    # After the resolve, the same key opens a new alert (linked to the old one).
    enqueue(client, trigger(pd_key))
    new, old = list_alerts(client, admin)
    assert (new["status"], old["status"]) == ("triggered", "resolved")
    assert new["previous_alert_id"] == old["id"]


def test_resolve_of_an_unknown_key_is_accepted_and_changes_nothing(client, pd_key, admin):
    enqueue(client, trigger(pd_key))
    before = list_alerts(client, admin)
    r = enqueue(client, {"routing_key": pd_key, "dedup_key": "never-sent", "event_action": "resolve"})
    assert r.status_code == 202 and r.json()["dedup_key"] == "never-sent"
    assert list_alerts(client, admin) == before


@pytest.mark.parametrize("case", [
    "docs example", "summary of 1024", "dedup_key of 255", "timestamp without colon", "nested custom_details",
    "alertmanager resolve with its payload", "acknowledge with an odd payload",
])
def test_events_pagerduty_documents_are_accepted(client, pd_key, admin, case):
    docs = {"payload": {"summary": "Example alert on host1.example.com", "timestamp": "2015-07-17T08:42:58.315+0000",
                        "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
                        "severity": "info", "component": "postgres", "group": "prod-datapipe", "class": "deploy",
                        "custom_details": {"ping time": "1500ms", "load avg": 0.75}},
            "routing_key": pd_key, "dedup_key": "docs-example",
            "images": [{"src": "https://www.pagerduty.com/logo.png", "href": "https://example.com/", "alt": "Logo"}],
            "links": [{"href": "https://example.com/", "text": "Link text"}],
            "event_action": "trigger", "client": "Sample Monitoring Service",
            "client_url": "https://monitoring.example.com"}
    enqueue(client, trigger(pd_key, dedup_key="samplekeyhere"))  # for the acknowledge and resolve cases
    event = {
        "docs example": docs,
        "summary of 1024": trigger(pd_key, dedup_key="samplekeyhere", summary="s" * 1024),
        "dedup_key of 255": trigger(pd_key, dedup_key="k" * 255),
        "timestamp without colon": trigger(pd_key, dedup_key="samplekeyhere")
        | {"payload": {**docs["payload"], "timestamp": "2015-07-17T08:42:58.315+0000"}},
        "nested custom_details": trigger(pd_key, dedup_key="samplekeyhere")
        | {"payload": {**docs["payload"], "custom_details": {"firing": [{"labels": {"a": "b"}}], "num_firing": 1}}},
        # Alertmanager's pagerduty_configs always sends a payload, with a severity nobody validated.
        "alertmanager resolve with its payload": {"routing_key": pd_key, "dedup_key": "samplekeyhere",
                                                  "event_action": "resolve", "client": "Alertmanager",
                                                  "payload": {"summary": "[RESOLVED] x", "source": "Alertmanager",
                                                              "severity": "{{ .CommonLabels.severity }}"}},
        "acknowledge with an odd payload": {"routing_key": pd_key, "dedup_key": "samplekeyhere",
                                            "event_action": "acknowledge", "payload": {"severity": "P1"}},
    }[case]
    r = enqueue(client, event)
    assert r.status_code == 202, r.text
    assert r.json()["dedup_key"] == event["dedup_key"]
    alert = by_key(client, admin)[event["dedup_key"]]
    expected = {"alertmanager resolve with its payload": "resolved",
                "acknowledge with an odd payload": "acknowledged"}.get(case, "triggered")
    assert alert["status"] == expected
    if case == "docs example":
        assert alert["labels"] == {"component": "postgres", "group": "prod-datapipe", "class": "deploy"}
        assert alert["details"] == {"ping time": "1500ms", "load avg": 0.75}
        assert {"href": "https://monitoring.example.com", "text": "Sample Monitoring Service"} in alert["links"]


def _bad_events(key: str) -> dict[str, Any]:
    good = trigger(key)
    no_payload = {k: v for k, v in good.items() if k != "payload"}
    return {
        "missing routing_key": {k: v for k, v in good.items() if k != "routing_key"},
        "empty routing_key": {**good, "routing_key": ""},
        "unknown event_action": {**good, "event_action": "escalate"},
        "missing event_action": {k: v for k, v in good.items() if k != "event_action"},
        "trigger without payload": no_payload,
        "payload not an object": {**good, "payload": "disk full"},
        "bad severity": {**good, "payload": {**good["payload"], "severity": "high"}},
        "missing source": {**good, "payload": {"summary": "x", "severity": "info"}},
        "summary over 1024": {**good, "payload": {**good["payload"], "summary": "x" * 1025}},
        "empty summary": {**good, "payload": {**good["payload"], "summary": ""}},
        "dedup_key over 255": {**good, "dedup_key": "k" * 256},
        "dedup_key not a string": {**good, "dedup_key": 42},
        "acknowledge without dedup_key": {"routing_key": key, "event_action": "acknowledge"},
        "links not a list": {**good, "links": {"href": "https://x"}},
        "image without src": {**good, "images": [{"alt": "graph"}]},
    }


BAD_EVENT_NAMES = list(_bad_events("k"))


@pytest.mark.parametrize("case", BAD_EVENT_NAMES)
def test_invalid_event_is_400_in_pagerduty_shape_and_stores_nothing(client, db, pd_key, case):
    enqueue(client, trigger(pd_key, dedup_key="existing"))  # so "nothing changed" is not trivially true
    before = stored(db)
    r = enqueue(client, _bad_events(pd_key)[case])
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"status", "message", "errors"} and body["status"] == "invalid event"
    assert isinstance(body["errors"], list) and body["errors"] and all(isinstance(e, str) for e in body["errors"])
    assert stored(db) == before


@pytest.mark.parametrize("raw, problem", [
    (b"[1, 2]", "event must be a JSON object"),
    (b'"trigger"', "event must be a JSON object"),
    (b"null", "event must be a JSON object"),
    (b'{"routing_key": ', "JSON parse error"),
    (b"", "JSON parse error"),
    (b"\xff\xfe{}", "JSON parse error"),
])
def test_body_that_is_not_a_json_object_is_400_and_stores_nothing(client, db, pd_key, raw, problem):
    before = stored(db)
    r = client.post("/v2/enqueue", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["status"] == "invalid event" and any(problem in e for e in r.json()["errors"])
    assert stored(db) == before


def test_every_problem_is_listed_at_once(client, pd_key):
    event = {"routing_key": pd_key, "event_action": "trigger", "dedup_key": "k" * 300,
             "payload": {"summary": "", "source": "db1", "severity": "loud"}}
    errors = enqueue(client, event).json()["errors"]
    assert len(errors) == 3 and any("dedup_key" in e for e in errors) and any("summary" in e for e in errors) \
        and any("severity" in e for e in errors)


@pytest.mark.parametrize("kind", ["unknown", "alertmanager", "grafana", "generic"])
def test_routing_key_must_belong_to_an_events_v2_integration(client, db, admin, make_service, kind):
    make_service("checkout")
    key = "0" * 32 if kind == "unknown" else create_integration(client, admin, kind, **(
        {"mapping": {"engine": "jmespath", "summary": "title"}} if kind == "generic" else {}))["key"]
    before = stored(db)
    for path in ("/v2/enqueue", "/v2/change/enqueue"):
        body = trigger(key) if path == "/v2/enqueue" else {"routing_key": key, "payload": {"summary": "deploy"}}
        r = client.post(path, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["status"] == "invalid event" and "routing key" in r.json()["errors"][0].lower()
    assert stored(db) == before


def oversized_event(key: str) -> dict[str, Any]:
    event = trigger(key)
    event["payload"]["custom_details"] = {"log": "x" * MAX_EVENT_BYTES}
    return event


def test_event_over_512000_bytes_is_413_and_stores_nothing(client, db, pd_key):
    # The test app's general body limit is 64 KiB, but /v2/ takes PagerDuty's 512,000-byte events,
    # so the PagerDuty parser answers, in PagerDuty's shape.
    before = stored(db)
    r = enqueue(client, oversized_event(pd_key))
    assert r.status_code == 413
    assert r.json()["status"] == "invalid event"
    assert stored(db) == before


def test_event_over_512000_bytes_is_413_in_pagerduty_shape_with_the_default_body_limit(db, clock, make_person,
                                                                                      make_service):
    # With the default 1 MiB body limit the event reaches the PagerDuty parser, which answers in PD's shape.

    from tocsin.app import create_app

    settings = Settings(secret_key="test-secret")
    assert settings.max_body_bytes > MAX_EVENT_BYTES + 1000
    app = create_app(settings=settings, db=db, clock=clock)
    admin = make_person("admin")
    make_service("checkout")
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            key = create_integration(c, admin, "events_v2")["key"]
            before = stored(db)
            r = enqueue(c, oversized_event(key))
            assert r.status_code == 413, r.text
            assert r.json()["status"] == "invalid event" and "512000" in r.json()["errors"][0]
            assert stored(db) == before
            just_under = trigger(key)
            just_under["payload"]["custom_details"] = {"log": "x" * (MAX_EVENT_BYTES - 1000)}
            assert enqueue(c, just_under).status_code == 202, "an event just under the limit is accepted"
    finally:
        app.state.ingest.close()


def test_change_event_shows_on_the_service_and_on_a_later_incident(client, clock, pd_key, admin):
    # Runbook: CI records deploys → 30 min later checkout breaks → the IC opens the incident's changes.
    old = {"routing_key": pd_key, "payload": {"summary": "Deploy 41 (two days ago)", "source": "ci",
                                              "timestamp": (clock.now() - timedelta(days=2)).isoformat()}}
    r = client.post("/v2/change/enqueue", json=old)
    assert r.status_code == 202 and r.json()["status"] == "success"
    deploy = {"routing_key": pd_key,
              "payload": {"summary": "Deploy 42: raise pool size", "source": "acme-build-pipeline",
                          "timestamp": "2026-01-01T11:30:00.000+0000",
                          "custom_details": {"build_state": "passed", "build_number": "42"}},
              "links": [{"href": "https://ci.example/build/42", "text": "Build 42"}]}
    assert client.post("/v2/change/enqueue", json=deploy).status_code == 202

    changes = client.get("/api/v1/services/checkout/changes", headers=admin.headers).json()["items"]
    assert [c["summary"] for c in changes] == ["Deploy 42: raise pool size", "Deploy 41 (two days ago)"]
    assert changes[0]["source"] == "acme-build-pipeline"
    assert changes[0]["occurred_at"].startswith("2026-01-01T11:30:00")
    assert changes[0]["details"] == {"build_state": "passed", "build_number": "42"}
    assert changes[0]["links"] == [{"href": "https://ci.example/build/42", "text": "Build 42"}]
    assert list_alerts(client, admin) == [], "a change event never raises an alert"

    clock.advance(minutes=30)
    r = client.post("/api/v1/incidents", json={"title": "Checkout errors", "severity": "SEV2",
                                               "services": ["checkout"]}, headers=admin.headers)
    assert r.status_code == 201, r.text
    inc = r.json()["ref"]
    shown = client.get(f"/api/v1/incidents/{inc}/changes", headers=admin.headers).json()["items"]
    assert [c["summary"] for c in shown] == ["Deploy 42: raise pool size"], "only the 24 h before detection"


@pytest.mark.parametrize("body, problem", [
    ({"payload": {"summary": "deploy"}}, "routing_key"),
    ({"payload": {"summary": ""}}, "summary"),
    ({"payload": {"summary": "x" * 1025}}, "summary"),
    ({}, "payload"),
    ({"payload": {"summary": "deploy", "timestamp": "soon"}}, "timestamp"),
    ({"payload": {"summary": "deploy"}, "links": [{"text": "no href"}]}, "links[0]"),
])
def test_invalid_change_event_is_400_and_stores_nothing(client, db, pd_key, body, problem):
    body = {"routing_key": pd_key, **body} if problem != "routing_key" else body
    before = stored(db)
    r = client.post("/v2/change/enqueue", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["status"] == "invalid event" and any(problem in e for e in r.json()["errors"])
    assert stored(db) == before


# --- Alertmanager webhook (version 4) ----------------------------------------------------------

def post_am(client, key: str, body: Any) -> Any:
    return client.post(f"/integrations/alertmanager/{key}", json=body)


def test_alertmanager_group_runbook(client, db, am_key, admin):
    # Two alerts fire in one group → two alerts; Alertmanager re-sends the group at repeat_interval
    # → still two, each seen twice; one resolves → only that one is resolved.
    group = am_group(am_alert("aaaaaaaaaaaaaaa1", instance="db1"), am_alert("aaaaaaaaaaaaaaa2", instance="db2"))
    r = post_am(client, am_key, group)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "accepted" and r.json()["events"] == 2
    assert outcomes(db, r) == ["created", "created"]
    alerts = by_key(client, admin)
    assert set(alerts) == {"am:1:aaaaaaaaaaaaaaa1", "am:1:aaaaaaaaaaaaaaa2"}
    assert alerts["am:1:aaaaaaaaaaaaaaa1"]["labels"]["instance"] == "db1"

    r = post_am(client, am_key, {**group, "notification_reason": "repeat interval elapsed"})
    assert r.status_code == 202 and outcomes(db, r) == ["deduplicated"] * 2
    alerts = by_key(client, admin)
    assert len(alerts) == 2 and {a["occurrences"] for a in alerts.values()} == {2}

    mixed = am_group(am_alert("aaaaaaaaaaaaaaa1", "resolved", instance="db1"),
                     am_alert("aaaaaaaaaaaaaaa2", instance="db2"), notification_reason="some alerts resolved")
    r = post_am(client, am_key, mixed)
    assert r.status_code == 202 and outcomes(db, r) == ["resolved", "deduplicated"]
    alerts = by_key(client, admin)
    assert alerts["am:1:aaaaaaaaaaaaaaa1"]["status"] == "resolved"
    assert alerts["am:1:aaaaaaaaaaaaaaa2"]["status"] == "triggered"


@pytest.mark.parametrize("size", [1, 3, 25])
def test_every_alert_of_a_group_counts(client, am_key, admin, size):
    group = am_group(*[am_alert(f"{i:016x}", instance=f"db{i}") for i in range(size)])
    r = post_am(client, am_key, group)
    assert r.status_code == 202 and r.json()["events"] == size
    assert len(list_alerts(client, admin, limit=100)) == size


def test_truncated_alerts_are_tolerated(client, am_key, admin):
    r = post_am(client, am_key, am_group(am_alert("bbbbbbbbbbbbbbb1"), truncatedAlerts=12))
    assert r.status_code == 202 and r.json()["events"] == 1
    assert list(by_key(client, admin)) == ["am:1:bbbbbbbbbbbbbbb1"]


def test_alert_without_fingerprint_gets_alertmanagers_own(client, am_key, admin):
    with_fp = am_alert("ignored", instance="db1")
    without = {k: v for k, v in with_fp.items() if k != "fingerprint"}
    post_am(client, am_key, am_group(without))
    post_am(client, am_key, am_group(without))
    (alert,) = list_alerts(client, admin)
    assert alert["dedup_key"].startswith("am:1:") and len(alert["dedup_key"]) == len("am:1:") + 16
    assert alert["occurrences"] == 2


def test_empty_alerts_list_is_202_with_no_events(client, db, am_key):
    before = stored(db)
    r = post_am(client, am_key, am_group())
    assert r.status_code == 202 and r.json()["events"] == 0 and r.json()["results"] == []
    assert stored(db) == before


@pytest.mark.parametrize("path", ["/integrations/alertmanager/", "/integrations/grafana/",
                                  "/integrations/generic/"])
def test_unknown_webhook_key_is_404_in_tocsin_error_shape(client, db, am_key, path):
    before = stored(db)
    r = client.post(path + "f" * 32, json=am_group(am_alert("ccccccccccccccc1")))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found" and set(r.json()["error"]) == {"code", "message", "details"}
    assert stored(db) == before


def test_alertmanager_key_does_not_work_on_another_webhook(client, am_key):
    r = client.post(f"/integrations/grafana/{am_key}", json=grafana_body())
    assert r.status_code == 404


BAD_GROUPS = {
    "body is a list": [am_alert("ddddddddddddddd1")],
    "alerts missing": {k: v for k, v in am_group().items() if k != "alerts"},
    "alerts not a list": am_group() | {"alerts": {"0": am_alert("ddddddddddddddd1")}},
    "alert not an object": am_group() | {"alerts": ["firing"]},
    "unknown status": am_group(am_alert("ddddddddddddddd1") | {"status": "pending"}),
    "labels missing": am_group({k: v for k, v in am_alert("ddddddddddddddd1").items() if k != "labels"}),
    "nested label value": am_group(am_alert("ddddddddddddddd1") | {"labels": {"alertname": {"x": 1}}}),
    "annotations not an object": am_group(am_alert("ddddddddddddddd1") | {"annotations": ["summary"]}),
    "bad startsAt": am_group(am_alert("ddddddddddddddd1") | {"startsAt": "noon"}),
    "fingerprint too long": am_group(am_alert("f" * 129)),
    "one bad alert among good ones": am_group(am_alert("ddddddddddddddd1"), am_alert("ddddddddddddddd2")
                                              | {"status": "pending"}),
}


@pytest.mark.parametrize("case", list(BAD_GROUPS))
def test_invalid_alertmanager_payload_is_400_and_stores_nothing(client, db, am_key, case):
    post_am(client, am_key, am_group(am_alert("eeeeeeeeeeeeeee1")))
    before = stored(db)
    r = post_am(client, am_key, BAD_GROUPS[case])
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_payload" and err["details"]["errors"], err
    assert stored(db) == before


def test_alertmanager_body_that_is_not_json_is_400(client, db, am_key):
    before = stored(db)
    r = client.post(f"/integrations/alertmanager/{am_key}", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payload"
    assert stored(db) == before


# --- Grafana -----------------------------------------------------------------------------------

def test_grafana_version_1_body_is_accepted(client, admin, make_service):
    make_service("checkout")
    key = create_integration(client, admin, "grafana")["key"]
    r = client.post(f"/integrations/grafana/{key}", json=grafana_body())
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert alert["dedup_key"] == "grafana:1:c6eadffa33fcdf37"
    assert alert["summary"] == "This alert was triggered for zone us-1"
    assert {link["text"] for link in alert["links"]} >= {"Source", "Dashboard", "Silence"}
    assert alert["details"]["values"] == {"B": 44.23943737541908, "C": 1}


@pytest.fixture
def signed_grafana(client, admin, make_service):
    make_service("checkout")
    integ = create_integration(client, admin, "grafana", hmac=True)
    return integ


def test_hmac_integration_shows_its_signing_secret_once(client, admin, signed_grafana):
    assert signed_grafana["signing_secret"]
    assert signed_grafana["config"] == {"hmac": True, "timestamp_header": "X-Grafana-Alerting-Timestamp"}
    r = client.get(f"/api/v1/integrations/{signed_grafana['id']}", headers=admin.headers)
    assert "signing_secret" not in r.json() and "key" not in r.json()
    plain = create_integration(client, admin, "grafana")
    assert plain["signing_secret"] is None


def test_correctly_signed_grafana_request_is_accepted(client, clock, admin, signed_grafana):
    body = orjson.dumps(grafana_body())
    # Header names match in any case; the name a Grafana code comment uses is accepted too.
    headers = ("X-Grafana-Alerting-Signature", "x-grafana-alerting-signature", "X-Grafana-Alert-Signature")
    for header in headers:
        r = client.post(f"/integrations/grafana/{signed_grafana['key']}", content=body,
                        headers=grafana_headers(signed_grafana["signing_secret"], body, clock.now(), header))
        assert r.status_code == 202, r.text
    assert list_alerts(client, admin)[0]["occurrences"] == len(headers)


@pytest.mark.parametrize("case", ["missing", "wrong secret", "other body", "empty", "not hex"])
def test_badly_signed_grafana_request_is_401_and_stores_nothing(client, db, clock, signed_grafana, case):
    body = orjson.dumps(grafana_body())
    secret = signed_grafana["signing_secret"]
    headers = grafana_headers(secret, body, clock.now())
    message = headers["X-Grafana-Alerting-Timestamp"].encode() + b":" + body
    signature = {"missing": None, "wrong secret": sign(secret + "x", message),
                 "other body": sign(secret, message + b" "), "empty": "", "not hex": "zz\u00e9".encode("latin-1")}[case]
    del headers["X-Grafana-Alerting-Signature"]
    if signature is not None:
        headers["X-Grafana-Alerting-Signature"] = signature
    before = stored(db)
    r = client.post(f"/integrations/grafana/{signed_grafana['key']}", content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "bad_signature"
    assert stored(db) == before


@pytest.mark.parametrize("age_seconds, signed_with_stamp, status", [
    (0, True, 202),
    (240, True, 202),
    (-60, True, 202),
    (600, True, 401),      # a captured request replayed 10 minutes later
    (-600, True, 401),
    (0, False, 401),       # the signature must cover the timestamp
    (None, True, 401),     # no timestamp header at all
])
def test_grafana_timestamp_header_covers_the_signature_and_refuses_stale_requests(
        client, db, clock, admin, make_service, age_seconds, signed_with_stamp, status):
    make_service("checkout")
    integ = create_integration(client, admin, "grafana", hmac=True, timestamp_header="X-Grafana-Alerting-Timestamp")
    body = orjson.dumps(grafana_body())
    stamp = str(int(clock.now().timestamp()) - (age_seconds or 0))
    message = f"{stamp}:".encode() + body if signed_with_stamp else body
    headers = {"Content-Type": "application/json",
               "X-Grafana-Alerting-Signature": sign(integ["signing_secret"], message)}
    if age_seconds is not None:
        headers["X-Grafana-Alerting-Timestamp"] = stamp
    before = stored(db)
    r = client.post(f"/integrations/grafana/{integ['key']}", content=body, headers=headers)
    assert r.status_code == status, r.text
    if status == 401:
        assert stored(db) == before


def test_a_grafana_request_signed_without_a_timestamp_cannot_be_replayed(client, db, clock, admin, make_service):
    """Issue 14: a signature over the body alone is valid forever, so a captured request could be replayed at will.
    A signed integration refuses it, also one created before timestamps were required (no timestamp_header)."""
    make_service("checkout")
    integ = create_integration(client, admin, "grafana", hmac=True)
    with db.unit_of_work() as s:  # as stored by an older tocsin
        s.execute(sa.update(Integration).where(Integration.id == uuid.UUID(integ["id"])).values(config={"hmac": True}))
    body = orjson.dumps(grafana_body())
    captured = {"Content-Type": "application/json", "X-Grafana-Alerting-Signature": sign(integ["signing_secret"], body)}
    before = stored(db)
    r = client.post(f"/integrations/grafana/{integ['key']}", content=body, headers=captured)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == {"code": "bad_signature", "message": "missing timestamp", "details": {"errors": [
        "header X-Grafana-Alerting-Timestamp must hold Unix seconds (set timestampHeader in Grafana's HMAC settings)"]}}
    assert stored(db) == before
    r = client.post(f"/integrations/grafana/{integ['key']}", content=body,
                    headers=grafana_headers(integ["signing_secret"], body, clock.now()))
    assert r.status_code == 202, "the same integration takes a request signed with a fresh timestamp"


# --- generic JSON with a mapping ----------------------------------------------------------------

MAPPINGS = {
    "jmespath": {"engine": "jmespath", "summary": "title", "severity": "level", "dedup_key": "check.id",
                 "status": "state", "labels": "{host: check.host, team: 'db'}"},
    "jinja2": {"engine": "jinja2", "summary": "{{ title }} on {{ check.host }}", "severity": "{{ level }}",
               "dedup_key": "{{ check.id }}", "status": "{{ state }}",
               "labels": '{"host": {{ check.host | tojson }}, "team": "db"}'},
}
EXPECTED_SUMMARY = {"jmespath": "Replication lag", "jinja2": "Replication lag on db1"}


@pytest.mark.parametrize("engine", list(MAPPINGS))
def test_generic_integration_maps_any_json_to_alerts(client, db, admin, make_service, engine):
    make_service("checkout")
    integ = create_integration(client, admin, "generic", mapping=MAPPINGS[engine])
    assert integ["url"] == "/integrations/generic/<key>"
    url = f"/integrations/generic/{integ['key']}"
    payload = {"title": "Replication lag", "level": "warn", "state": "alerting", "check": {"id": "lag-1", "host": "db1"}}
    r = client.post(url, json=payload)
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert (alert["summary"], alert["severity"], alert["dedup_key"], alert["labels"]) == \
        (EXPECTED_SUMMARY[engine], "warning", "generic:1:lag-1", {"host": "db1", "team": "db"})
    assert alert["details"] == payload

    r = client.post(url, json={**payload, "state": "ok"})
    assert r.status_code == 202 and outcomes(db, r) == ["resolved"]
    assert list_alerts(client, admin)[0]["status"] == "resolved"


def test_generic_alerts_expression_makes_one_alert_per_item(client, admin, make_service):
    make_service("checkout")
    mapping = {"engine": "jinja2", "alerts": "checks[?failing]", "summary": "{{ name }} failing",
               "dedup_key": "{{ name }}", "severity": "{{ payload.prio }}"}
    key = create_integration(client, admin, "generic", mapping=mapping)["key"]
    body = {"checks": [{"name": "ping", "failing": True, "prio": "p1"}, {"name": "dns", "failing": False},
                       {"name": "tls", "failing": True, "prio": "p3"}]}
    r = client.post(f"/integrations/generic/{key}", json=body)
    assert r.status_code == 202 and r.json()["events"] == 2
    alerts = by_key(client, admin)
    assert {k: (a["summary"], a["severity"]) for k, a in alerts.items()} == {
        "generic:1:ping": ("ping failing", "critical"), "generic:1:tls": ("tls failing", "warning")}


def test_generic_template_that_writes_a_nul_is_stored_not_a_server_error(client, admin, make_service):
    # A NUL in the operator's template (not in the sender's data) reaches the stored alert on
    # PostgreSQL only if something replaces it; otherwise every such request would be a 5xx.
    make_service("checkout")
    mapping = {"engine": "jinja2", "summary": "{{ title }}\u0000!", "dedup_key": "{{ id }}\u0000"}
    key = create_integration(client, admin, "generic", mapping=mapping)["key"]
    r = client.post(f"/integrations/generic/{key}", json={"title": "Disk", "id": "d1"})
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert alert["summary"] == "Disk\ufffd!" and alert["dedup_key"] == "generic:1:d1\ufffd"


@pytest.mark.parametrize("mapping, payload", [
    ({"engine": "jmespath", "summary": "title"}, {"state": "alerting"}),
    ({"engine": "jmespath", "summary": "title"}, {"title": None}),
    ({"engine": "jmespath", "summary": "title"}, {"title": "   "}),
    ({"engine": "jmespath", "summary": "join(' ', tags)"}, {"tags": []}),
    ({"engine": "jinja2", "summary": "{{ title }}"}, {"other": 1}),
    ({"engine": "jinja2", "summary": "{{ title | trim }}"}, {"title": "   "}),
    ({"engine": "jinja2", "summary": "   {{ '' }}  "}, {"title": "x"}),
])
def test_generic_mapping_whose_summary_renders_empty_is_400(client, db, admin, make_service, mapping, payload):
    make_service("checkout")
    key = create_integration(client, admin, "generic", mapping=mapping)["key"]
    before = stored(db)
    r = client.post(f"/integrations/generic/{key}", json=payload)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_payload"
    assert any("summary is empty" in e for e in r.json()["error"]["details"]["errors"])
    assert stored(db) == before


@pytest.mark.parametrize("mapping", [
    {},
    {"engine": "xpath", "summary": "title"},
    {"engine": "jmespath"},
    {"engine": "jmespath", "summary": "title["},
    {"engine": "jinja2", "summary": "{{ title "},
    {"engine": "jmespath", "summary": "title", "colour": "red"},
    {"engine": "jmespath", "summary": 42},
    {"engine": "jinja2", "summary": "{{ title }}", "alerts": "items[?"},
])
def test_invalid_mapping_is_refused_at_creation(client, admin, make_service, mapping):
    make_service("checkout")
    r = client.post("/api/v1/integrations", json={"service": "checkout", "type": "generic", "name": "hook",
                                                  "config": {"mapping": mapping}}, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input" and "mapping" in r.json()["error"]["message"]
    assert client.get("/api/v1/integrations", headers=admin.headers).json()["items"] == []


# --- heartbeats --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_heartbeat_is_404(client, method):
    r = client.request(method, "/heartbeats/" + "a" * 32)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# --- characters PostgreSQL cannot store --------------------------------------------------------

def test_nul_in_an_alertmanager_label_is_stored_as_replacement_character(client, am_key, admin):
    r = post_am(client, am_key, am_group(am_alert("0000000000000001", instance="db\u00001")))
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert alert["labels"]["instance"] == "db\ufffd1"
    assert list_alerts(client, admin, label="instance=db\ufffd1") == [alert]


def test_nul_in_a_pagerduty_summary_and_key_is_stored_as_replacement_character(client, pd_key, admin):
    event = trigger(pd_key, dedup_key="nul\u0000key")
    event["payload"] = {"summary": "Disk\u0000full", "source": "db\u00001", "severity": "error",
                        "custom_details": {"k\u0000": "v\u0000"}}
    r = enqueue(client, event)
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert alert["summary"] == "Disk\ufffdfull" and alert["details"] == {"k\ufffd": "v\ufffd"}
    # The sender can still resolve with the key it sent.
    r = enqueue(client, {"routing_key": pd_key, "dedup_key": "nul\u0000key", "event_action": "resolve"})
    assert r.status_code == 202
    assert list_alerts(client, admin)[0]["status"] == "resolved"


# --- concurrency -------------------------------------------------------------------------------

def test_twenty_simultaneous_triggers_with_one_key_make_one_alert(client, pd_key, admin):
    start = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        r = enqueue(client, trigger(pd_key, dedup_key="storm"))
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [202] * 20
    (alert,) = list_alerts(client, admin)
    assert alert["status"] == "triggered" and alert["occurrences"] == 20
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin.headers).json()
    assert len(detail["occurrences_log"]) == 20
    # the service has no escalation policy: decided once, in the ingest transaction, that it is not paged
    assert [d["kind"] for d in detail["decisions"] if d["kind"] in ("page_requested", "not_paged")] == \
        ["not_paged"], "decided once"


def test_two_server_processes_racing_on_one_key_still_make_one_alert(db, clock, make_person, make_service):
    # Two app instances (two writers, as two `tocsin serve` processes) on one database. On PostgreSQL
    # the loser of the race hits the one-open-alert index: its events are kept pending, answered
    # 202, and the engine applies them, so no occurrence is lost.

    from tocsin.app import create_app
    from tocsin.engine.runner import Engine

    admin = make_person("admin")
    make_service("checkout")
    apps = [create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret"), db=db, clock=clock)
            for _ in range(2)]
    try:
        with AppliedClient(apps[0]) as first, AppliedClient(apps[1]) as second:
            key = create_integration(first, admin, "events_v2")["key"]
            start = threading.Barrier(20)
            statuses: list[int] = []

            def send(c) -> None:
                start.wait()
                statuses.append(enqueue(c, trigger(key, dedup_key="storm")).status_code)

            threads = [threading.Thread(target=send, args=(first if n % 2 else second,)) for n in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert statuses == [202] * 20
            Engine(db, clock, settings=Settings(secret_key="test-secret")).run_until_idle()
            (alert,) = list_alerts(first, admin)
            assert alert["status"] == "triggered"
            assert alert["occurrences"] == 20, "two writers must not lose each other's counts"
    finally:
        for application in apps:
            application.state.ingest.close()


# --- routing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("matcher", ["component=postgres", "severity=critical"])
def test_sender_resolves_an_alert_a_routing_rule_moved_to_another_service(client, admin, pd_key, make_service,
                                                                          matcher):
    # Runbook: a rule sends database alerts to the db team's service → the monitor, which only
    # knows its routing key and dedup key, acknowledges and resolves → the alert follows.
    make_service("db")
    r = client.post("/api/v1/routing-rules", json={"name": "database alerts", "matchers": [matcher],
                                                   "service": "db"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    event = trigger(pd_key)
    event["payload"]["component"] = "postgres"
    assert enqueue(client, event).status_code == 202
    (alert,) = list_alerts(client, admin)
    assert alert["service"] == "db"
    for action, status in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
        r = enqueue(client, {"routing_key": pd_key, "dedup_key": "disk/db1", "event_action": action})
        assert r.status_code == 202
        assert list_alerts(client, admin)[0]["status"] == status, f"{action} by dedup_key did not reach the alert"
