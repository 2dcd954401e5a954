"""Following action items through: owners are reminded by email (a real SMTP server on
loopback) before the due date, when it passes and every week after, until the item is done.

Written on the harness's runbook (tests/harness/scenario.py): time moves only with the
ManualClock (it starts on Thursday 1 January 2026, 12:00 UTC); the whole engine ticks at each
moment the runbook names (`at`), so its reminder module writes and its delivery module sends.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from tocsin.actions.jobs import action_reminders
from tocsin.actions.models import ActionItem
from tocsin.escalation.models import Notification
from tocsin.jobs import JobContext

AI = "/action-items"
PUBLIC = "https://tocsin.example.test"


@pytest.fixture
def rb(runbook):
    """Alice (team payments) works in Europe/Berlin; reminders come two days before and weekly after."""
    runbook.configure(public_url=PUBLIC, action_reminder_days_before=2, action_overdue_every_days=7)
    runbook.team("payments")
    runbook.person("Alice", teams=["payments"])
    runbook.as_("Alice").patch(f"/users/{runbook.people['Alice'].email}", time_zone="Europe/Berlin")
    return runbook


def create(rb, **body):
    """Alice files an action item (type `prevent` unless said)."""
    body.setdefault("type", "prevent")
    return rb.as_("Alice").post(AI, **body)


def at(rb, when: str) -> None:
    """Move the clock to `when` (UTC) and run the engine once."""
    rb.tick(at=datetime.fromisoformat(when + "+00:00"))


def subjects(rb, to=None) -> list[str]:
    return [" ".join(str(m["Subject"]).split()) for m in rb.emails(to)]


def test_the_owner_is_reminded_before_on_and_weekly_after_the_due_date_until_done(rb):
    # Runbook: Alice (Berlin) owns ACT-1 due on Saturday 10 January → nothing on the 1st → two days
    # before the end of that day she is emailed once → the day passes: "Overdue" → nothing for a
    # week → the next "Overdue" → she marks it done → nothing more, ever.
    item = create(rb, title="Add a retry budget", owner="me", due_on="2026-01-10")
    ref = item["ref"]
    rb.tick()
    assert subjects(rb) == []

    at(rb, "2026-01-08T22:59:00")  # due 2026-01-10T22:59:59Z (23:59:59 in Berlin): not yet 2 days
    assert subjects(rb) == []
    at(rb, "2026-01-08T23:00:00")
    assert subjects(rb, "Alice") == [f"Reminder: {ref} Add a retry budget is due Sat 10 Jan 2026 23:59 "
                                     "(Europe/Berlin)"]
    mail = rb.emails()[0].get_content()
    assert f"{PUBLIC}/api/v1/action-items/{ref}" in mail
    assert '{"status": "done"}' in mail, "the reminder says how to mark it done"
    at(rb, "2026-01-09T12:00:00")
    assert len(subjects(rb)) == 1, "the early reminder goes once"

    at(rb, "2026-01-10T23:00:00")
    assert subjects(rb)[1] == f"Overdue: {ref} Add a retry budget was due Sat 10 Jan 2026 23:59 (Europe/Berlin)"
    at(rb, "2026-01-17T22:59:00")
    assert len(subjects(rb)) == 2, "not again within the week"
    at(rb, "2026-01-17T23:00:00")
    assert len(subjects(rb)) == 3
    assert "7 days overdue" in rb.emails()[2].get_content()

    rb.as_("Alice").patch(f"{AI}/{ref}", status="done")
    for day in ("2026-01-25T00:00:00", "2026-02-01T00:00:00", "2026-03-01T00:00:00"):
        at(rb, day)
    assert len(subjects(rb)) == 3, "nothing after it is done"
    with rb.db.unit_of_work() as s:
        rows = s.execute(sa.select(Notification.kind, Notification.status, Notification.alert_id)).all()
    assert rows == [("reminder", "sent", None)] * 3


def test_no_reminder_without_an_owner_or_a_due_date(rb):
    create(rb, title="Nobody owns this", due_at="2026-01-02T00:00:00Z")
    create(rb, title="No date", owner="me")
    for day in ("2026-01-01T23:00:00", "2026-01-03T00:00:00", "2026-01-20T00:00:00"):
        at(rb, day)
    assert subjects(rb) == []


def test_an_engine_that_was_down_sends_one_reminder_not_a_backlog(rb):
    create(rb, title="Rotate keys", owner="me", due_at="2026-01-02T00:00:00Z")
    at(rb, "2026-02-15T00:00:00")  # six weeks late
    assert subjects(rb) == ["Overdue: ACT-1 Rotate keys was due Fri 2 Jan 2026 01:00 (Europe/Berlin)"]
    at(rb, "2026-02-21T23:00:00")
    assert len(subjects(rb)) == 1, "the weekly cadence restarts from the reminder sent"
    at(rb, "2026-02-22T00:00:00")
    assert len(subjects(rb)) == 2


def test_moving_the_due_date_restarts_the_reminders(rb):
    item = create(rb, title="Fix the runbook", owner="me", due_at="2026-01-02T12:00:00Z")
    at(rb, "2026-01-01T13:00:00")
    assert len(subjects(rb)) == 1 and subjects(rb)[0].startswith("Reminder:")
    moved = rb.as_("Alice").patch(f"{AI}/{item['ref']}", due_at="2026-01-10T12:00:00Z")
    assert moved["reminded_before_at"] is None
    at(rb, "2026-01-05T00:00:00")
    assert len(subjects(rb)) == 1
    at(rb, "2026-01-08T12:00:00")
    assert len(subjects(rb)) == 2 and "Sat 10 Jan 2026 13:00" in subjects(rb)[1]


def test_reminders_take_the_owners_low_urgency_route(rb):
    # Bob wants low-urgency news at his team inbox and pages (high urgency) elsewhere.
    bob = rb.person("Bob")
    inbox = rb.contact("Bob", "email", "bob-inbox@example.test")
    pager = rb.contact("Bob", "email", "bob-pager@example.test")
    rb.rules("Bob")  # not the automatic rule verifying added: his own two
    rb.rule("Bob", inbox, urgency="low")
    rb.rule("Bob", pager, urgency="high")
    create(rb, title="Write the failover runbook", owner=bob.email, due_at="2026-01-02T12:00:00Z")
    at(rb, "2026-01-01T13:00:00")
    assert [r.rcpt_tos for r in rb.smtp.handler.received] == [["bob-inbox@example.test"]]
    assert "Fri 2 Jan 2026 12:00 (UTC)" in subjects(rb)[0], "in Bob's own time zone"


def test_a_reminder_for_an_incident_item_is_tied_to_the_incident(rb):
    # a SEV3: the IC of a SEV1/SEV2 would also be nudged about the overdue item (tests/scenarios/test_guardrails.py)
    inc = rb.as_("Alice").post("/incidents", title="Checkout down", severity="SEV3")
    create(rb, title="Add a canary", owner="me", incident=inc["ref"], due_at="2026-01-02T00:00:00Z")
    at(rb, "2026-01-02T00:00:00")
    (row,) = rb.notifications(kind="reminder")  # (the incident's own update reminders aside)
    assert (str(row.incident_id), row.kind, row.status) == (inc["id"], "reminder", "sent")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # one engine per SQLite file: nothing to skip
def test_an_item_another_engine_is_reminding_is_skipped(rb):
    # Two engines on PostgreSQL: while one holds an item's row, the other takes other items.
    create(rb, title="Held", owner="me", due_at="2026-01-01T12:00:00Z")
    create(rb, title="Free", owner="me", due_at="2026-01-01T12:00:00Z")
    rb.clock.advance(minutes=1)
    ctx = JobContext(rb.db, rb.clock, "other", rb.now, rb.settings)
    with rb.db.unit_of_work() as s:
        s.execute(sa.select(ActionItem).where(ActionItem.title == "Held").with_for_update()).scalar_one()
        assert action_reminders(ctx) == 1
    assert action_reminders(ctx) == 1, "the held one, once released"
    assert action_reminders(ctx) == 0
    assert len(rb.notifications()) == 2


def test_a_due_date_at_the_edge_of_the_calendar_does_not_stop_other_reminders(rb):
    rb.as_("Alice").patch(f"/users/{rb.people['Alice'].email}", time_zone="America/New_York")
    create(rb, title="Ancient", owner="me", due_at="0001-01-01T00:30:00Z")
    create(rb, title="Today", owner="me", due_at="2026-01-01T12:30:00Z")
    at(rb, "2026-01-01T13:00:00")
    assert sorted(s.split(" was due")[0] for s in subjects(rb)) == ["Overdue: ACT-1 Ancient", "Overdue: ACT-2 Today"]
