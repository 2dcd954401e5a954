"""Held (suppressed) alerts cost nothing until their hold is due (issue 14, item 10).

A key holder could park thousands of alerts behind a long silence; the engine used to re-evaluate every
one of them every second. Each hold now stores when it ends, and a tick evaluates only the due ones,
except after silences, windows or rules changed, when every held alert is re-checked once (a silence
deleted or shortened must still release its alerts at once).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts.models import Alert, PageRequest
from tocsin.db.migrate import downgrade, upgrade
from tocsin.engine.modules import unsuppress
from tocsin.engine.runner import Engine
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.pipeline.unsuppress import release
from tocsin.routing.models import Silence

PARKED = 2000


def ev(key: str, **labels: str) -> Event:
    return Event(action=Action.trigger, dedup_key=key, summary=f"{key} is broken", severity=AlertSeverity.critical,
                 source="test", labels=labels)


@pytest.fixture
def rb(runbook):
    runbook.service("api", tier=1)
    runbook.person("Alice")
    runbook.policy((5, ["Alice"]), service="api")  # paged: the pipeline writes page requests for it
    return runbook


def silence(rb, value: str, minutes: int) -> uuid.UUID:
    with rb.db.unit_of_work() as s:
        row = Silence(matchers=[{"name": "team", "op": "=", "value": value}], starts_at=rb.now,
                      ends_at=rb.now + timedelta(minutes=minutes), author="a", reason="r", created_at=rb.now)
        s.add(row)
        s.flush()
        return row.id


def park(rb, count: int, until) -> None:
    """`count` alerts held by a silence until `until`, as the pipeline stores them (inserted in bulk: cheap)."""
    sid = rb.services["api"]
    rows = [{"id": uuid.uuid4(), "service_id": sid, "source": "test", "dedup_key": f"parked-{n}", "status": "triggered",
             "summary": "parked", "severity": "critical", "urgency": "high", "labels": {"team": "parked"},
             "links": [], "occurrences": 1, "first_seen_at": rb.now, "last_seen_at": rb.now,
             "suppressed_by": "silence", "held_until": until} for n in range(count)]
    with rb.db.unit_of_work() as s:
        s.execute(sa.insert(Alert), rows)


def recheck(rb, *, everything: bool = False):
    with rb.db.unit_of_work() as s:
        return release(s, now=rb.now, everything=everything)


def test_a_tick_evaluates_only_the_holds_that_are_due(rb):
    silence(rb, "parked", minutes=24 * 60)
    silence(rb, "brief", minutes=10)
    (parked,) = rb.ingest(ev("parked-by-pipeline", team="parked"), service="api")
    (brief,) = rb.ingest(ev("brief", team="brief"), service="api")
    (row,) = rb.rows(Alert, Alert.id == parked.alert_id)
    assert row.suppressed_by == "silence" and row.held_until == rb.now + timedelta(days=1)
    park(rb, PARKED, rb.now + timedelta(days=1))

    rb.clock.advance(minutes=5)
    assert recheck(rb) == (0, 0), "nothing is due: no held alert is evaluated"
    rb.clock.advance(minutes=6)
    assert recheck(rb) == (1, 1), f"only the alert whose silence ended, not the {PARKED + 1} parked ones"
    assert [p.alert_id for p in rb.rows(PageRequest)] == [brief.alert_id]
    assert recheck(rb) == (0, 0)


def test_deleting_a_silence_early_releases_its_alerts_at_the_next_tick(rb):
    held = silence(rb, "parked", minutes=24 * 60)
    (alert,) = rb.ingest(ev("x", team="parked"), service="api")
    engine = Engine(rb.db, rb.clock, settings=rb.settings, modules=[("unsuppress", unsuppress)])
    assert engine.tick()["unsuppress"] == 0  # the engine's first look re-checks everything once
    rb.clock.advance(minutes=1)
    with rb.db.unit_of_work() as s:
        s.delete(s.get(Silence, held))
    assert engine.tick()["unsuppress"] == 1, "a deleted silence does not wait for its old end"
    assert [p.alert_id for p in rb.rows(PageRequest)] == [alert.alert_id]


def test_shortening_or_extending_a_silence_moves_the_recheck(rb):
    held = silence(rb, "parked", minutes=60)
    (alert,) = rb.ingest(ev("x", team="parked"), service="api")
    engine = Engine(rb.db, rb.clock, settings=rb.settings, modules=[("unsuppress", unsuppress)])
    engine.tick()
    with rb.db.unit_of_work() as s:  # extended by a day: the hold's end moves with it
        s.get(Silence, held).ends_at = rb.now + timedelta(days=1)
    assert engine.tick()["unsuppress"] == 0
    (row,) = rb.rows(Alert, Alert.id == alert.alert_id)
    assert row.held_until == rb.now + timedelta(days=1)
    rb.clock.advance(minutes=61)
    assert recheck(rb) == (0, 0), "not due at the old end"
    with rb.db.unit_of_work() as s:  # then cut short
        s.get(Silence, held).ends_at = rb.now
    assert engine.tick()["unsuppress"] == 1
    assert [p.alert_id for p in rb.rows(PageRequest)] == [alert.alert_id]


def test_alerts_held_before_the_upgrade_are_rechecked_at_once(rb):
    silence(rb, "parked", minutes=10)
    (alert,) = rb.ingest(ev("x", team="parked"), service="api")
    downgrade(rb.db.url, "0007")
    upgrade(rb.db.url)
    (row,) = rb.rows(Alert, Alert.id == alert.alert_id)
    assert row.held_until == row.first_seen_at, "due at once: the first re-check gives it its real end"
    assert recheck(rb) == (1, 0)
    (row,) = rb.rows(Alert, Alert.id == alert.alert_id)
    assert row.held_until == rb.now + timedelta(minutes=10)
