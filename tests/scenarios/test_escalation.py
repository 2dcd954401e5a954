"""Escalation as the people being paged meet it: who is notified, when, and why; acknowledge and
resolve stop it at once; a step selected before an ack cannot fire after it (fence epoch);
policies are snapshotted; schedules are asked who is on call at the moment of each step.

Runs on SQLite and PostgreSQL; time moves only with the ManualClock; the engine runs only
the escalation module. Notifications are outbox rows (delivery is another module's job).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts import service as alerts
from tocsin.flows import alerts as alert_flows
from tocsin.alerts.models import Alert, AlertDecision, PageRequest
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.escalation.steps import advance, due, escalations
from tocsin.clock import ManualClock
from tocsin.engine.runner import Engine
from tocsin.jobs import JobContext
from tocsin.escalation import service as esc_service
from tocsin.escalation.models import Escalation, Notification
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.oncall import service as oncall
from tocsin.principal import Principal
from tocsin.services.models import Service
from tocsin.users.models import User
from tocsin.principal import OrgRole


@pytest.fixture
def world(db, clock, system, make_person, make_service):
    """Alice, Bob and Carol (responders), the checkout service, and schedule 'primary' where Bob is on call."""
    people = {n: make_person("responder", name=n) for n in ("Alice", "Bob", "Carol")}
    make_service("checkout", tier=1)
    with db.unit_of_work() as s:
        primary = oncall.create_schedule(s, actor=system, now=clock.now(), name="Primary", slug="primary")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=primary, name="bob", kind="weekly",
                            timezone="UTC", start=clock.now() - timedelta(days=1), members=[people["Bob"].email])
    return people


def _service_id(s, slug):
    return s.execute(sa.select(Service.id).where(Service.slug == slug)).scalar_one()


class Runbook:
    """The verbs a scenario uses: set a policy, trigger, tick, ack, resolve, and look at what was written."""

    def __init__(self, db, clock, system, people):
        self.db, self.clock, self.system, self.people = db, clock, system, people
        self.engine = Engine(db, clock, modules=[("escalations", escalations)])

    def policy(self, *levels, repeat=0, slug="checkout-policy", service="checkout"):
        """levels: (delay_minutes, [target, ...]) where a target is a person's name or 'schedule:<slug>'."""
        specs = [{"delay_minutes": d, "targets": [
            {"type": "schedule", "slug": t.split(":", 1)[1]} if t.startswith("schedule:")
            else {"type": "user", "email": self.people[t].email} for t in targets]} for d, targets in levels]
        with self.db.unit_of_work() as s:
            p = esc_service.create_policy(s, actor=self.system, now=self.clock.now(), name=slug, slug=slug,
                                          levels=specs, repeat=repeat)
            if service:
                svc = _service_id(s, service)
                from tocsin.services.service import require_service
                esc_service.set_service_policy(s, actor=self.system, now=self.clock.now(),
                                               service=require_service(s, svc), policy=slug)
            return p.id

    def trigger(self, key="checkout-5xx", severity="critical", service="checkout"):
        with self.db.unit_of_work() as s:
            svc = _service_id(s, service)
            ev = Event(action=Action.trigger, dedup_key=key, summary=f"{key} is failing",
                       severity=AlertSeverity(severity), source="test", labels={})
            return ingest(s, [Incoming(ev, svc, None, "events_v2")], now=self.clock.now())[0].alert_id

    def tick(self, **advance):
        if advance:
            self.clock.advance(**advance)
        return self.engine.tick()

    def principal(self, name):
        p = self.people[name]
        return Principal(user_id=p.id, label=p.email, org_role=OrgRole.responder)

    def ack(self, alert_id, name):
        with self.db.unit_of_work() as s:
            alert_flows.acknowledge(s, alert=alerts.require_alert(s, alert_id), actor=self.principal(name),
                               now=self.clock.now())

    def resolve(self, alert_id, name):
        with self.db.unit_of_work() as s:
            alert_flows.resolve(s, alert=alerts.require_alert(s, alert_id), actor=self.principal(name),
                           now=self.clock.now())

    def pages(self):
        """[(minutes since the start, name)] of every page written, in order."""
        with self.db.unit_of_work() as s:
            rows = s.execute(sa.select(Notification.created_at, User.name).join(User, User.id == Notification.user_id)
                             .order_by(Notification.created_at, User.name)).all()
        return [(int((at - self.start).total_seconds() // 60), name) for at, name in rows]

    def escalation(self, alert_id):
        with self.db.unit_of_work() as s:
            e = s.execute(sa.select(Escalation).where(Escalation.alert_id == alert_id)).scalar_one()
            s.expunge(e)
            return e

    def reasons(self, alert_id, *kinds):
        with self.db.unit_of_work() as s:
            return [r for r in s.execute(sa.select(AlertDecision.reason).where(
                AlertDecision.alert_id == alert_id, AlertDecision.kind.in_(kinds))
                .order_by(AlertDecision.at, AlertDecision.id)).scalars()]


@pytest.fixture
def rb(db, clock, system, world):
    r = Runbook(db, clock, system, world)
    r.start = clock.now()
    return r


def test_two_levels_then_ack_stops_everything(rb):
    """critical alert on checkout → level 1 Alice is notified at once → 5 min pass, nobody acks →
    level 2 Bob (on call in schedule 'primary') is notified → Bob acks → 10 more minutes pass → nothing more."""
    rb.policy((5, ["Alice"]), (5, ["schedule:primary"]))
    alert = rb.trigger()
    rb.tick()
    assert rb.pages() == [(0, "Alice")]
    rb.tick(minutes=4)
    assert rb.pages() == [(0, "Alice")], "not before the level's delay"
    rb.tick(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")]
    assert rb.reasons(alert, "notified") == ["notified Alice (level 1: user) by email",
                                              "notified Bob (level 2: on call in schedule 'primary') by email"]
    assert rb.reasons(alert, "escalated") == ["escalated to level 2 of 2: nobody acknowledged within 5 min of level 1"]
    rb.clock.advance(minutes=1)
    rb.ack(alert, "Bob")
    e = rb.escalation(alert)
    assert (e.status, e.next_at) == ("stopped", None) and "acknowledged by" in e.stop_reason
    for _ in range(10):
        rb.tick(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")], "nothing is written after the ack"
    assert rb.reasons(alert, "escalation_stopped") == [f"escalation stopped: acknowledged by {rb.people['Bob'].email}"]


def test_repeat_twice_then_exhausted(rb):
    rb.policy((5, ["Alice"]), (10, ["Bob"]), repeat=2)
    alert = rb.trigger()
    for _ in range(60):
        rb.tick()
        rb.clock.advance(minutes=1)
    assert rb.pages() == [(0, "Alice"), (5, "Bob"), (15, "Alice"), (20, "Bob"), (30, "Alice"), (35, "Bob")]
    e = rb.escalation(alert)
    assert e.status == "exhausted" and e.next_at is None
    assert e.stop_reason == ("nobody acknowledged within 10 min of level 2, the last level; "
                             "exhausted: the policy ran 3 times (repeat 2)")
    escalated = rb.reasons(alert, "escalated")
    assert "the policy starts over (repeat 1 of 2)" in escalated[1]
    assert rb.reasons(alert, "escalation_exhausted") == [
        ("escalation exhausted: the policy ran 3 times (repeat 2): "
         "nobody acknowledged within 10 min of level 2, the last level")]
    with rb.db.unit_of_work() as s:
        exhausted_at = s.execute(sa.select(AlertDecision.at).where(
            AlertDecision.kind == "escalation_exhausted")).scalar_one()
    assert exhausted_at == rb.start + timedelta(minutes=45), "after the last level's own delay"


def test_ack_after_a_tick_selected_the_step_writes_nothing(rb, db, clock):
    """The Grafana OnCall #4654 class of bug: the engine picked the step, then Bob acked, then the step ran."""
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    clock.advance(minutes=5)
    ec = JobContext(db, clock, "engine-a", clock.now(), None)
    selected = due(ec)
    assert [a for _e, a, _inc, _epoch in selected] == [alert]
    rb.ack(alert, "Bob")
    assert [advance(ec, *row) for row in selected] == [0], "the fence (epoch) was moved by the ack"
    assert rb.pages() == [(0, "Alice")]
    assert rb.escalation(alert).status == "stopped"


def test_inbound_resolve_stops_the_escalation(rb):
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.clock.advance(minutes=2)
    with rb.db.unit_of_work() as s:  # the sender resolves it, through the pipeline
        svc = _service_id(s, "checkout")
        ev = Event(action=Action.resolve, dedup_key="checkout-5xx", summary="ok", source="test", labels={})
        ingest(s, [Incoming(ev, svc, None, "events_v2")], now=rb.clock.now())
    e = rb.escalation(alert)
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
    assert rb.escalation(alert).stop_reason == f"resolved by {rb.people['Alice'].email}"


def test_a_service_without_a_policy_records_not_paged(rb, db):
    alert = rb.trigger()
    rb.tick()
    assert rb.pages() == []
    assert rb.reasons(alert, "not_paged") == ["service checkout has no escalation policy"]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(PageRequest.status)).scalars().all() == ["taken"]


def test_an_alert_acked_before_its_page_request_is_taken_is_never_paged(rb, db):
    rb.policy((5, ["Alice"]))
    alert = rb.trigger()
    rb.ack(alert, "Alice")
    rb.tick()
    assert rb.pages() == []
    with db.unit_of_work() as s:
        assert s.execute(sa.select(PageRequest.status)).scalars().all() == ["cancelled"]
        assert s.execute(sa.select(sa.func.count()).select_from(Escalation)).scalar_one() == 0


def test_schedule_handoff_between_levels_picks_the_new_on_call(rb, db, clock, system):
    with db.unit_of_work() as s:
        follow = oncall.create_schedule(s, actor=system, now=clock.now(), name="Follow", slug="follow")
        # daily handoff at 12:03 UTC: Bob until 12:03 today, then Carol
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=follow, name="day", kind="daily",
                            timezone="UTC", start=clock.now() - timedelta(days=1) + timedelta(minutes=3),
                            members=[rb.people["Bob"].email, rb.people["Carol"].email])
    rb.policy((5, ["schedule:follow"]), (5, ["schedule:follow"]))
    alert = rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    assert rb.pages() == [(0, "Bob"), (5, "Carol")]
    assert rb.reasons(alert, "notified")[1] == "notified Carol (level 2: on call in schedule 'follow') by email"


def test_an_override_taken_mid_escalation_pages_the_override_not_the_rotation(rb, db, clock, system):
    # Runbook: Bob is on call; the alert pages him; at minute 2 Carol takes the next hour as an
    # override; at minute 5 level 2 (the schedule again) pages Carol, not Bob.
    rb.policy((5, ["schedule:primary"]), (5, ["schedule:primary"]))
    alert = rb.trigger()
    rb.tick()
    clock.advance(minutes=2)
    with db.unit_of_work() as s:
        oncall.create_override(s, actor=system, now=clock.now(), schedule=oncall.get_schedule(s, "primary"),
                               starts_at=clock.now(), ends_at=clock.now() + timedelta(hours=1),
                               user=rb.people["Carol"].email)
    rb.tick(minutes=3)
    assert rb.pages() == [(0, "Bob"), (5, "Carol")]
    assert rb.reasons(alert, "notified")[1] == "notified Carol (level 2: on call in schedule 'primary') by email"


@pytest.mark.parametrize("start_utc, before, after", [
    # America/Chicago springs forward on 2026-03-08 (CST -6 → CDT -5): the 09:00 handoff is 14:00 UTC that day
    (datetime(2026, 3, 8, 13, 58, tzinfo=UTC), "Carol", "Bob"),
    # ... and falls back on 2026-11-01 (CDT -5 → CST -6): the 09:00 handoff is 15:00 UTC that day
    (datetime(2026, 11, 1, 14, 58, tzinfo=UTC), "Carol", "Bob"),
])
def test_a_handoff_on_a_dst_change_day_is_at_local_time(db, system, world, start_utc, before, after):
    # A daily Chicago rotation hands off at 09:00 local time. An alert two minutes before the handoff
    # pages the outgoing person; level 2, five minutes later, pages the incoming one. A handoff
    # computed in UTC (or with yesterday's offset) would page the same person twice.
    clock = ManualClock(start_utc)
    rb = Runbook(db, clock, system, world)
    rb.start = clock.now()
    with db.unit_of_work() as s:
        sched = oncall.create_schedule(s, actor=system, now=clock.now(), name="Chicago", slug="chicago",
                                       timezone="America/Chicago")
        # Bob from 2026-01-01 09:00 Chicago, Carol the next day, alternating
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=sched, name="day", kind="daily",
                            timezone="America/Chicago", start=datetime(2026, 1, 1, 15, 0, tzinfo=UTC),
                            members=[world["Bob"].email, world["Carol"].email])
    rb.policy((5, ["schedule:chicago"]), (5, ["schedule:chicago"]))
    rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    assert rb.pages() == [(0, before), (5, after)]


def test_an_empty_schedule_falls_through_to_the_other_targets_with_the_reason(rb, db, clock, system):
    with db.unit_of_work() as s:
        oncall.create_schedule(s, actor=system, now=clock.now(), name="Empty", slug="empty")
    rb.policy((5, ["schedule:empty", "Alice"]))
    alert = rb.trigger()
    rb.tick()
    assert rb.pages() == [(0, "Alice")]
    assert rb.reasons(alert, "not_notified") == [
        "level 1: schedule 'empty' has nobody on call; falling through to the level's other targets"]


def test_editing_the_policy_mid_escalation_does_not_change_the_running_one(rb, db, clock, system):
    pid = rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    with db.unit_of_work() as s:
        esc_service.update_policy(s, actor=system, now=clock.now(), policy=esc_service.require_policy(s, pid),
                                  levels=[{"delay_minutes": 1, "targets": [
                                      {"type": "user", "email": rb.people["Carol"].email}]}])
    rb.tick(minutes=5)
    assert rb.pages() == [(0, "Alice"), (5, "Bob")], "the running escalation follows its snapshot"
    rb.trigger(key="new-alert")
    rb.tick()
    assert rb.pages()[-1] == (5, "Carol"), "a new escalation takes the edited policy"
    assert rb.escalation(alert).policy_snapshot["levels"][1]["delay_minutes"] == 5


def test_a_tick_run_twice_at_the_same_now_writes_no_duplicates(rb, db, clock):
    rb.policy((5, ["Alice", "schedule:primary"]), (5, ["Bob"]))
    alert = rb.trigger()
    ec = JobContext(db, clock, "engine-a", clock.now(), None)
    assert escalations(ec) == 2  # one page request taken, one step
    stale = (rb.escalation(alert).id, alert, None, 0)
    assert escalations(JobContext(db, clock, "engine-b", clock.now(), None)) == 0
    assert advance(ec, *stale) == 0, "a retried step with an old epoch is fenced off"
    assert rb.pages() == [(0, "Alice"), (0, "Bob")]
    with db.unit_of_work() as s:
        keys = s.execute(sa.select(Notification.idempotency_key)).scalars().all()
        assert all(k.startswith(f"{stale[0]}:0:") for k in keys) and len(set(keys)) == 2


def test_the_escalation_module_runs_in_the_engine_order():
    from tocsin.engine.modules import ORDER

    assert ("escalations", escalations) in ORDER


def test_alerts_still_triggered_keep_their_status(rb, db):
    rb.policy((5, ["Alice"]))
    alert = rb.trigger()
    rb.tick()
    with db.unit_of_work() as s:
        assert s.get(Alert, alert).status == "triggered"


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
