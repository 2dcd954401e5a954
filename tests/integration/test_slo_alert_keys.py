"""Keys of tocsin's own alerts (SLO burn rates, heartbeats, checks) belong to tocsin: an outside
sender that names one (`slo:1:<id>:page_1h` read off GET /slos/{id}) neither resolves nor
acknowledges nor swallows the SLO's alert; it gets an alert of its own."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from tocsin.alerts.models import Alert
from tocsin.inbound.types import Action, Event
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.slo.models import alert_key


def _send(db, clock, service_id, action: Action, key: str, source: str) -> None:
    with db.unit_of_work() as s:
        ingest(s, [Incoming(Event(action=action, dedup_key=key, summary=f"{source} {action.value}"),
                            service_id, None, source)], now=clock.now())


def _open(db) -> list[tuple[str, str, str]]:
    with db.unit_of_work() as s:
        return sorted(tuple(r) for r in s.execute(sa.select(Alert.dedup_key, Alert.summary, Alert.status)
                                                  .where(Alert.status != "resolved")))


def test_an_outside_sender_cannot_touch_an_slo_alert(db, clock, make_service):
    service_id = make_service("web")
    key = alert_key(uuid.uuid4(), "page_1h")
    _send(db, clock, service_id, Action.trigger, key, "slo")
    for action in (Action.acknowledge, Action.resolve):
        _send(db, clock, service_id, action, key, "events_v2")
    assert _open(db) == [(key, "slo trigger", "triggered")]
    # The outsider's trigger is an alert of its own; the SLO's resolve ends only the SLO's alert.
    _send(db, clock, service_id, Action.trigger, key, "events_v2")
    _send(db, clock, service_id, Action.resolve, key, "slo")
    assert _open(db) == [(f"ext:{key}", "events_v2 trigger", "triggered")]
    _send(db, clock, service_id, Action.resolve, key, "events_v2")  # its sender ends it with the key it chose
    assert _open(db) == []
