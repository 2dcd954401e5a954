"""Following action items through: owners are reminded by email (a real SMTP server on
loopback) before the due date, when it passes and every week after, until the item is done.

Time moves only with the ManualClock (it starts on Thursday 1 January 2026, 12:00 UTC); the
engine runs the reminder and delivery modules tick by tick.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.engine.actions import action_reminders
from tocsin.engine.deliver import deliver
from tocsin.engine.runner import Engine, EngineContext
from tocsin.escalation.models import Notification

AI = "/api/v1/action-items"


@pytest.fixture
def world(db, clock, smtp, client, make_person, make_team):
    make_team("payments")
    alice = make_person("responder", teams=["payments"], name="Alice")
    r = client.patch(f"/api/v1/users/{alice.email}", json={"time_zone": "Europe/Berlin"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    settings = Settings(smtp_url=smtp.url, smtp_from="tocsin@tocsin.test", secret_key="x",
                        public_url="https://tocsin.example.test", action_reminder_days_before=2,
                        action_overdue_every_days=7)
    engine = Engine(db, clock, settings=settings, modules=[("action_reminders", action_reminders),
                                                          ("deliver", deliver)])

    def create(**body):
        body.setdefault("type", "prevent")
        r = client.post(AI, json=body, headers=alice.headers)
        assert r.status_code == 201, r.text
        return r.json()

    def at(when: str) -> None:
        """Move the clock to `when` (UTC) and run the engine once."""
        clock.advance(datetime.fromisoformat(when + "+00:00") - clock.now())
        engine.tick()

    return {"alice": alice, "engine": engine, "create": create, "at": at, "settings": settings}


def subjects(smtp, person=None) -> list[str]:
    return [" ".join(str(r.message["Subject"]).split()) for r in smtp.handler.received if person is None or person.email in r.rcpt_tos]


def test_the_owner_is_reminded_before_on_and_weekly_after_the_due_date_until_done(client, smtp, world):
    # Runbook: Alice (Berlin) owns ACT-1 due on Saturday 10 January → nothing on the 1st → two days
    # before the end of that day she is emailed once → the day passes: "Overdue" → nothing for a
    # week → the next "Overdue" → she marks it done → nothing more, ever.
    alice, at = world["alice"], world["at"]
    item = world["create"](title="Add a retry budget", owner="me", due_on="2026-01-10")
    ref = item["ref"]
    world["engine"].tick()
    assert subjects(smtp) == []

    at("2026-01-08T22:59:00")  # due 2026-01-10T22:59:59Z (23:59:59 in Berlin): not yet 2 days
    assert subjects(smtp) == []
    at("2026-01-08T23:00:00")
    assert subjects(smtp, alice) == [f"Reminder: {ref} Add a retry budget is due Sat 10 Jan 2026 23:59 "
                                     "(Europe/Berlin)"]
    mail = smtp.handler.received[0].message.get_content()
    assert f"https://tocsin.example.test/api/v1/action-items/{ref}" in mail
    assert '{"status": "done"}' in mail, "the reminder says how to mark it done"
    at("2026-01-09T12:00:00")
    assert len(subjects(smtp)) == 1, "the early reminder goes once"

    at("2026-01-10T23:00:00")
    assert subjects(smtp)[1] == f"Overdue: {ref} Add a retry budget was due Sat 10 Jan 2026 23:59 (Europe/Berlin)"
    at("2026-01-17T22:59:00")
    assert len(subjects(smtp)) == 2, "not again within the week"
    at("2026-01-17T23:00:00")
    assert len(subjects(smtp)) == 3
    assert "7 days overdue" in smtp.handler.received[2].message.get_content()

    r = client.patch(f"{AI}/{ref}", json={"status": "done"}, headers=alice.headers)
    assert r.status_code == 200
    for day in ("2026-01-25T00:00:00", "2026-02-01T00:00:00", "2026-03-01T00:00:00"):
        at(day)
    assert len(subjects(smtp)) == 3, "nothing after it is done"
    with world["engine"].db.unit_of_work() as s:
        rows = s.execute(sa.select(Notification.kind, Notification.status, Notification.alert_id)).all()
    assert rows == [("reminder", "sent", None)] * 3


def test_no_reminder_without_an_owner_or_a_due_date(smtp, world):
    world["create"](title="Nobody owns this", due_at="2026-01-02T00:00:00Z")
    world["create"](title="No date", owner="me")
    for day in ("2026-01-01T23:00:00", "2026-01-03T00:00:00", "2026-01-20T00:00:00"):
        world["at"](day)
    assert subjects(smtp) == []


def test_an_engine_that_was_down_sends_one_reminder_not_a_backlog(smtp, world):
    world["create"](title="Rotate keys", owner="me", due_at="2026-01-02T00:00:00Z")
    world["at"]("2026-02-15T00:00:00")  # six weeks late
    assert subjects(smtp) == ["Overdue: ACT-1 Rotate keys was due Fri 2 Jan 2026 01:00 (Europe/Berlin)"]
    world["at"]("2026-02-21T23:00:00")
    assert len(subjects(smtp)) == 1, "the weekly cadence restarts from the reminder sent"
    world["at"]("2026-02-22T00:00:00")
    assert len(subjects(smtp)) == 2


def test_moving_the_due_date_restarts_the_reminders(client, smtp, world):
    alice = world["alice"]
    item = world["create"](title="Fix the runbook", owner="me", due_at="2026-01-02T12:00:00Z")
    world["at"]("2026-01-01T13:00:00")
    assert len(subjects(smtp)) == 1 and subjects(smtp)[0].startswith("Reminder:")
    r = client.patch(f"{AI}/{item['ref']}", json={"due_at": "2026-01-10T12:00:00Z"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["reminded_before_at"] is None
    world["at"]("2026-01-05T00:00:00")
    assert len(subjects(smtp)) == 1
    world["at"]("2026-01-08T12:00:00")
    assert len(subjects(smtp)) == 2 and "Sat 10 Jan 2026 13:00" in subjects(smtp)[1]


def test_reminders_take_the_owners_low_urgency_route(db, clock, smtp, world, make_person):
    # Bob wants low-urgency news at his team inbox and pages (high urgency) elsewhere.
    bob = make_person("responder", name="Bob")
    with db.unit_of_work() as s:
        low = ContactMethod(user_id=bob.id, type="email", address="bob-inbox@example.test", label="inbox",
                            verified_at=clock.now(), verify_attempts=0, created_at=clock.now())
        high = ContactMethod(user_id=bob.id, type="email", address="bob-pager@example.test", label="pager",
                             verified_at=clock.now(), verify_attempts=0, created_at=clock.now())
        s.add_all([low, high])
        s.flush()
        s.add_all([NotificationRule(user_id=bob.id, contact_method_id=low.id, delay_minutes=0, urgency="low",
                                    created_at=clock.now()),
                   NotificationRule(user_id=bob.id, contact_method_id=high.id, delay_minutes=0, urgency="high",
                                    created_at=clock.now())])
    world["create"](title="Write the failover runbook", owner=bob.email, due_at="2026-01-02T12:00:00Z")
    world["at"]("2026-01-01T13:00:00")
    assert [r.rcpt_tos for r in smtp.handler.received] == [["bob-inbox@example.test"]]
    assert "Fri 2 Jan 2026 12:00 (UTC)" in subjects(smtp)[0], "in Bob's own time zone"


def test_a_reminder_for_an_incident_item_is_tied_to_the_incident(client, db, smtp, world):
    alice = world["alice"]
    inc = client.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "SEV2"},
                      headers=alice.headers).json()
    world["create"](title="Add a canary", owner="me", incident=inc["ref"], due_at="2026-01-02T00:00:00Z")
    world["at"]("2026-01-02T00:00:00")
    with db.unit_of_work() as s:
        (row,) = s.execute(sa.select(Notification)).scalars()
        assert (str(row.incident_id), row.kind, row.status) == (inc["id"], "reminder", "sent")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # one engine per SQLite file: nothing to skip
def test_an_item_another_engine_is_reminding_is_skipped(db, clock, world):
    # Two engines on PostgreSQL: while one holds an item's row, the other takes other items.
    world["create"](title="Held", owner="me", due_at="2026-01-01T12:00:00Z")
    world["create"](title="Free", owner="me", due_at="2026-01-01T12:00:00Z")
    clock.advance(minutes=1)
    ctx = EngineContext(db, clock, "other", clock.now(), world["settings"])
    with db.unit_of_work() as s:
        from tocsin.actions.models import ActionItem

        s.execute(sa.select(ActionItem).where(ActionItem.title == "Held").with_for_update()).scalar_one()
        assert action_reminders(ctx) == 1
    assert action_reminders(ctx) == 1, "the held one, once released"
    assert action_reminders(ctx) == 0
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one() == 2



def test_a_due_date_at_the_edge_of_the_calendar_does_not_stop_other_reminders(client, smtp, world):
    alice = world["alice"]
    client.patch(f"/api/v1/users/{alice.email}", json={"time_zone": "America/New_York"}, headers=alice.headers)
    world["create"](title="Ancient", owner="me", due_at="0001-01-01T00:30:00Z")
    world["create"](title="Today", owner="me", due_at="2026-01-01T12:30:00Z")
    world["at"]("2026-01-01T13:00:00")
    assert sorted(s.split(" was due")[0] for s in subjects(smtp)) == ["Overdue: ACT-1 Ancient", "Overdue: ACT-2 Today"]
