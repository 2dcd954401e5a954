"""The alert pipeline as a user meets it: dedup, reopen, grouping, routing, silences,
maintenance, flap damping, release when a hold ends, support hours, auto-incidents.

Written on the harness's runbook (tests/harness/scenario.py): events go through the pipeline
(`rb.ingest`) for the service `api`; a hold ends when the engine's `unsuppress` module runs.
SQLite and PostgreSQL; time moves only with the ManualClock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tocsin.alerts.models import Alert, AlertDecision, AlertEvent, AlertGroup, PageRequest
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.incidents.models import Incident
from tocsin.routing.models import AutoIncidentRule, MaintenanceWindow, RoutingRule, Silence
from tocsin.services.models import Service


def ev(action: str = "trigger", key: str = "k1", severity: str = "critical", **labels: str) -> Event:
    return Event(action=Action(action), dedup_key=key, summary=f"{key} is broken", severity=AlertSeverity(severity),
                 source="test", labels=labels)


@pytest.fixture
def rb(runbook):
    runbook.service("api", tier=1)
    runbook.person("Alice")
    runbook.policy((5, ["Alice"]), service="api")  # paged: the pipeline writes page requests for it
    return runbook


def send(rb, *events: Event, service=None) -> list:
    return rb.ingest(*events, service=service or "api")


def release(rb) -> int:
    """The engine's `unsuppress` module runs once: how many held alerts it released."""
    return rb.new_engine("unsuppress").tick()["unsuppress"]


def decisions(rb, *where):
    """Every decision, as the API lists them (creation steps one by one)."""
    from tocsin.alerts.service import expand_decisions

    found = []
    for row in rb.rows(AlertDecision, *where, order_by=AlertDecision.at):
        found += [(row.alert_id, d) for d in expand_decisions([row])]
    return found


def kinds(rb, alert_id) -> list[str]:
    return [d.kind for _a, d in decisions(rb, AlertDecision.alert_id == alert_id)]


def of_kind(rb, kind):
    return [(a, d) for a, d in decisions(rb) if d.kind == kind]


def test_repeats_deduplicate_into_one_open_alert(rb):
    first = send(rb, ev())[0]
    rb.clock.advance(minutes=1)
    out = send(rb, ev(), ev())
    assert [o.outcome for o in out] == ["deduplicated", "deduplicated"]
    (alert,) = rb.rows(Alert)
    assert alert.id == first.alert_id == out[0].alert_id
    assert alert.occurrences == 3
    assert alert.last_seen_at == rb.now and alert.first_seen_at == rb.now - timedelta(minutes=1)
    assert len(rb.rows(AlertEvent, AlertEvent.alert_id == alert.id)) == 3
    assert len(rb.rows(PageRequest)) == 1, "repeats page once"


def test_resolved_then_triggered_again_is_a_new_alert_linked_to_the_old(rb):
    first = send(rb, ev())[0].alert_id
    assert send(rb, ev("resolve"))[0].outcome == "resolved"
    rb.clock.advance(hours=2)
    second = send(rb, ev())[0]
    assert second.outcome == "created" and second.alert_id != first
    (new,) = rb.rows(Alert, Alert.id == second.alert_id)
    assert new.previous_alert_id == first
    assert "reopened" in kinds(rb, new.id)


def test_acknowledge_and_resolve_by_key_and_unknown_keys_are_explained(rb):
    a = send(rb, ev())[0].alert_id
    out = send(rb, ev("acknowledge"), ev("acknowledge"), ev("resolve", key="nope"))
    assert [o.outcome for o in out] == ["acknowledged", "ignored", "ignored"]
    assert "no open alert with key nope" in out[2].reason
    (alert,) = rb.rows(Alert, Alert.id == a)
    assert alert.status == "acknowledged" and alert.acknowledged_at == rb.now
    (page,) = rb.rows(PageRequest)
    assert page.status == "cancelled", "an acknowledged alert stops paging"
    send(rb, ev("resolve"))
    assert rb.rows(Alert, Alert.id == a)[0].status == "resolved"


def test_trigger_resolve_trigger_in_one_batch(rb):
    out = send(rb, ev(), ev("resolve"), ev())
    assert [o.outcome for o in out] == ["created", "resolved", "created"]
    assert out[0].alert_id == out[1].alert_id != out[2].alert_id
    assert len(rb.rows(Alert, Alert.status == "triggered")) == 1


def test_grouping_by_labels_and_window(rb):
    with rb.db.unit_of_work() as s:
        s.get(Service, rb.services["api"]).alert_settings = {"group_by": ["cluster"], "group_window_seconds": 600}
    a1 = send(rb, ev(key="a", cluster="eu"))[0].alert_id
    a2 = send(rb, ev(key="b", cluster="eu"))[0].alert_id
    a3 = send(rb, ev(key="c", cluster="us"))[0].alert_id
    g = {a.id: a.group_id for a in rb.rows(Alert)}
    assert g[a1] == g[a2] != g[a3]
    rb.clock.advance(minutes=11)
    a4 = send(rb, ev(key="d", cluster="eu"))[0].alert_id
    assert rb.rows(Alert, Alert.id == a4)[0].group_id not in (g[a1], g[a3])
    groups = rb.rows(AlertGroup)
    assert sorted(gr.status for gr in groups) == ["closed", "open", "open"], "the elapsed eu group closed"
    assert {gr.id: gr.alert_count for gr in groups}[g[a1]] == 2


def test_group_closes_when_all_its_alerts_resolve(rb):
    send(rb, ev(key="a"), ev(key="b"))
    send(rb, ev("resolve", key="a"))
    assert rb.rows(AlertGroup)[0].status == "open"
    send(rb, ev("resolve", key="b"))
    assert rb.rows(AlertGroup)[0].status == "closed"


def test_the_database_allows_one_open_group_and_one_open_alert_per_key(rb):
    send(rb, ev(key="a"))
    (alert,) = rb.rows(Alert)
    (group,) = rb.rows(AlertGroup)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), rb.db.unit_of_work() as s:
        s.add(Alert(service_id=alert.service_id, source="x", dedup_key="a", status="acknowledged", summary="",
                    severity="info", urgency="low", labels={}, links=[], occurrences=1, first_seen_at=rb.now,
                    last_seen_at=rb.now))
    with pytest.raises(IntegrityError), rb.db.unit_of_work() as s:
        s.add(AlertGroup(service_id=group.service_id, group_key=group.group_key, labels={}, status="open",
                         created_at=rb.now, last_alert_at=rb.now, alert_count=0))


def test_routing_rules_pick_service_and_urgency_first_match_wins(rb):
    db_svc = rb.service("database")
    with rb.db.unit_of_work() as s:
        s.add_all([
            RoutingRule(position=1, name="db alerts", matchers=[{"name": "team", "op": "=~", "value": "db|dba"}],
                        service_id=db_svc, urgency=None, created_at=rb.now),
            RoutingRule(position=2, name="noisy", matchers=[{"name": "team", "op": "!=", "value": ""}],
                        service_id=None, urgency="low", created_at=rb.now),
        ])
    to_db = send(rb, ev(key="x", team="dba"))[0].alert_id
    low = send(rb, ev(key="y", team="web"))[0].alert_id
    plain = send(rb, ev(key="z", severity="warning"))[0].alert_id
    by_id = {a.id: a for a in rb.rows(Alert)}
    assert by_id[to_db].service_id == db_svc and by_id[to_db].urgency == "high"
    assert by_id[low].service_id == rb.services["api"] and by_id[low].urgency == "low"
    assert by_id[plain].urgency == "low"
    reasons = {a: d.reason for a, d in of_kind(rb, "routed")}
    assert "rule 'db alerts'" in reasons[to_db] and "database" in reasons[to_db]
    assert "no routing rule matched" in reasons[plain]


def test_silence_keeps_the_alert_without_paging_and_pages_when_it_ends(rb):
    with rb.db.unit_of_work() as s:
        s.add(Silence(matchers=[{"name": "alertname", "op": "=", "value": "DiskFull"}], starts_at=rb.now,
                      ends_at=rb.now + timedelta(hours=1), author="alice@example.com", reason="migrating disks",
                      created_at=rb.now))
    a = send(rb, ev(key="d", alertname="DiskFull"))[0].alert_id
    other = send(rb, ev(key="e", alertname="CPU"))[0].alert_id
    (alert,) = rb.rows(Alert, Alert.id == a)
    assert alert.suppressed_by == "silence" and alert.paged_at is None
    reason = [d for x, d in of_kind(rb, "silence") if x == a][0].reason
    assert "alice@example.com" in reason and "migrating disks" in reason
    assert [p.alert_id for p in rb.rows(PageRequest)] == [other]
    rb.clock.advance(minutes=30)
    assert release(rb) == 0, "still silenced"
    rb.clock.advance(minutes=31)
    assert release(rb) == 1
    assert sorted(str(p.alert_id) for p in rb.rows(PageRequest)) == sorted([str(a), str(other)])
    (alert,) = rb.rows(Alert, Alert.id == a)
    assert alert.suppressed_by is None and alert.paged_at == rb.now
    assert kinds(rb, a)[-2:] == ["released", "page_requested"]


def test_silence_ending_after_the_alert_resolved_pages_nobody(rb):
    with rb.db.unit_of_work() as s:
        s.add(Silence(matchers=[{"name": "alertname", "op": "=", "value": "X"}], starts_at=rb.now,
                      ends_at=rb.now + timedelta(minutes=5), author="a", reason="r", created_at=rb.now))
    send(rb, ev(key="x", alertname="X"))
    send(rb, ev("resolve", key="x"))
    rb.clock.advance(minutes=10)
    release(rb)
    assert rb.rows(PageRequest) == []


def test_weekly_maintenance_window_suppresses_then_pages_when_it_ends(rb):
    # 2026-01-01 12:00 UTC is a Thursday; the window recurs Thursdays 11:00-13:00 UTC.
    start = datetime(2025, 12, 25, 11, 0, tzinfo=rb.now.tzinfo)
    with rb.db.unit_of_work() as s:
        s.add(MaintenanceWindow(service_id=rb.services["api"], name="patch night", starts_at=start,
                                ends_at=start + timedelta(hours=2), recurrence="weekly", timezone="UTC",
                                author="ops", reason="kernel updates", created_at=rb.now))
    a = send(rb, ev())[0].alert_id
    assert rb.rows(Alert)[0].suppressed_by == "maintenance"
    assert "patch night" in of_kind(rb, "maintenance")[0][1].reason
    rb.clock.advance(hours=1, minutes=1)
    assert release(rb) == 1
    assert [p.alert_id for p in rb.rows(PageRequest)] == [a]


def test_flapping_alert_pages_once_within_the_window(rb):
    for _ in range(4):
        send(rb, ev())
        rb.clock.advance(minutes=2)
        send(rb, ev("resolve"))
        rb.clock.advance(minutes=2)
    assert len(rb.rows(Alert)) == 4
    assert len(rb.rows(PageRequest)) == 1
    assert len(of_kind(rb, "flapping")) == 3
    rb.clock.advance(hours=1)
    send(rb, ev())
    assert len(rb.rows(PageRequest)) == 2, "after the flap window a new firing pages again"


def test_low_urgency_waits_for_support_hours(rb):
    with rb.db.unit_of_work() as s:
        s.get(Service, rb.services["api"]).alert_settings = {"support_hours": {
            "timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}}
    rb.clock.set(datetime.fromisoformat("2026-01-02T19:00:00+00:00"))  # Friday 20:00 in Berlin
    send(rb, ev(key="w", severity="warning"), ev(key="c", severity="critical"))
    pages = {p.urgency: p for p in rb.rows(PageRequest)}
    assert pages["high"].not_before == rb.now
    assert pages["low"].not_before == datetime.fromisoformat("2026-01-05T08:00:00+00:00")  # Monday 09:00 Berlin


def test_auto_incident_rule_declares_once_per_group_and_links_alerts(rb):
    with rb.db.unit_of_work() as s:
        s.add(AutoIncidentRule(name="tier-1 critical", matchers=[{"name": "tier", "op": "=", "value": "1"},
                                                                 {"name": "severity", "op": "=", "value": "critical"}],
                               incident_severity="SEV2", incident_kind="operational", created_at=rb.now))
    send(rb, ev(key="warn", severity="warning"))
    assert rb.rows(Incident) == []
    a = send(rb, ev(key="a"))[0].alert_id
    b = send(rb, ev(key="b"))[0].alert_id
    (inc,) = rb.rows(Incident)
    assert inc.severity == "SEV2" and inc.title == "a is broken"
    linked = {x.id: x.incident_id for x in rb.rows(Alert)}
    assert linked[a] == linked[b] == inc.id, "the second alert of the group joins the same incident"
    texts = [t.text for t in rb.timeline(inc.id, "alert_attached")]
    assert len(texts) == 2 and "a is broken" in texts[0]


def test_suppressed_alerts_do_not_declare_incidents(rb):
    with rb.db.unit_of_work() as s:
        s.add(AutoIncidentRule(name="all", matchers=[{"name": "severity", "op": "=", "value": "critical"}],
                               incident_severity="SEV3", incident_kind="operational", created_at=rb.now))
        s.add(Silence(matchers=[{"name": "service", "op": "=", "value": "api"}], starts_at=rb.now,
                      ends_at=rb.now + timedelta(hours=1), author="a", reason="r", created_at=rb.now))
    send(rb, ev())
    assert rb.rows(Incident) == []


def test_alerts_held_in_a_long_window_do_not_keep_newer_ones_from_paging(rb, monkeypatch):
    # Many alerts of one service sit out a long maintenance window; another service's alert was
    # silenced briefly. When its silence ends it must page, however many others are still held.
    import tocsin.pipeline.unsuppress as unsuppress

    monkeypatch.setattr(unsuppress, "BATCH", 2)
    other = rb.service("search")
    rb.policy((5, ["Alice"]), service="search")
    with rb.db.unit_of_work() as s:
        s.add(MaintenanceWindow(service_id=rb.services["api"], name="migration", starts_at=rb.now,
                                ends_at=rb.now + timedelta(days=2), author="ops", reason="db move",
                                created_at=rb.now))
        s.add(Silence(matchers=[{"name": "service", "op": "=", "value": "search"}], starts_at=rb.now,
                      ends_at=rb.now + timedelta(minutes=10), author="a", reason="r", created_at=rb.now))
    send(rb, *[ev(key=f"held-{n}") for n in range(5)])
    rb.clock.advance(minutes=1)
    (late,) = send(rb, ev(key="search-down"), service=other)
    rb.clock.advance(minutes=10)
    assert release(rb) == 1
    assert [p.alert_id for p in rb.rows(PageRequest)] == [late.alert_id]
