"""Paging end to end, through a real SMTP server (aiosmtpd on loopback): an alert pages the
on-call by email, a mail server outage is retried until it recovers, and an acknowledgement
stops the next level from being paged.

Runs on SQLite and PostgreSQL; time moves only with the ManualClock; the engine runs its
escalation and delivery modules.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.alerts import service as alerts
from tocsin.alerts.pipeline import Incoming, ingest
from tocsin.config import Settings
from tocsin.engine.deliver import deliver
from tocsin.engine.escalations import escalations
from tocsin.engine.runner import Engine
from tocsin.escalation import service as esc_service
from tocsin.escalation.models import Notification
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.principal import Principal
from tocsin.services.service import require_service
from tocsin.users.models import OrgRole


@pytest.fixture
def paging(db, clock, system, make_person, make_service, smtp):
    alice, bob = make_person("responder", name="Alice"), make_person("responder", name="Bob")
    service_id = make_service("checkout", tier=1)
    with db.unit_of_work() as s:
        esc_service.create_policy(s, actor=system, now=clock.now(), name="Checkout", slug="checkout", repeat=0,
                                  levels=[{"delay_minutes": 5, "targets": [{"type": "user", "email": alice.email}]},
                                          {"delay_minutes": 5, "targets": [{"type": "user", "email": bob.email}]}])
        esc_service.set_service_policy(s, actor=system, now=clock.now(), service=require_service(s, "checkout"),
                                       policy="checkout")
    settings = Settings(smtp_url=smtp.url, smtp_from="pager@tocsin.test", secret_key="x")
    engine = Engine(db, clock, settings=settings, modules=[("escalations", escalations), ("deliver", deliver)])

    def trigger(key: str = "checkout-5xx"):
        with db.unit_of_work() as s:
            ev = Event(action=Action.trigger, dedup_key=key, summary="Checkout 5xx above 5%",
                       severity=AlertSeverity.critical, source="prometheus")
            return ingest(s, [Incoming(ev, service_id, None, "events_v2")], now=clock.now())[0].alert_id

    return {"alice": alice, "bob": bob, "engine": engine, "trigger": trigger}


def mail_to(smtp, person) -> list:
    return [r for r in smtp.handler.received if person.email in r.rcpt_tos]


def statuses(db) -> list[tuple[str, int]]:
    with db.unit_of_work() as s:
        return [(n.status, n.attempts) for n in s.execute(sa.select(Notification).order_by(Notification.created_at))
                .scalars()]


def test_alert_emails_the_on_call_escalates_and_stops_on_ack(db, clock, smtp, paging):
    # Runbook: critical alert → Alice is emailed at once → 5 minutes pass → Bob is emailed →
    # Bob acknowledges → 10 more minutes pass → nobody else is emailed.
    alert_id = paging["trigger"]()
    paging["engine"].tick()
    (mail,) = mail_to(smtp, paging["alice"])
    assert "Checkout 5xx above 5%" in mail.message["Subject"]
    assert mail.message["From"] == "pager@tocsin.test"
    assert mail_to(smtp, paging["bob"]) == []

    clock.advance(minutes=5)
    paging["engine"].tick()
    assert len(mail_to(smtp, paging["bob"])) == 1
    assert len(mail_to(smtp, paging["alice"])) == 1, "Alice is not emailed twice"

    with db.unit_of_work() as s:
        bob = Principal(user_id=paging["bob"].id, label=paging["bob"].email, org_role=OrgRole.responder)
        alerts.acknowledge(s, alert=alerts.require_alert(s, alert_id), actor=bob, now=clock.now())
    for _ in range(3):
        clock.advance(minutes=5)
        paging["engine"].tick()
    assert len(smtp.handler.received) == 2
    assert statuses(db) == [("sent", 1), ("sent", 1)]


def test_mail_server_outage_is_retried_until_it_recovers(db, clock, smtp, paging):
    # Runbook: the mail server refuses mail for now (451) when the alert fires → the page stays
    # queued with the reason → the server recovers → the next retry delivers it, once.
    smtp.handler.data_reply = "451 4.3.0 mail system busy, try again later"
    paging["trigger"]()
    paging["engine"].tick()
    ((status, attempts),) = statuses(db)
    assert (status, attempts) == ("queued", 1)
    with db.unit_of_work() as s:
        assert "451" in s.execute(sa.select(Notification.last_error)).scalar_one()  # the reason is kept

    smtp.handler.data_reply = None
    paging["engine"].tick()
    assert smtp.handler.received == [], "not before the backoff has passed"
    clock.advance(seconds=31)
    paging["engine"].tick()
    assert len(mail_to(smtp, paging["alice"])) == 1
    assert statuses(db) == [("sent", 2)]


def test_a_send_interrupted_by_a_crash_is_sent_again(db, clock, smtp, paging):
    # A process died after claiming the page and before recording the result: the row is left
    # `sending`. Once its claim expires another tick sends it: at least once, never dropped.
    paging["trigger"]()
    Engine(db, clock, modules=[("escalations", escalations)]).tick()
    with db.unit_of_work() as s:
        note = s.execute(sa.select(Notification)).scalar_one()
        note.status, note.attempts, note.send_after = "sending", 1, clock.now() + timedelta(minutes=2)
    paging["engine"].tick()
    assert smtp.handler.received == [], "the claim has not expired yet"
    clock.advance(minutes=3)
    paging["engine"].tick()
    (mail,) = mail_to(smtp, paging["alice"])
    assert mail.message["Message-ID"].endswith("@tocsin>")
    assert statuses(db) == [("sent", 2)]


def test_without_a_mail_server_the_page_fails_with_the_reason(db, clock, paging):
    engine = Engine(db, clock, settings=Settings(secret_key="x"), modules=[("escalations", escalations),
                                                                           ("deliver", deliver)])
    paging["trigger"]()
    engine.tick()
    with db.unit_of_work() as s:
        note = s.execute(sa.select(Notification)).scalar_one()
        assert note.status == "failed" and "TOCSIN_SMTP_URL" in note.last_error
