"""PagerDuty's own Python client (pdpyras) pointed at tocsin instead of events.pagerduty.com.

pdpyras raises unless `/v2/enqueue` answers a JSON object holding `dedup_key`, and its change
events session posts to `/v2/change/enqueue`; the same calls must work unchanged against tocsin.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.harness.processes import Stack
from tocsin.alerts.models import AlertEvent

with warnings.catch_warnings():  # pdpyras 5.4 warns on import that it is deprecated in favour of `pagerduty`
    warnings.simplefilter("ignore")
    import pdpyras

pytestmark = pytest.mark.slow


def _session(cls: type[Any], key: str, url: str) -> Any:
    session = cls(key)
    session.url = url
    session.trust_env = False  # loopback: ignore any proxy settings
    return session


def _by_key(tocsin: Stack, dedup_key: str) -> list[dict[str, Any]]:
    tocsin.wait_applied()  # the 202 means journaled; the alert is stored right behind it
    return [a for a in tocsin.alerts() if a["dedup_key"] == dedup_key]


def test_pdpyras_events_session_drives_the_alert_lifecycle(tocsin: Stack) -> None:
    events = _session(pdpyras.EventsAPISession, tocsin.keys["events_v2"], tocsin.url)
    key = f"pdpyras/{secrets.token_hex(4)}"

    # trigger returns the dedup key from the response body; the writer answers once the event is
    # journaled and applies it right behind, so the alert is readable once the journal is applied.
    assert events.trigger("Checkout p99 above 2s", "web-3.example", severity="critical", dedup_key=key,
                          custom_details={"p99_ms": 2300}, links=[{"href": "https://dash.example/p99"}]) == key
    [alert] = _by_key(tocsin, key)
    assert (alert["status"], alert["source"], alert["service"]) == ("triggered", "events_v2", "checkout")
    assert (alert["summary"], alert["severity"]) == ("Checkout p99 above 2s", "critical")
    assert alert["details"] == {"p99_ms": 2300}
    assert {"href": "https://dash.example/p99", "text": ""} in alert["links"]

    assert events.trigger("Checkout p99 above 2s", "web-3.example", dedup_key=key) == key  # deduplicated
    assert events.acknowledge(key) == key
    [acked] = _by_key(tocsin, key)
    assert (acked["id"], acked["status"], acked["occurrences"]) == (alert["id"], "acknowledged", 2)
    assert acked["acknowledged_at"] is not None

    assert events.resolve(key) == key
    [resolved] = _by_key(tocsin, key)
    assert (resolved["id"], resolved["status"]) == (alert["id"], "resolved")
    log = tocsin.alert(alert["id"])["occurrences_log"]
    assert sorted((o["action"], o["outcome"]) for o in log) == [
        ("acknowledge", "acknowledged"), ("resolve", "resolved"), ("trigger", "created"), ("trigger", "deduplicated")]

    # Without a dedup key, PagerDuty (and tocsin) generate one and return it.
    generated = events.trigger("Queue depth high", "worker-1.example", severity="warning")
    assert isinstance(generated, str) and generated and generated != key
    [fresh] = _by_key(tocsin, generated)
    assert (fresh["status"], fresh["severity"], fresh["summary"]) == ("triggered", "warning", "Queue depth high")
    assert events.trigger("Queue depth high", "worker-1.example", severity="warning") != generated

    # PagerDuty deduplicates per routing key: a second Events v2 integration of the same service,
    # sending the same dedup key, gets its own alert, and its resolve leaves the first one's open.
    with tocsin.api() as api:
        r = api.post("/api/v1/integrations", json={"service": tocsin.service, "type": "events_v2", "name": "B"})
        assert r.status_code == 201, r.text
        other = r.json()
    second = _session(pdpyras.EventsAPISession, other["key"], tocsin.url)
    shared = f"shared/{secrets.token_hex(4)}"
    # ... and a timestamp PagerDuty's docs do not say it refuses is kept, with a warning, not a 400.
    assert events.trigger("Disk full on db-1", "db-1", dedup_key=shared, payload={"timestamp": "not a time"}) == shared
    assert second.trigger("Disk full on db-2", "db-2", dedup_key=shared) == shared
    assert second.resolve(shared) == shared
    by_integration = {a["integration_id"]: a for a in _by_key(tocsin, shared)}
    assert by_integration[tocsin.integration_ids["events_v2"]]["status"] == "triggered"
    assert by_integration[other["id"]]["status"] == "resolved"
    kept = tocsin.alert(by_integration[tocsin.integration_ids["events_v2"]]["id"])
    assert any(d["kind"] == "warning" and "payload.timestamp" in d["reason"] for d in kept["decisions"])


def test_pdpyras_change_events_session_records_a_change(tocsin: Stack) -> None:
    changes = _session(pdpyras.ChangeEventsAPISession, tocsin.keys["events_v2"], tocsin.url)
    summary = f"Deploy checkout {secrets.token_hex(3)}"
    changes.submit(summary, "ci.example", custom_details={"sha": "abc123"},
                   links=[{"href": "https://ci.example/run/7", "text": "CI run"}])
    with tocsin.api() as api:
        r = api.get(f"/api/v1/services/{tocsin.service}/changes")
    assert r.status_code == 200, r.text
    [change] = [c for c in r.json()["items"] if c["summary"] == summary]
    assert change["source"] == "ci.example"
    assert change["details"] == {"sha": "abc123"}
    assert change["links"] == [{"href": "https://ci.example/run/7", "text": "CI run"}]
    assert not tocsin.alerts(), "a change event must not create an alert"


def test_an_invalid_event_is_refused_in_pagerdutys_shape_and_not_stored(tocsin: Stack, db_url: str) -> None:
    key = f"invalid/{secrets.token_hex(4)}"
    body = {"routing_key": tocsin.keys["events_v2"], "event_action": "trigger", "dedup_key": key,
            "payload": {"summary": "Bad severity", "source": "host-1", "severity": "fatal"}}
    r = requests.post(f"{tocsin.url}/v2/enqueue", json=body, timeout=10, proxies={"http": "", "https": ""})
    assert r.status_code == 400, r.text
    answer = r.json()
    assert answer["status"] == "invalid event"
    assert answer["message"]
    assert any("severity" in e for e in answer["errors"]), answer

    # pdpyras turns the same refusal into an exception instead of returning a key.
    events = _session(pdpyras.EventsAPISession, tocsin.keys["events_v2"], tocsin.url)
    with pytest.raises(pdpyras.PDClientError):
        events.trigger("Bad severity", "host-1", severity="fatal", dedup_key=key)

    assert _by_key(tocsin, key) == []
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(AlertEvent)
                                  .where(AlertEvent.dedup_key == key)).scalar_one()
    finally:
        engine.dispose()
    assert stored == 0, "a refused event was stored"
