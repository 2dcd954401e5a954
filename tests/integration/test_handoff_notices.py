"""Hand-off notices (escalation/handoff.py): "You go on call for <schedule> in 1 h" an hour before a
shift starts and "You are now off call" when it ends, written once into the notifications outbox,
through the person's low-urgency routes; a person who turned them off gets nothing. Run as the
engine runs them, with the injectable clock; a restarted engine (fresh job state) sends nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.escalation.handoff import handoffs, notify_handoffs
from tocsin.escalation.models import Notification
from tocsin.jobs import JobContext
from tocsin.oncall import service as oncall
from tocsin.users.models import User
from tocsin.users.service import require_user, update_user

MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _schedule(db, system, now, members, *, timezone="UTC", start=MONDAY_9, name="Primary"):
    with db.unit_of_work() as s:
        schedule = oncall.create_schedule(s, actor=system, now=now, name=name, slug=name.lower())
        oncall.create_layer(s, actor=system, now=now, schedule=schedule, name="daily", kind="daily",
                            timezone=timezone, start=start, members=[str(m) for m in members])


def _notices(db) -> list[Notification]:
    with db.unit_of_work() as s:
        rows = list(s.execute(sa.select(Notification).where(Notification.kind == "handoff")
                              .order_by(Notification.created_at, Notification.subject)).scalars())
        s.expunge_all()
        return rows


def _run(db, clock, at: datetime, shared: dict[str, object] | None = None) -> int:
    clock.set(at)
    return handoffs(JobContext(db, clock, "test-engine", at, Settings(secret_key="test"), shared))


def test_going_on_call_in_an_hour_is_told_once_and_going_off_call_after_the_shift(db, clock, system, make_person):
    ann, bob = make_person(name="Ann"), make_person(name="Bob")
    _schedule(db, system, MONDAY_9 - timedelta(days=1), [ann.id, bob.id])  # Ann from Mon 09:00, Bob from Tue 09:00

    assert _run(db, clock, datetime(2026, 1, 6, 7, 59, tzinfo=UTC)) == 0, "61 minutes before: not yet"
    shared: dict[str, object] = {}
    assert _run(db, clock, datetime(2026, 1, 6, 8, 0, tzinfo=UTC), shared) == 1
    [on] = _notices(db)
    assert (on.user_id, on.channel, on.destination, on.status) == (bob.id, "email", bob.email, "queued")
    assert on.subject == "You go on call for Primary in 1 h"
    assert "from Tue 6 Jan 09:00 UTC until Wed 7 Jan 09:00 UTC" in on.body

    # the same tick again, a later tick, and an engine restarted with no memory: nothing more
    assert _run(db, clock, datetime(2026, 1, 6, 8, 0, tzinfo=UTC), shared) == 0
    assert _run(db, clock, datetime(2026, 1, 6, 8, 40, tzinfo=UTC)) == 0
    assert len(_notices(db)) == 1

    assert _run(db, clock, datetime(2026, 1, 6, 9, 0, 30, tzinfo=UTC)) == 1
    off = [n for n in _notices(db) if n.user_id == ann.id]
    assert [n.subject for n in off] == ["You are now off call for Primary"]
    assert "your shift ended Tue 6 Jan 09:00 UTC" in off[0].body
    assert _run(db, clock, datetime(2026, 1, 6, 9, 5, tzinfo=UTC)) == 0, "Bob, on call since 09:00, was told already"


def test_the_job_looks_twice_a_minute_not_every_tick(db, clock, system, make_person):
    ann, bob = make_person(), make_person()
    _schedule(db, system, MONDAY_9, [ann.id, bob.id])
    shared: dict[str, object] = {}
    assert _run(db, clock, datetime(2026, 1, 6, 7, 59, 50, tzinfo=UTC), shared) == 0
    assert _run(db, clock, datetime(2026, 1, 6, 8, 0, 5, tzinfo=UTC), shared) == 0, "looked 15 s ago"
    assert _run(db, clock, datetime(2026, 1, 6, 8, 0, 20, tzinfo=UTC), shared) == 1


def test_a_person_who_turned_them_off_is_told_nothing(db, clock, system, make_person):
    ann, bob = make_person(), make_person()
    _schedule(db, system, MONDAY_9, [ann.id, bob.id])
    with db.unit_of_work() as s:
        for who in (ann, bob):
            update_user(s, actor=system, now=clock.now(), user=require_user(s, who.id), handoff_notices=False)
    for at in (datetime(2026, 1, 6, 8, 0, tzinfo=UTC), datetime(2026, 1, 6, 9, 1, tzinfo=UTC)):
        assert _run(db, clock, at) == 0
    assert _notices(db) == []


def test_notices_go_through_the_low_urgency_rules_that_send_at_once(db, clock, system, make_person):
    ann, bob = make_person(), make_person()
    _schedule(db, system, MONDAY_9, [ann.id, bob.id])
    now = clock.now()
    with db.unit_of_work() as s:
        sms = ContactMethod(user_id=bob.id, type="sms", address="+14155550100", label="", created_at=now,
                            verified_at=now, verify_attempts=0)
        chat = ContactMethod(user_id=bob.id, type="slack", address="U0123456", label="", created_at=now,
                             verified_at=now, verify_attempts=0)
        s.add_all([sms, chat])
        s.flush()
        s.add_all([NotificationRule(user_id=bob.id, contact_method_id=sms.id, delay_minutes=0, urgency="high",
                                    created_at=now),
                   NotificationRule(user_id=bob.id, contact_method_id=chat.id, delay_minutes=0, urgency="low",
                                    created_at=now)])
    assert _run(db, clock, datetime(2026, 1, 6, 8, 0, tzinfo=UTC)) == 1
    assert [(n.channel, n.destination) for n in _notices(db)] == [("slack", "U0123456")]


def test_across_the_spring_dst_change_the_notice_comes_an_hour_before_local_nine(db, clock, system, make_person):
    """A daily 09:00 Europe/Berlin rotation: 08:00 UTC on Saturday 28 March 2026 (CET), 07:00 UTC on
    Sunday 29 March (CEST). The notice comes an hour before each, and says 09:00 in the person's zone."""
    ann, bob = make_person(), make_person()
    with db.unit_of_work() as s:
        require_user(s, ann.id).time_zone = "Europe/Berlin"
    start = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)  # a Friday, 09:00 CET: Ann, then Bob, then Ann...
    _schedule(db, system, start, [ann.id, bob.id], timezone="Europe/Berlin", start=start)
    assert _run(db, clock, datetime(2026, 3, 28, 6, 59, tzinfo=UTC)) == 0
    assert _run(db, clock, datetime(2026, 3, 28, 7, 0, tzinfo=UTC)) == 1
    [ann_on] = _notices(db)
    assert (ann_on.user_id, ann_on.subject) == (ann.id, "You go on call for Primary in 1 h")
    assert "from Sat 28 Mar 09:00 CET until Sun 29 Mar 09:00 CEST" in ann_on.body

    assert _run(db, clock, datetime(2026, 3, 29, 5, 59, tzinfo=UTC)) == 0, "61 minutes before 09:00 CEST"
    assert _run(db, clock, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)) == 1
    bob_on = [n for n in _notices(db) if n.user_id == bob.id]
    assert [n.subject for n in bob_on] == ["You go on call for Primary in 1 h"]
    assert "from Sun 29 Mar 07:00 UTC until Mon 30 Mar 07:00 UTC" in bob_on[0].body
    with db.unit_of_work() as s:
        assert s.get(User, ann.id).handoff_notices is True, "on by default"


def test_notify_handoffs_on_its_own_writes_nothing_without_schedules(db, clock):
    with db.unit_of_work() as s:
        assert notify_handoffs(s, now=clock.now()) == 0
