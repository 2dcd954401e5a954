"""The alert pipeline as a user meets it: dedup, reopen, grouping, routing, silences,
maintenance, flap damping, release when a hold ends, support hours, auto-incidents.

Runs on SQLite and PostgreSQL; time moves only with the ManualClock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts.models import Alert, AlertDecision, AlertEvent, AlertGroup, PageRequest
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.pipeline.unsuppress import release
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.routing.models import AutoIncidentRule, MaintenanceWindow, RoutingRule, Silence
from tocsin.services.models import Service


def ev(action: str = "trigger", key: str = "k1", severity: str = "critical", **labels: str) -> Event:
    return Event(action=Action(action), dedup_key=key, summary=f"{key} is broken", severity=AlertSeverity(severity),
                 source="test", labels=labels)


@pytest.fixture
def send(db, clock, make_service):
    api = make_service("api", tier=1)

    def send(*events: Event, service=None) -> list:
        with db.unit_of_work() as s:
            return ingest(s, [Incoming(e, service or api, None, "events_v2") for e in events], now=clock.now())

    send.service_id = api
    return send


def rows(db, model, *where, order=None):
    with db.unit_of_work() as s:
        stmt = sa.select(model).where(*where)
        if order is not None:
            stmt = stmt.order_by(order)
        return list(s.execute(stmt).scalars())


def decisions(db, *where):
    """Every decision, as the API lists them (creation steps one by one)."""
    from tocsin.alerts.service import expand_decisions

    found = []
    for row in rows(db, AlertDecision, *where, order=AlertDecision.at):
        found += [(row.alert_id, d) for d in expand_decisions([row])]
    return found


def kinds(db, alert_id) -> list[str]:
    return [d.kind for _a, d in decisions(db, AlertDecision.alert_id == alert_id)]


def of_kind(db, kind):
    return [(a, d) for a, d in decisions(db) if d.kind == kind]


def test_repeats_deduplicate_into_one_open_alert(db, clock, send):
    first = send(ev())[0]
    clock.advance(minutes=1)
    out = send(ev(), ev())
    assert [o.outcome for o in out] == ["deduplicated", "deduplicated"]
    (alert,) = rows(db, Alert)
    assert alert.id == first.alert_id == out[0].alert_id
    assert alert.occurrences == 3
    assert alert.last_seen_at == clock.now() and alert.first_seen_at == clock.now() - timedelta(minutes=1)
    assert len(rows(db, AlertEvent, AlertEvent.alert_id == alert.id)) == 3
    assert len(rows(db, PageRequest)) == 1, "repeats page once"


def test_resolved_then_triggered_again_is_a_new_alert_linked_to_the_old(db, clock, send):
    first = send(ev())[0].alert_id
    assert send(ev("resolve"))[0].outcome == "resolved"
    clock.advance(hours=2)
    second = send(ev())[0]
    assert second.outcome == "created" and second.alert_id != first
    (new,) = rows(db, Alert, Alert.id == second.alert_id)
    assert new.previous_alert_id == first
    assert "reopened" in kinds(db, new.id)


def test_acknowledge_and_resolve_by_key_and_unknown_keys_are_explained(db, clock, send):
    a = send(ev())[0].alert_id
    out = send(ev("acknowledge"), ev("acknowledge"), ev("resolve", key="nope"))
    assert [o.outcome for o in out] == ["acknowledged", "ignored", "ignored"]
    assert "no open alert with key nope" in out[2].reason
    (alert,) = rows(db, Alert, Alert.id == a)
    assert alert.status == "acknowledged" and alert.acknowledged_at == clock.now()
    (page,) = rows(db, PageRequest)
    assert page.status == "cancelled", "an acknowledged alert stops paging"
    send(ev("resolve"))
    assert rows(db, Alert, Alert.id == a)[0].status == "resolved"


def test_trigger_resolve_trigger_in_one_batch(db, send):
    out = send(ev(), ev("resolve"), ev())
    assert [o.outcome for o in out] == ["created", "resolved", "created"]
    assert out[0].alert_id == out[1].alert_id != out[2].alert_id
    assert len(rows(db, Alert, Alert.status == "triggered")) == 1


def test_grouping_by_labels_and_window(db, clock, send):
    with db.unit_of_work() as s:
        s.get(Service, send.service_id).alert_settings = {"group_by": ["cluster"], "group_window_seconds": 600}
    a1 = send(ev(key="a", cluster="eu"))[0].alert_id
    a2 = send(ev(key="b", cluster="eu"))[0].alert_id
    a3 = send(ev(key="c", cluster="us"))[0].alert_id
    g = {a.id: a.group_id for a in rows(db, Alert)}
    assert g[a1] == g[a2] != g[a3]
    clock.advance(minutes=11)
    a4 = send(ev(key="d", cluster="eu"))[0].alert_id
    assert rows(db, Alert, Alert.id == a4)[0].group_id not in (g[a1], g[a3])
    groups = rows(db, AlertGroup)
    assert sorted(gr.status for gr in groups) == ["closed", "open", "open"], "the elapsed eu group closed"
    assert {gr.id: gr.alert_count for gr in groups}[g[a1]] == 2


def test_group_closes_when_all_its_alerts_resolve(db, send):
    send(ev(key="a"), ev(key="b"))
    send(ev("resolve", key="a"))
    assert rows(db, AlertGroup)[0].status == "open"
    send(ev("resolve", key="b"))
    assert rows(db, AlertGroup)[0].status == "closed"


def test_the_database_allows_one_open_group_and_one_open_alert_per_key(db, clock, send):
    send(ev(key="a"))
    (alert,) = rows(db, Alert)
    (group,) = rows(db, AlertGroup)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.unit_of_work() as s:
        s.add(Alert(service_id=alert.service_id, source="x", dedup_key="a", status="acknowledged", summary="",
                    severity="info", urgency="low", labels={}, links=[], occurrences=1, first_seen_at=clock.now(),
                    last_seen_at=clock.now()))
    with pytest.raises(IntegrityError), db.unit_of_work() as s:
        s.add(AlertGroup(service_id=group.service_id, group_key=group.group_key, labels={}, status="open",
                         created_at=clock.now(), last_alert_at=clock.now(), alert_count=0))


def test_routing_rules_pick_service_and_urgency_first_match_wins(db, clock, send, make_service):
    db_svc = make_service("database")
    with db.unit_of_work() as s:
        s.add_all([
            RoutingRule(position=1, name="db alerts", matchers=[{"name": "team", "op": "=~", "value": "db|dba"}],
                        service_id=db_svc, urgency=None, created_at=clock.now()),
            RoutingRule(position=2, name="noisy", matchers=[{"name": "team", "op": "!=", "value": ""}],
                        service_id=None, urgency="low", created_at=clock.now()),
        ])
    to_db = send(ev(key="x", team="dba"))[0].alert_id
    low = send(ev(key="y", team="web"))[0].alert_id
    plain = send(ev(key="z", severity="warning"))[0].alert_id
    by_id = {a.id: a for a in rows(db, Alert)}
    assert by_id[to_db].service_id == db_svc and by_id[to_db].urgency == "high"
    assert by_id[low].service_id == send.service_id and by_id[low].urgency == "low"
    assert by_id[plain].urgency == "low"
    reasons = {a: d.reason for a, d in of_kind(db, "routed")}
    assert "rule 'db alerts'" in reasons[to_db] and "database" in reasons[to_db]
    assert "no routing rule matched" in reasons[plain]


def test_silence_keeps_the_alert_without_paging_and_pages_when_it_ends(db, clock, send):
    with db.unit_of_work() as s:
        s.add(Silence(matchers=[{"name": "alertname", "op": "=", "value": "DiskFull"}], starts_at=clock.now(),
                      ends_at=clock.now() + timedelta(hours=1), author="alice@example.com", reason="migrating disks",
                      created_at=clock.now()))
    a = send(ev(key="d", alertname="DiskFull"))[0].alert_id
    other = send(ev(key="e", alertname="CPU"))[0].alert_id
    (alert,) = rows(db, Alert, Alert.id == a)
    assert alert.suppressed_by == "silence" and alert.paged_at is None
    reason = [d for x, d in of_kind(db, "silence") if x == a][0].reason
    assert "alice@example.com" in reason and "migrating disks" in reason
    assert [p.alert_id for p in rows(db, PageRequest)] == [other]
    clock.advance(minutes=30)
    with db.unit_of_work() as s:
        assert release(s, now=clock.now()) == 0, "still silenced"
    clock.advance(minutes=31)
    with db.unit_of_work() as s:
        assert release(s, now=clock.now()) == 1
    assert sorted(str(p.alert_id) for p in rows(db, PageRequest)) == sorted([str(a), str(other)])
    (alert,) = rows(db, Alert, Alert.id == a)
    assert alert.suppressed_by is None and alert.paged_at == clock.now()
    assert kinds(db, a)[-2:] == ["released", "page_requested"]


def test_silence_ending_after_the_alert_resolved_pages_nobody(db, clock, send):
    with db.unit_of_work() as s:
        s.add(Silence(matchers=[{"name": "alertname", "op": "=", "value": "X"}], starts_at=clock.now(),
                      ends_at=clock.now() + timedelta(minutes=5), author="a", reason="r", created_at=clock.now()))
    send(ev(key="x", alertname="X"))
    send(ev("resolve", key="x"))
    clock.advance(minutes=10)
    with db.unit_of_work() as s:
        release(s, now=clock.now())
    assert rows(db, PageRequest) == []


def test_weekly_maintenance_window_suppresses_then_pages_when_it_ends(db, clock, send):
    # 2026-01-01 12:00 UTC is a Thursday; the window recurs Thursdays 11:00-13:00 UTC.
    start = datetime(2025, 12, 25, 11, 0, tzinfo=clock.now().tzinfo)
    with db.unit_of_work() as s:
        s.add(MaintenanceWindow(service_id=send.service_id, name="patch night", starts_at=start,
                                ends_at=start + timedelta(hours=2), recurrence="weekly", timezone="UTC",
                                author="ops", reason="kernel updates", created_at=clock.now()))
    a = send(ev())[0].alert_id
    assert rows(db, Alert)[0].suppressed_by == "maintenance"
    assert "patch night" in of_kind(db, "maintenance")[0][1].reason
    clock.advance(hours=1, minutes=1)
    with db.unit_of_work() as s:
        assert release(s, now=clock.now()) == 1
    assert [p.alert_id for p in rows(db, PageRequest)] == [a]


def test_flapping_alert_pages_once_within_the_window(db, clock, send):
    for _ in range(4):
        send(ev())
        clock.advance(minutes=2)
        send(ev("resolve"))
        clock.advance(minutes=2)
    assert len(rows(db, Alert)) == 4
    assert len(rows(db, PageRequest)) == 1
    assert len(of_kind(db, "flapping")) == 3
    clock.advance(hours=1)
    send(ev())
    assert len(rows(db, PageRequest)) == 2, "after the flap window a new firing pages again"


def test_low_urgency_waits_for_support_hours(db, clock, send):
    with db.unit_of_work() as s:
        s.get(Service, send.service_id).alert_settings = {"support_hours": {
            "timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}}
    clock.set(datetime.fromisoformat("2026-01-02T19:00:00+00:00"))  # Friday 20:00 in Berlin
    send(ev(key="w", severity="warning"), ev(key="c", severity="critical"))
    pages = {p.urgency: p for p in rows(db, PageRequest)}
    assert pages["high"].not_before == clock.now()
    assert pages["low"].not_before == datetime.fromisoformat("2026-01-05T08:00:00+00:00")  # Monday 09:00 Berlin


def test_auto_incident_rule_declares_once_per_group_and_links_alerts(db, clock, send):
    with db.unit_of_work() as s:
        s.add(AutoIncidentRule(name="tier-1 critical", matchers=[{"name": "tier", "op": "=", "value": "1"},
                                                                 {"name": "severity", "op": "=", "value": "critical"}],
                               incident_severity="SEV2", incident_kind="operational", created_at=clock.now()))
    send(ev(key="warn", severity="warning"))
    assert rows(db, Incident) == []
    a = send(ev(key="a"))[0].alert_id
    b = send(ev(key="b"))[0].alert_id
    (inc,) = rows(db, Incident)
    assert inc.severity == "SEV2" and inc.title == "a is broken"
    linked = {x.id: x.incident_id for x in rows(db, Alert)}
    assert linked[a] == linked[b] == inc.id, "the second alert of the group joins the same incident"
    texts = [t.text for t in rows(db, TimelineEntry, TimelineEntry.incident_id == inc.id, TimelineEntry.kind == "alert_attached")]
    assert len(texts) == 2 and "a is broken" in texts[0]


def test_suppressed_alerts_do_not_declare_incidents(db, clock, send):
    with db.unit_of_work() as s:
        s.add(AutoIncidentRule(name="all", matchers=[{"name": "severity", "op": "=", "value": "critical"}],
                               incident_severity="SEV3", incident_kind="operational", created_at=clock.now()))
        s.add(Silence(matchers=[{"name": "service", "op": "=", "value": "api"}], starts_at=clock.now(),
                      ends_at=clock.now() + timedelta(hours=1), author="a", reason="r", created_at=clock.now()))
    send(ev())
    assert rows(db, Incident) == []


def test_alerts_held_in_a_long_window_do_not_keep_newer_ones_from_paging(db, clock, send, make_service,
                                                                           monkeypatch):
    # Many alerts of one service sit out a long maintenance window; another service's alert was
    # silenced briefly. When its silence ends it must page, however many others are still held.
    import tocsin.pipeline.unsuppress as unsuppress

    monkeypatch.setattr(unsuppress, "BATCH", 2)
    other = make_service("search")
    with db.unit_of_work() as s:
        s.add(MaintenanceWindow(service_id=send.service_id, name="migration", starts_at=clock.now(),
                                ends_at=clock.now() + timedelta(days=2), author="ops", reason="db move",
                                created_at=clock.now()))
        s.add(Silence(matchers=[{"name": "service", "op": "=", "value": "search"}], starts_at=clock.now(),
                      ends_at=clock.now() + timedelta(minutes=10), author="a", reason="r", created_at=clock.now()))
    send(*[ev(key=f"held-{n}") for n in range(5)])
    clock.advance(minutes=1)
    (late,) = send(ev(key="search-down"), service=other)
    clock.advance(minutes=10)
    with db.unit_of_work() as s:
        assert release(s, now=clock.now()) == 1
    assert [p.alert_id for p in rows(db, PageRequest)] == [late.alert_id]
