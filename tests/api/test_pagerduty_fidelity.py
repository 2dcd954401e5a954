"""PagerDuty Events API v2 behaviours senders rely on beyond the happy path: dedup keys belong to
the routing key (integration), not the service; an unparseable `payload.timestamp` loses nothing;
a too-large event gets PagerDuty's 413 body however it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from tests.api.test_ingest import create_integration, enqueue, list_alerts, stored, trigger
from tocsin.inbound.types import MAX_EVENT_BYTES

pytestmark = pytest.mark.both_backends


@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")


def test_two_integrations_of_one_service_keep_separate_dedup_keys(client, admin, make_service):
    make_service("checkout")
    a = create_integration(client, admin, "events_v2")
    b = create_integration(client, admin, "events_v2")
    assert enqueue(client, trigger(a["key"], dedup_key="x", summary="from A")).status_code == 202
    assert enqueue(client, trigger(b["key"], dedup_key="x", summary="from B")).status_code == 202
    alerts = {x["integration_id"]: x for x in list_alerts(client, admin) if x["dedup_key"] == "x"}
    assert {alerts[a["id"]]["summary"], alerts[b["id"]]["summary"]} == {"from A", "from B"}, "B merged into A"

    # A re-trigger on A deduplicates into A's alert only; an acknowledge on A leaves B's alone.
    assert enqueue(client, trigger(a["key"], dedup_key="x")).status_code == 202
    assert enqueue(client, {"routing_key": a["key"], "event_action": "acknowledge", "dedup_key": "x"}).status_code == 202
    alerts = {x["integration_id"]: x for x in list_alerts(client, admin) if x["dedup_key"] == "x"}
    assert (alerts[a["id"]]["status"], alerts[a["id"]]["occurrences"]) == ("acknowledged", 2)
    assert (alerts[b["id"]]["status"], alerts[b["id"]]["occurrences"]) == ("triggered", 1)

    # Resolving on B resolves B's alert only.
    assert enqueue(client, {"routing_key": b["key"], "event_action": "resolve", "dedup_key": "x"}).status_code == 202
    alerts = {x["integration_id"]: x for x in list_alerts(client, admin) if x["dedup_key"] == "x"}
    assert (alerts[a["id"]]["status"], alerts[b["id"]]["status"]) == ("acknowledged", "resolved")


def test_alertmanager_keys_stay_per_service(client, admin, make_service):
    # Other senders keep tocsin's per-service dedup: two Alertmanagers (HA pair) send the same alert.
    from tests.api.test_ingest import am_alert, am_group

    make_service("checkout")
    keys = [create_integration(client, admin, "alertmanager")["key"] for _ in range(2)]
    for key in keys:
        assert client.post(f"/integrations/alertmanager/{key}", json=am_group(am_alert("f1"))).status_code == 202
    [alert] = [x for x in list_alerts(client, admin) if x["source"] == "alertmanager"]
    assert alert["occurrences"] == 2


def test_unparseable_timestamp_is_stored_with_the_receive_time_and_a_warning(client, admin, make_service, clock):
    make_service("checkout")
    key = create_integration(client, admin, "events_v2")["key"]
    event = trigger(key, dedup_key="late")
    event["payload"]["timestamp"] = "yesterday at noon"
    r = enqueue(client, event)
    assert r.status_code == 202 and r.json()["dedup_key"] == "late"
    [alert] = [x for x in list_alerts(client, admin) if x["dedup_key"] == "late"]
    assert alert["first_seen_at"].startswith(clock.now().isoformat()[:16])
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin.headers).json()
    [warning] = [d for d in detail["decisions"] if d["kind"] == "warning"]
    assert "payload.timestamp 'yesterday at noon' could not be parsed" in warning["reason"]


def _chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("how", ["just over", "far over", "chunked, far over", "chunked, just over"])
def test_413_has_pagerdutys_body_at_every_size(client, db, admin, make_service, how):
    make_service("checkout")
    key = create_integration(client, admin, "events_v2")["key"]
    event = trigger(key)
    size = MAX_EVENT_BYTES + 10 if "just" in how else 4 * MAX_EVENT_BYTES
    event["payload"]["custom_details"] = {"log": "x" * size}
    body = orjson.dumps(event)
    before = stored(db)
    if how.startswith("chunked"):  # no Content-Length: the limit is found while reading
        r = client.post("/v2/enqueue", content=_chunks(body), headers={"Content-Type": "application/json"})
        assert "content-length" not in {k.lower() for k in r.request.headers}
    else:
        r = client.post("/v2/enqueue", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    answer = r.json()
    assert set(answer) == {"status", "message", "errors"}
    assert (answer["status"], answer["message"]) == ("invalid event", "Event object is too large")
    assert stored(db) == before


def test_opsgenie_413_has_opsgenies_shape(client, db, admin, make_service):
    make_service("checkout")
    key = create_integration(client, admin, "opsgenie")["key"]
    body = orjson.dumps({"message": "big", "description": "x" * 4 * MAX_EVENT_BYTES})
    r = client.post("/v2/alerts", content=_chunks(body), headers={"Authorization": f"GenieKey {key}"})
    assert r.status_code == 413 and set(r.json()) == {"message", "took", "requestId"}


def test_upgrade_gives_open_events_v2_alerts_their_integrations_scope(client, db, admin, make_service):
    """Migration 0038: an alert opened before the upgrade is still acknowledged, resolved and
    deduplicated by its sender afterwards (its scope is its integration, not the service's "")."""
    import sqlalchemy as sa

    from tocsin.db.migrate import downgrade, upgrade

    make_service("checkout")
    pd = create_integration(client, admin, "events_v2")
    am = create_integration(client, admin, "alertmanager")
    from tests.api.test_ingest import am_alert, am_group

    assert enqueue(client, trigger(pd["key"], dedup_key="old")).status_code == 202
    assert client.post(f"/integrations/alertmanager/{am['key']}", json=am_group(am_alert("f1"))).status_code == 202
    client.app.state.ingest.close()
    db.engine.dispose()
    downgrade(db.url, "0034")
    db.engine.dispose()
    upgrade(db.url)
    db.engine.dispose()
    with db.engine.connect() as conn:
        scopes = dict(conn.execute(sa.text("SELECT source, dedup_scope FROM alerts")).all())
    assert scopes == {"events_v2": pd["id"].replace("-", ""), "alertmanager": ""}
    assert enqueue(client, trigger(pd["key"], dedup_key="old")).status_code == 202  # deduplicated, not a 2nd alert
    [alert] = [x for x in list_alerts(client, admin) if x["dedup_key"] == "old"]
    assert alert["occurrences"] == 2
