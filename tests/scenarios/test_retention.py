"""Storage stays bounded: the retention job deletes what has been kept long enough, and never what
an open alert, an open incident or an unsent message still needs (docs/operations.md, Retention).

Every test runs the real engine module on both backends with the ManualClock moved months ahead.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tocsin.alerts.models import AlertDecision, AlertEvent
from tocsin.checks.models import Check, CheckResult
from tocsin.contacts.models import UsedLink
from tocsin.engine.retention import BATCHES
from tocsin.escalation.models import Notification
from tocsin.statuspage.models import StatusPage, StatusSubscriber, SubscriberDelivery
from tocsin.users.models import Throttle


def count(rb: Any, model: Any, *where: Any) -> int:
    with rb.db.unit_of_work() as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one())


def history(rb: Any, alert_id: uuid.UUID, until: datetime | None = None) -> tuple[int, int, int]:
    """(events, decisions, notifications) kept about the alert (written up to `until`)."""
    until = until or datetime.max.replace(tzinfo=UTC)
    return (count(rb, AlertEvent, AlertEvent.alert_id == alert_id, AlertEvent.received_at <= until),
            count(rb, AlertDecision, AlertDecision.alert_id == alert_id, AlertDecision.at <= until),
            count(rb, Notification, Notification.alert_id == alert_id, Notification.created_at <= until))


def test_history_goes_months_after_resolution_and_open_work_keeps_its_own(rb):
    alice = rb.as_("Alice")
    over = rb.trigger("disk-full")
    firing = rb.trigger("checkout-5xx")
    in_incident = rb.trigger("db-latency")
    later = rb.trigger("cache-misses")
    incident = alice.post("/incidents", title="Database latency", severity="SEV3")
    alice.post(f"/alerts/{in_incident}/attach", 200, incident=incident["ref"])
    rb.tick()  # Alice is paged for every alert
    assert all(history(rb, a)[2] for a in (over, firing, in_incident, later))
    rb.tick(minutes=2)
    rb.source_resolves("disk-full")
    rb.source_resolves("db-latency")
    rb.tick(days=60)
    rb.source_resolves("cache-misses")  # resolved 60 days in: 31 days ago when the others are 91 days old
    day60 = rb.now
    kept = {a: history(rb, a, day60) for a in (firing, in_incident, later)}

    rb.tick(days=31)
    rb.run_until_idle()

    assert history(rb, over) == (0, 0, 0)
    assert rb.alert(over).status == "resolved"  # the alert itself stays for reports and dedup history
    for alert_id, before in kept.items():  # still open, its incident still open, resolved only 31 days ago
        assert history(rb, alert_id, day60) == before

    alice.patch(f"/incidents/{incident['ref']}", status="resolved")
    rb.tick(minutes=2)
    assert history(rb, in_incident, day60) == kept[in_incident]  # a resolved incident still waits for its postmortem
    alice.patch(f"/incidents/{incident['ref']}", status="closed")
    rb.tick(minutes=2)
    assert history(rb, in_incident) == (0, 0, 0)
    assert history(rb, firing, day60) == kept[firing]


def test_batches_are_bounded_and_unapplied_events_and_unsent_messages_stay(rb):
    rb.configure(retention_batch=7)
    keys = [f"node-{i}-down" for i in range(30)]
    rb.ingest(*[rb.event(k) for k in keys])
    rb.ingest(*[rb.event(k, action="resolve") for k in keys])
    service = rb.services["checkout"]
    with rb.db.unit_of_work() as s:  # an event the pipeline has not applied yet, and a reminder not yet sent
        s.add(AlertEvent(service_id=service, source="events_v2", action="trigger", dedup_key="late",
                         received_at=rb.now, body={}, outcome=None))
        s.add(Notification(user_id=rb.people["Alice"].id, channel="email", destination="alice@example.com",
                           kind="reminder", subject="due", body="due", idempotency_key="retention-test",
                           status="queued", created_at=rb.now, send_after=rb.now + timedelta(days=400)))
    applied = count(rb, AlertEvent, AlertEvent.outcome.is_not(None))
    assert applied == 2 * len(keys)
    engine = rb.new_engine("retention")
    rb.clock.advance(days=91)

    done = engine.tick()["retention"]

    # each kind gets BATCHES transactions of at most retention_batch rows per tick
    assert count(rb, AlertEvent, AlertEvent.outcome.is_not(None)) == applied - BATCHES * 7
    assert done >= BATCHES * 7
    for _ in range(20):
        if not engine.tick()["retention"]:
            break
    assert count(rb, AlertEvent, AlertEvent.outcome.is_not(None)) == 0
    assert count(rb, AlertDecision) == 0
    assert count(rb, AlertEvent) == 1  # the unapplied one
    assert count(rb, Notification, Notification.status == "queued") == 1


def _check_and_subscriber(rb: Any) -> tuple[uuid.UUID, uuid.UUID]:
    now = rb.now
    with rb.db.unit_of_work() as s:
        check = Check(service_id=rb.services["checkout"], name="home", kind="tcp", target="127.0.0.1:9",
                      interval_seconds=60, timeout_seconds=5, created_at=now, next_run_at=now + timedelta(days=9999),
                      enabled=False)
        page = StatusPage(slug="acme", name="Acme", created_at=now, updated_at=now)
        s.add_all([check, page])
        s.flush()
        sub = StatusSubscriber(page_id=page.id, kind="email", address="x@example.com",
                               unsubscribe_token_hash=uuid.uuid4().hex, created_at=now, confirmed_at=now)
        s.add(sub)
        s.flush()
        return check.id, sub.id


def _old_rows(rb: Any, check_id: uuid.UUID, sub_id: uuid.UUID) -> None:
    now = rb.now
    with rb.db.unit_of_work() as s:
        s.add_all([CheckResult(check_id=check_id, at=now - timedelta(minutes=i), ok=True) for i in range(5)])
        s.add_all([SubscriberDelivery(subscriber_id=sub_id, kind="update", next_attempt_at=now, created_at=now,
                                      sent_at=now if i % 2 else None, failed_at=None) for i in range(4)])
        s.add(Throttle(key=uuid.uuid4().hex, kind="login", failures=3, last_failure_at=now))
        s.add(UsedLink(digest=uuid.uuid4().hex, used_at=now, expires_at=now + timedelta(hours=24)))


def test_zero_keeps_everything_and_defaults_prune_every_kind(rb):
    rb.configure(retention_alert_days=0, retention_notification_days=0, retention_check_result_days=0,
                 retention_delivery_days=0)
    over = rb.trigger("disk-full")
    rb.tick()
    rb.source_resolves("disk-full")
    check_id, sub_id = _check_and_subscriber(rb)
    _old_rows(rb, check_id, sub_id)
    kept = history(rb, over)
    assert all(kept)

    rb.clock.advance(days=3650)
    engine = rb.new_engine("retention")
    engine.run_until_idle()

    assert history(rb, over) == kept
    assert count(rb, CheckResult) == 5
    assert count(rb, SubscriberDelivery) == 4
    # counters of wrong guesses and used links go once expired, whatever the day settings say
    assert count(rb, Throttle) == 0
    assert count(rb, UsedLink) == 0


def test_default_settings_prune_check_results_and_sent_deliveries_but_not_queued_ones(rb):
    check_id, sub_id = _check_and_subscriber(rb)
    _old_rows(rb, check_id, sub_id)
    engine = rb.new_engine("retention")
    rb.clock.advance(hours=2)  # the throttle forgotten, the link still valid
    engine.run_until_idle()
    assert (count(rb, CheckResult), count(rb, SubscriberDelivery), count(rb, Throttle), count(rb, UsedLink)) == \
        (5, 4, 0, 1)

    rb.clock.advance(days=31)
    engine.tick()
    assert count(rb, CheckResult) == 0  # 30 days by default
    assert count(rb, SubscriberDelivery) == 4
    assert count(rb, UsedLink) == 0

    rb.clock.advance(days=60)
    engine.tick()
    assert count(rb, SubscriberDelivery) == 2  # 90 days by default; the two never sent stay
    assert count(rb, SubscriberDelivery, SubscriberDelivery.sent_at.is_(None)) == 2
