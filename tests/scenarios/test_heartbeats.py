"""Heartbeats, as an operator uses them.

An admin creates a heartbeat for the nightly backup and gets its key once; the job pings
after every run (GET or POST). When a ping is overdue (interval + grace), the engine opens a
critical alert on the service; the next ping resolves it. A heartbeat that never pinged never
alerts, an unknown key is a 404 that stores nothing, and the key itself is nowhere in the database.

Written on the harness's runbook (tests/harness/scenario.py): Ada (admin) works through the API,
the job pings the app (`rb.http`), the whole engine ticks on the ManualClock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts.models import AlertEvent
from tocsin.heartbeats.models import Heartbeat
from tocsin.heartbeats.models import alert_key as heartbeat_key
from tocsin.keys import key_hash

HB = "/heartbeats"


@pytest.fixture
def rb(runbook):
    """Ada (admin) and the service backups."""
    runbook.person("Ada", role="admin")
    runbook.service("backups")
    return runbook


def create(rb, **overrides):
    body = {"service": "backups", "name": "nightly backup", "interval_seconds": 3600, "grace_seconds": 300,
            **overrides}
    return rb.as_("Ada").post(HB, **body)


def heartbeat(rb, hb_id):
    (hb,) = rb.rows(Heartbeat, Heartbeat.id == uuid.UUID(hb_id))
    return hb


def ping(rb, key, method="GET"):
    """The job pings (no token: the key is the credential); return the response."""
    return rb.http.request(method, f"/heartbeats/{key}")


def test_missed_ping_opens_an_alert_and_the_next_ping_resolves_it(rb):
    created = create(rb)
    key, hb_id = created["key"], created["id"]
    assert created["ping_path"] == f"/heartbeats/{key}"
    assert created["state"] == "new" and created["due_at"] is None

    # The job pings with GET after its first run...
    assert ping(rb, key).status_code == 200
    hb = heartbeat(rb, hb_id)
    assert hb.state == "up" and hb.last_ping_at == rb.now
    assert hb.due_at == rb.now + timedelta(seconds=3600 + 300)

    # ...and with POST after the next one, which moves the deadline on.
    rb.clock.advance(minutes=50)
    assert ping(rb, key, "POST").status_code == 200
    assert heartbeat(rb, hb_id).due_at == rb.now + timedelta(seconds=3900)

    # Late, but within the grace period: nothing happens.
    assert rb.tick(seconds=3600 + 299)["heartbeats"] == 0
    assert rb.alerts("backups") == []

    # The grace period is over: one critical alert, whatever the number of ticks.
    assert rb.tick(seconds=2)["heartbeats"] == 1
    rb.run_until_idle()
    [alert] = rb.alerts("backups")
    assert alert.status == "triggered"
    assert alert.dedup_key == heartbeat_key(uuid.UUID(hb_id))
    assert alert.severity == "critical" and alert.source == "heartbeat"
    assert alert.summary.startswith("Heartbeat 'nightly backup' missed: no ping since")
    assert alert.labels == {"heartbeat": "nightly backup"}
    assert heartbeat(rb, hb_id).state == "down"
    assert rb.as_("Ada").get(f"{HB}/{hb_id}")["state"] == "down"

    # The job runs again and pings: the alert is resolved and the heartbeat is up.
    rb.clock.advance(minutes=5)
    assert ping(rb, key).status_code == 200
    [alert] = rb.alerts("backups")
    assert alert.status == "resolved" and alert.resolved_at == rb.now
    hb = heartbeat(rb, hb_id)
    assert hb.state == "up" and hb.due_at == rb.now + timedelta(seconds=3900)

    # Missing again later opens a new alert (the old one stays resolved).
    rb.clock.advance(seconds=3901)
    rb.run_until_idle()
    statuses = [a.status for a in rb.alerts("backups")]
    assert statuses == ["resolved", "triggered"]


def test_a_heartbeat_that_never_pinged_never_alerts(rb):
    created = create(rb, interval_seconds=60, grace_seconds=0)
    assert rb.tick(days=30)["heartbeats"] == 0
    assert rb.alerts("backups") == []
    assert heartbeat(rb, created["id"]).state == "new"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("key", ["0" * 32, "not-a-key", "f" * 200])
def test_an_unknown_key_is_a_404_and_stores_nothing(rb, method, key):
    created = create(rb)
    r = ping(rb, key, method)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert rb.rows(AlertEvent) == []
    hb = heartbeat(rb, created["id"])
    assert hb.state == "new" and hb.last_ping_at is None


def test_the_key_is_shown_once_and_stored_hashed(rb):
    from tocsin.models import Base

    ada = rb.as_("Ada")
    created = create(rb)
    key = created["key"]
    assert len(key) == 32 and int(key, 16) >= 0  # 128 bits, hex

    # Only the create response carries it: reads show a hint.
    for r in (rb.http.get(f"/api/v1{HB}/{created['id']}", headers=ada.headers),
              rb.http.get(f"/api/v1{HB}", headers=ada.headers)):
        assert r.status_code == 200
        assert key not in r.text and "ping_path" not in r.text
    assert created["key_hint"] == key[:4]

    assert heartbeat(rb, created["id"]).key_hash == key_hash(key)
    # Nowhere in the database in plaintext: not in the row, not in the audit log.
    with rb.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert key not in repr(tuple(row)), f"the heartbeat key is stored in {table.name}"


def test_list_filter_get_and_delete(rb):
    rb.service("billing")
    rb.person("Vic", role="viewer")
    ada, vic = rb.as_("Ada"), rb.as_("Vic")
    a = create(rb)
    b = create(rb, service="billing", name="invoice run")

    assert [h["id"] for h in vic.get(HB, service="billing")["items"]] == [b["id"]]
    assert len(vic.get(HB)["items"]) == 2
    vic.get(HB, 404, service="nope")

    # Pinged, then missed: its alert is open when an admin deletes it; deleting resolves it.
    assert ping(rb, b["key"]).status_code == 200
    rb.clock.advance(days=1)
    rb.run_until_idle()
    assert [x.status for x in rb.alerts("billing")] == ["triggered"]

    vic.delete(f"{HB}/{b['id']}", 403)
    assert ada.delete(f"{HB}/{b['id']}")["id"] == b["id"]
    assert [x.status for x in rb.alerts("billing")] == ["resolved"]
    ada.get(f"{HB}/{b['id']}", 404)
    assert ping(rb, b["key"]).status_code == 404  # the key stopped working
    assert ping(rb, a["key"]).status_code == 200

    actions = [e["action"] for e in ada.get("/audit")["items"]]
    assert actions.count("heartbeat.create") == 2 and actions.count("heartbeat.delete") == 1
