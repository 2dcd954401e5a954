"""Paging end to end, through a real SMTP server (aiosmtpd on loopback): an alert pages the
on-call by email, a mail server outage is retried until it recovers, and an acknowledgement
stops the next level from being paged.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, time moves
only with the ManualClock, the whole engine ticks (escalations, then delivery).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tocsin.escalation.models import Notification

SUMMARY = "Checkout 5xx above 5%"


def statuses(rb) -> list[tuple[str, int]]:
    return [(n.status, n.attempts) for n in rb.notifications()]


def test_alert_emails_the_on_call_escalates_and_stops_on_ack(rb):
    # Runbook: critical alert → Alice is emailed at once → 5 minutes pass → Bob is emailed →
    # Bob acknowledges → 10 more minutes pass → nobody else is emailed.
    alert = rb.trigger(summary=SUMMARY)
    rb.tick()
    mail = rb.expect_email("Alice", SUMMARY)
    assert mail["From"] == "pager@tocsin.test"
    rb.expect_nothing_more()  # not Bob, not yet

    rb.tick(minutes=5)
    rb.expect_email("Bob", SUMMARY)
    rb.expect_nothing_more()  # Alice is not emailed twice

    rb.ack(alert, "Bob")
    for _ in range(3):
        rb.tick(minutes=5)
    rb.expect_nothing_more()
    assert len(rb.emails()) == 2
    assert statuses(rb) == [("sent", 1), ("sent", 1)]


def test_mail_server_outage_is_retried_until_it_recovers(rb):
    # Runbook: the mail server refuses mail for now (451) when the alert fires → the page stays
    # queued with the reason → the server recovers → the next retry delivers it, once.
    rb.smtp.handler.data_reply = "451 4.3.0 mail system busy, try again later"
    rb.trigger(summary=SUMMARY)
    rb.tick()
    (row,) = rb.notifications()
    assert (row.status, row.attempts) == ("queued", 1)
    assert "451" in row.last_error  # the reason is kept

    rb.smtp.handler.data_reply = None
    rb.tick()
    assert rb.emails() == [], "not before the backoff has passed"
    rb.tick(seconds=31)
    rb.expect_email("Alice", SUMMARY)
    rb.expect_nothing_more()
    assert statuses(rb) == [("sent", 2)]


def test_a_send_interrupted_by_a_crash_is_sent_again(rb, db):
    # A process died after claiming the page and before recording the result: the row is left
    # `sending`. Once its claim expires another tick sends it: at least once, never dropped.
    rb.trigger(summary=SUMMARY)
    rb.new_engine("escalations").tick()
    with db.unit_of_work() as s:
        note = s.execute(sa.select(Notification)).scalar_one()
        note.status, note.attempts, note.send_after = "sending", 1, rb.now + timedelta(minutes=2)
    rb.tick()
    assert rb.emails() == [], "the claim has not expired yet"
    rb.tick(minutes=3)
    mail = rb.expect_email("Alice")
    assert mail["Message-ID"].endswith("@tocsin>")
    assert statuses(rb) == [("sent", 2)]


def test_without_a_mail_server_the_page_fails_with_the_reason(rb):
    rb.configure(smtp_url=None)
    rb.trigger(summary=SUMMARY)
    rb.tick()
    (note,) = rb.notifications()
    assert note.status == "failed" and "TOCSIN_SMTP_URL" in note.last_error


def test_a_page_that_cannot_be_composed_fails_alone_and_the_others_go_once(runbook, monkeypatch):
    # Runbook: an alert pages Alice, Bob and Carol at once → the words of Bob's email cannot be
    # written (a bug in composing) → Alice and Carol are emailed, once; Bob's page is kept with
    # the reason and retried → the claims expire, more ticks pass → nobody is emailed twice →
    # the bug is gone by the retry → Bob is emailed, once.
    from tocsin.escalation import deliver

    rb = runbook
    for name in ("Alice", "Bob", "Carol"):
        rb.person(name)
    rb.service("checkout", tier=1)
    rb.policy((30, ["Alice", "Bob", "Carol"]))
    bob = rb._address("Bob")
    real = deliver.compose

    def compose_failing_for_bob(rows, channel, *, to, **kwargs):
        if to == bob:
            raise RuntimeError("template bug")
        return real(rows, channel, to=to, **kwargs)

    monkeypatch.setattr(deliver, "compose", compose_failing_for_bob)
    rb.trigger(summary=SUMMARY)
    rb.tick()
    rb.expect_email("Alice", SUMMARY)
    rb.expect_email("Carol", SUMMARY)
    rb.expect_nothing_more()
    (failed,) = rb.notifications(destination=bob)
    assert (failed.status, failed.attempts) == ("queued", 1), "recorded as a failed attempt, to be retried"
    assert "RuntimeError" in failed.last_error
    assert {(n.destination, n.status) for n in rb.notifications() if n.destination != bob} == \
        {(rb._address("Alice"), "sent"), (rb._address("Carol"), "sent")}

    rb.tick(minutes=3)  # past any claim, and past Bob's backoff: his retry fails the same way
    rb.tick(minutes=3)
    rb.expect_nothing_more()
    (failed,) = rb.notifications(destination=bob)
    assert failed.status == "queued" and failed.attempts == 3

    monkeypatch.setattr(deliver, "compose", real)
    rb.tick(minutes=5)
    rb.expect_email("Bob", SUMMARY)
    rb.expect_nothing_more()


def test_a_page_whose_sends_keep_dying_gives_up_at_the_attempt_limit(rb, db):
    # The engine died mid-send on every attempt so far (the row is still `sending`, its claim
    # spent, as many attempts as allowed): when the claim runs out the page fails with the reason
    # instead of being sent yet again, and the alert says so.
    from tocsin.delivery import MAX_ATTEMPTS

    alert = rb.trigger(summary=SUMMARY)
    rb.new_engine("escalations").tick()
    with db.unit_of_work() as s:
        note = s.execute(sa.select(Notification)).scalar_one()
        note.status, note.attempts, note.send_after = "sending", MAX_ATTEMPTS, rb.now + timedelta(minutes=2)
    rb.tick(minutes=3)
    rb.expect_nothing_more()
    (note,) = rb.notifications()
    assert note.status == "failed" and note.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    (why,) = rb.decisions(alert, "notification_failed")
    assert "by email failed: gave up after" in why and "no other verified contact method" in why
