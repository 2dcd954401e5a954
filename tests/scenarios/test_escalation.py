"""Escalation as the people being paged meet it: who is notified, when, and why; acknowledge and
resolve stop it at once; a step selected before an ack cannot fire after it (fence epoch);
policies are snapshotted; schedules are asked who is on call at the moment of each step.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, time moves
only with the ManualClock, the whole engine ticks. Pages are read as outbox rows (`pages()`:
minute and person) and as the decisions written with their reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts.models import AlertDecision, PageRequest
from tocsin.alerts.service import expand_decisions
from tocsin.escalation.models import Escalation, Notification
from tocsin.escalation.steps import advance, due, escalations
from tocsin.jobs import JobContext
from tocsin.services.models import Service


@pytest.fixture
def rb(runbook):
    """Alice, Bob and Carol (responders), the checkout service (paging per alert: these scenarios follow
    one alert's escalation), and schedule 'primary' where Bob is on call."""
    for name in ("Alice", "Bob", "Carol"):
        runbook.person(name)
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.schedule("primary", "Bob", start=runbook.now - timedelta(days=1))
    return runbook


def test_two_levels_then_ack_stops_everything(rb):
    """critical alert on checkout → level 1 Alice is notified at once → 5 min pass, nobody acks →
    level 2 Bob (on call in schedule 'primary') is notified → Bob acks → 10 more minutes pass → nothing more."""
    rb.policy((5, ["Alice"]), (5, ["schedule:primary"]))
    alert = rb.trigger()
    rb.tick()
    assert rb.pages() == [(0, "Alice")]
    rb.expect_email("Alice", "checkout-5xx is failing")
    rb.tick(minutes=4)
    assert rb.pages() == [(0, "Alice")], "not before the level's delay"
    rb.tick(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")]
    rb.expect_email("Bob", "checkout-5xx is failing")
    assert rb.decisions(alert, "notified") == ["notified Alice (level 1: user) by email",
                                               "notified Bob (level 2: on call in schedule 'primary') by email"]
    assert rb.decisions(alert, "escalated") == [
        "escalated to level 2 of 2: nobody acknowledged within 5 min of level 1"]
    rb.clock.advance(minutes=1)
    rb.ack(alert, "Bob")
    e = rb.escalation(alert_id=alert)
    assert (e.status, e.next_at) == ("stopped", None) and "acknowledged by" in e.stop_reason
    for _ in range(10):
        rb.tick(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")], "nothing is written after the ack"
    rb.expect_nothing_more()
    assert rb.decisions(alert, "escalation_stopped") == [
        f"escalation stopped: acknowledged by {rb.people['Bob'].email}"]


def test_repeat_twice_then_exhausted(rb, db):
    rb.policy((5, ["Alice"]), (10, ["Bob"]), repeat=2)
    alert = rb.trigger()
    for _ in range(60):
        rb.tick()
        rb.clock.advance(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob"), (15, "Alice"), (20, "Bob"), (30, "Alice"), (35, "Bob")]
    e = rb.escalation(alert_id=alert)
    assert e.status == "exhausted" and e.next_at is None
    assert e.stop_reason == ("nobody acknowledged within 10 min of level 2, the last level; "
                             "exhausted: the policy ran 3 times (repeat 2)")
    escalated = rb.decisions(alert, "escalated")
    assert "the policy starts over (repeat 1 of 2)" in escalated[1]
    assert rb.decisions(alert, "escalation_exhausted") == [
        ("escalation exhausted: the policy ran 3 times (repeat 2): "
         "nobody acknowledged within 10 min of level 2, the last level")]
    with db.unit_of_work() as s:
        exhausted_at = s.execute(sa.select(AlertDecision.at).where(
            AlertDecision.kind == "escalation_exhausted")).scalar_one()
    assert exhausted_at == rb.start + timedelta(minutes=45), "after the last level's own delay"


def test_ack_after_a_tick_selected_the_step_writes_nothing(rb, db, clock):
    """The Grafana OnCall #4654 class of bug: the engine picked the step, then Bob acked, then the step ran."""
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    clock.advance(minutes=5)
    ec = JobContext(db, clock, "engine-a", clock.now(), rb.settings)
    selected = due(ec)
    assert [a for _e, a, _inc, _epoch in selected] == [alert]
    rb.ack(alert, "Bob")
    assert [advance(ec, *row) for row in selected] == [0], "the fence (epoch) was moved by the ack"
    assert rb.pages() == [(0, "Alice")]
    assert rb.escalation(alert_id=alert).status == "stopped"


def test_inbound_resolve_stops_the_escalation(rb):
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.clock.advance(minutes=2)
    rb.source_resolves("checkout-5xx")  # the sender resolves it, through the pipeline
    e = rb.escalation(alert_id=alert)
    assert (e.status, e.stop_reason) == ("stopped", "the alert was resolved")
    rb.tick(minutes=10)
    assert rb.pages() == [(0, "Alice")]


def test_resolve_by_hand_stops_the_escalation(rb):
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.clock.advance(minutes=3)
    rb.resolve(alert, "Alice")
    rb.tick(minutes=10)
    assert rb.pages() == [(0, "Alice")]
    assert rb.escalation(alert_id=alert).stop_reason == f"resolved by {rb.people['Alice'].email}"


def not_paged(db, alert_id) -> list[str]:
    with db.unit_of_work() as s:
        rows = s.execute(sa.select(AlertDecision).where(AlertDecision.alert_id == alert_id)
                         .order_by(AlertDecision.at, AlertDecision.id)).scalars().all()
        return [d.reason for d in expand_decisions(rows) if d.kind == "not_paged"]


def test_a_service_without_a_policy_records_not_paged_at_ingest(rb, db):
    alert = rb.trigger()
    # decided in the ingest transaction: no page request is left for the engine to take
    assert not_paged(db, alert) == ["service checkout has no escalation policy"]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(PageRequest.status)).scalars().all() == []
    rb.tick()
    assert rb.pages() == []
    assert not_paged(db, alert) == ["service checkout has no escalation policy"], "said once"


def test_a_policy_detached_after_the_page_request_is_still_recorded_not_paged(rb, db):
    rb.policy((5, ["Alice"]))
    alert = rb.trigger()
    with db.unit_of_work() as s:
        s.execute(sa.update(Service).values(escalation_policy_id=None))
    rb.tick()
    assert rb.pages() == []
    assert not_paged(db, alert) == ["service checkout has no escalation policy"]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(PageRequest.status)).scalars().all() == ["taken"]


def test_page_requests_of_services_with_a_policy_are_taken_before_older_noise(rb, db, monkeypatch):
    # `noise` had a policy when its alerts fired, then lost it: its page requests are older than
    # checkout's, and the engine takes one request per tick here. The real page goes first.
    from tocsin.escalation import steps

    monkeypatch.setattr(steps, "PAGE_BATCH", 1)
    monkeypatch.setattr(steps, "PAGE_UNIT", 1)
    rb.policy((5, ["Alice"]))
    rb.service("noise")
    rb.policy((5, ["Bob"]), service="noise")
    noise = [rb.trigger(f"noise-{n}", service="noise") for n in range(3)]
    with db.unit_of_work() as s:
        s.execute(sa.update(Service).where(Service.slug == "noise").values(escalation_policy_id=None))
    rb.clock.advance(seconds=1)
    real = rb.trigger()
    engine = rb.new_engine("escalations")
    engine.tick()
    assert rb.pages() == [(0, "Alice")]
    assert not_paged(db, real) == [] and all(not_paged(db, a) == [] for a in noise)
    engine.run_until_idle()
    assert [not_paged(db, a) for a in noise] == [["service noise has no escalation policy"]] * 3
    assert rb.pages() == [(0, "Alice")]


def test_an_alert_acked_before_its_page_request_is_taken_is_never_paged(rb, db):
    rb.policy((5, ["Alice"]))
    alert = rb.trigger()
    rb.ack(alert, "Alice")
    rb.tick()
    assert rb.pages() == []
    with db.unit_of_work() as s:
        assert s.execute(sa.select(PageRequest.status)).scalars().all() == ["cancelled"]
        assert s.execute(sa.select(sa.func.count()).select_from(Escalation)).scalar_one() == 0


def test_schedule_handoff_between_levels_picks_the_new_on_call(rb):
    # daily handoff at 12:03 UTC: Bob until 12:03 today, then Carol
    rb.schedule("follow", "Bob", "Carol", kind="daily", start=rb.now - timedelta(days=1) + timedelta(minutes=3))
    rb.policy((5, ["schedule:follow"]), (5, ["schedule:follow"]))
    alert = rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    assert rb.pages() == [(0, "Bob"), (5, "Carol")]
    assert rb.decisions(alert, "notified")[1] == "notified Carol (level 2: on call in schedule 'follow') by email"


def test_an_override_taken_mid_escalation_pages_the_override_not_the_rotation(rb):
    # Runbook: Bob is on call; the alert pages him; at minute 2 Carol takes the next hour as an
    # override; at minute 5 level 2 (the schedule again) pages Carol, not Bob.
    rb.policy((5, ["schedule:primary"]), (5, ["schedule:primary"]))
    alert = rb.trigger()
    rb.tick()
    rb.clock.advance(minutes=2)
    rb.override("primary", "Carol", rb.now, rb.now + timedelta(hours=1))
    rb.tick(minutes=3)
    assert rb.pages() == [(0, "Bob"), (5, "Carol")]
    assert rb.decisions(alert, "notified")[1] == "notified Carol (level 2: on call in schedule 'primary') by email"


@pytest.mark.parametrize("start_utc, before, after", [
    # America/Chicago springs forward on 2026-03-08 (CST -6 → CDT -5): the 09:00 handoff is 14:00 UTC that day
    (datetime(2026, 3, 8, 13, 58, tzinfo=UTC), "Carol", "Bob"),
    # ... and falls back on 2026-11-01 (CDT -5 → CST -6): the 09:00 handoff is 15:00 UTC that day
    (datetime(2026, 11, 1, 14, 58, tzinfo=UTC), "Carol", "Bob"),
])
def test_a_handoff_on_a_dst_change_day_is_at_local_time(rb, start_utc, before, after):
    # A daily Chicago rotation hands off at 09:00 local time. An alert two minutes before the handoff
    # pages the outgoing person; level 2, five minutes later, pages the incoming one. A handoff
    # computed in UTC (or with yesterday's offset) would page the same person twice.
    rb.clock.set(start_utc)
    rb.start = rb.now
    # Bob from 2026-01-01 09:00 Chicago, Carol the next day, alternating
    rb.schedule("chicago", "Bob", "Carol", kind="daily", timezone="America/Chicago",
                start=datetime(2026, 1, 1, 15, 0, tzinfo=UTC))
    rb.policy((5, ["schedule:chicago"]), (5, ["schedule:chicago"]))
    rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    assert rb.pages() == [(0, before), (5, after)]


def test_an_empty_schedule_falls_through_to_the_other_targets_with_the_reason(rb):
    rb.schedule("empty")
    rb.policy((5, ["schedule:empty", "Alice"]))
    alert = rb.trigger()
    rb.tick()
    assert rb.pages() == [(0, "Alice")]
    assert rb.decisions(alert, "not_notified") == [
        "level 1: schedule 'empty' has nobody on call; falling through to the level's other targets"]


def test_editing_the_policy_mid_escalation_does_not_change_the_running_one(rb):
    pid = rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.edit_policy(pid, (1, ["Carol"]))
    rb.tick(minutes=5)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")], "the running escalation follows its snapshot"
    rb.trigger(key="new-alert")
    rb.tick()
    assert rb.pages()[-1] == (5, "Carol"), "a new escalation takes the edited policy"
    assert rb.escalation(alert_id=alert).policy_snapshot["levels"][1]["delay_minutes"] == 5


def test_a_tick_run_twice_at_the_same_now_writes_no_duplicates(rb, db, clock):
    rb.policy((5, ["Alice", "schedule:primary"]), (5, ["Bob"]))
    alert = rb.trigger()
    ec = JobContext(db, clock, "engine-a", clock.now(), rb.settings)
    assert escalations(ec) == 2  # one page request taken, one step
    stale = (rb.escalation(alert_id=alert).id, alert, None, 0)
    assert escalations(JobContext(db, clock, "engine-b", clock.now(), rb.settings)) == 0
    assert advance(ec, *stale) == 0, "a retried step with an old epoch is fenced off"
    assert rb.pages() == [(0, "Alice"), (0, "Bob")]
    with db.unit_of_work() as s:
        keys = s.execute(sa.select(Notification.idempotency_key)).scalars().all()
        assert all(k.startswith(f"{stale[0]}:0:") for k in keys) and len(set(keys)) == 2


def test_the_escalation_module_runs_in_the_engine_order():
    from tocsin.engine.modules import ORDER

    assert "escalations" in dict(ORDER)


def test_alerts_still_triggered_keep_their_status(rb):
    rb.policy((5, ["Alice"]))
    alert = rb.trigger()
    rb.tick()
    assert rb.alert(alert).status == "triggered"


# --- the pure planner, table-driven ---------------------------------------------------------------

def _snap(repeat=0, delays=(5, 10)):
    from tocsin.escalation import plan

    return plan.snapshot([{"delay_minutes": d, "targets": [{"type": "user", "id": f"u{i}"}]}
                          for i, d in enumerate(delays)], repeat, slug="p")


@pytest.mark.parametrize(("repeat", "level", "loop", "want_next", "after", "reason"), [
    (0, 0, 0, (1, 0), 5, "level 1 of 2: the alert needs paging"),
    (0, 1, 0, (2, 0), 10, "level 2 of 2: nobody acknowledged within 5 min of level 1"),
    (0, 2, 0, None, None, "nobody acknowledged within 10 min of level 2, the last level"),
    (1, 1, 0, (0, 1), 10, "level 2 of 2, run 1 of 2: nobody acknowledged within 5 min of level 1"),
    (1, 0, 1, (1, 1), 5, ("level 1 of 2, run 2 of 2: nobody acknowledged within 10 min of level 2; "
                          "the policy starts over (repeat 1 of 1)")),
    (1, 1, 1, (2, 1), 10, "level 2 of 2, run 2 of 2: nobody acknowledged within 5 min of level 1"),
])
def test_plan_step(clock, repeat, level, loop, want_next, after, reason):
    from tocsin.escalation import plan

    now = clock.now()
    st = plan.step(_snap(repeat), level, loop, now)
    assert st.reason == reason
    if want_next is None:
        assert st.exhausted and st.targets == () and st.then.startswith("exhausted")
    else:
        assert (st.next_level, st.next_loop, st.next_at) == (*want_next, now + timedelta(minutes=after))
        assert st.targets == ({"type": "user", "id": f"u{level}"},)


def test_plan_without_levels_is_exhausted_at_once(clock):
    from tocsin.escalation import plan

    st = plan.step(plan.snapshot([], 3), 0, 0, clock.now())
    assert st.exhausted and st.reason == "the policy has no levels"
