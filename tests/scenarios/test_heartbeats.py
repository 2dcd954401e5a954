"""Heartbeats, as an operator uses them.

An admin creates a heartbeat for the nightly backup and gets its key once; the job pings
after every run (GET or POST). When a ping is overdue (interval + grace), the engine opens a
critical alert on the service; the next ping resolves it. A heartbeat that never pinged never
alerts, an unknown key is a 404 that stores nothing, and the key itself is nowhere in the database.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support import service_alerts as alerts
from tocsin.alerts.models import AlertEvent
from tocsin.heartbeats.monitor import heartbeats
from tocsin.engine.runner import Engine
from tocsin.heartbeats.models import Heartbeat
from tocsin.heartbeats.models import alert_key as heartbeat_key
from tocsin.keys import key_hash

HB = "/api/v1/heartbeats"


@pytest.fixture
def admin(make_person):
    return make_person("admin")


@pytest.fixture
def engine(db, clock):
    return Engine(db, clock, modules=[("heartbeats", heartbeats)])


def create(client, admin, **overrides):
    body = {"service": "backups", "name": "nightly backup", "interval_seconds": 3600, "grace_seconds": 300,
            **overrides}
    r = client.post(HB, json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()


def heartbeat(db, hb_id):
    with db.unit_of_work() as s:
        return s.get(Heartbeat, uuid.UUID(hb_id))


def test_missed_ping_opens_an_alert_and_the_next_ping_resolves_it(client, db, clock, admin, make_service, engine):
    service_id = make_service("backups")
    created = create(client, admin)
    key, hb_id = created["key"], created["id"]
    assert created["ping_path"] == f"/heartbeats/{key}"
    assert created["state"] == "new" and created["due_at"] is None

    # The job pings with GET after its first run...
    assert client.get(f"/heartbeats/{key}").status_code == 200
    hb = heartbeat(db, hb_id)
    assert hb.state == "up" and hb.last_ping_at == clock.now()
    assert hb.due_at == clock.now() + timedelta(seconds=3600 + 300)

    # ...and with POST after the next one, which moves the deadline on.
    clock.advance(minutes=50)
    assert client.post(f"/heartbeats/{key}").status_code == 200
    assert heartbeat(db, hb_id).due_at == clock.now() + timedelta(seconds=3900)

    # Late, but within the grace period: nothing happens.
    clock.advance(seconds=3600 + 299)
    assert engine.tick()["heartbeats"] == 0
    assert alerts(db, service_id) == []

    # The grace period is over: one critical alert, whatever the number of ticks.
    clock.advance(seconds=2)
    assert engine.tick()["heartbeats"] == 1
    engine.run_until_idle()
    [alert] = alerts(db, service_id)
    assert alert.status == "triggered"
    assert alert.dedup_key == heartbeat_key(uuid.UUID(hb_id))
    assert alert.severity == "critical" and alert.source == "heartbeat"
    assert alert.summary.startswith("Heartbeat 'nightly backup' missed: no ping since")
    assert alert.labels == {"heartbeat": "nightly backup"}
    assert heartbeat(db, hb_id).state == "down"
    r = client.get(f"{HB}/{hb_id}", headers=admin.headers)
    assert r.status_code == 200 and r.json()["state"] == "down"

    # The job runs again and pings: the alert is resolved and the heartbeat is up.
    clock.advance(minutes=5)
    assert client.get(f"/heartbeats/{key}").status_code == 200
    [alert] = alerts(db, service_id)
    assert alert.status == "resolved" and alert.resolved_at == clock.now()
    hb = heartbeat(db, hb_id)
    assert hb.state == "up" and hb.due_at == clock.now() + timedelta(seconds=3900)

    # Missing again later opens a new alert (the old one stays resolved).
    clock.advance(seconds=3901)
    engine.run_until_idle()
    statuses = [a.status for a in alerts(db, service_id)]
    assert statuses == ["resolved", "triggered"]


def test_a_heartbeat_that_never_pinged_never_alerts(client, db, clock, admin, make_service, engine):
    service_id = make_service("backups")
    created = create(client, admin, interval_seconds=60, grace_seconds=0)
    clock.advance(days=30)
    assert engine.tick()["heartbeats"] == 0
    assert alerts(db, service_id) == []
    assert heartbeat(db, created["id"]).state == "new"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("key", ["0" * 32, "not-a-key", "f" * 200])
def test_an_unknown_key_is_a_404_and_stores_nothing(client, db, admin, make_service, method, key):
    make_service("backups")
    created = create(client, admin)
    r = client.request(method, f"/heartbeats/{key}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(AlertEvent)).scalar_one() == 0
        hb = s.get(Heartbeat, uuid.UUID(created["id"]))
        assert hb.state == "new" and hb.last_ping_at is None


def test_the_key_is_shown_once_and_stored_hashed(client, db, admin, make_service):
    from tocsin.models import Base

    make_service("backups")
    created = create(client, admin)
    key = created["key"]
    assert len(key) == 32 and int(key, 16) >= 0  # 128 bits, hex

    # Only the create response carries it: reads show a hint.
    for r in (client.get(f"{HB}/{created['id']}", headers=admin.headers), client.get(HB, headers=admin.headers)):
        assert r.status_code == 200
        assert key not in r.text and "ping_path" not in r.text
    assert created["key_hint"] == key[:4]

    with db.unit_of_work() as s:
        assert s.get(Heartbeat, uuid.UUID(created["id"])).key_hash == key_hash(key)
    # Nowhere in the database in plaintext: not in the row, not in the audit log.
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert key not in repr(tuple(row)), f"the heartbeat key is stored in {table.name}"


def test_list_filter_get_and_delete(client, db, clock, admin, make_person, make_service, engine):
    make_service("backups")
    other = make_service("billing")
    viewer = make_person("viewer")
    a = create(client, admin)
    b = create(client, admin, service="billing", name="invoice run")

    r = client.get(HB, params={"service": "billing"}, headers=viewer.headers)
    assert r.status_code == 200
    assert [h["id"] for h in r.json()["items"]] == [b["id"]]
    assert len(client.get(HB, headers=viewer.headers).json()["items"]) == 2
    assert client.get(HB, params={"service": "nope"}, headers=viewer.headers).status_code == 404

    # Pinged, then missed: its alert is open when an admin deletes it; deleting resolves it.
    assert client.get(f"/heartbeats/{b['key']}").status_code == 200
    clock.advance(days=1)
    engine.run_until_idle()
    assert [x.status for x in alerts(db, other)] == ["triggered"]

    assert client.delete(f"{HB}/{b['id']}", headers=viewer.headers).status_code == 403
    r = client.delete(f"{HB}/{b['id']}", headers=admin.headers)
    assert r.status_code == 200 and r.json()["id"] == b["id"]
    assert [x.status for x in alerts(db, other)] == ["resolved"]
    assert client.get(f"{HB}/{b['id']}", headers=admin.headers).status_code == 404
    assert client.get(f"/heartbeats/{b['key']}").status_code == 404  # the key stopped working
    assert client.get(f"/heartbeats/{a['key']}").status_code == 200

    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin.headers).json()]
    assert actions.count("heartbeat.create") == 2 and actions.count("heartbeat.delete") == 1
