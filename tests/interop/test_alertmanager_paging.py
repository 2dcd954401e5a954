"""Real Prometheus Alertmanager → `tocsin serve` → a real SMTP server: the on-call is paged by email.

The runbook, with every program real: an operator gives the service `checkout` an escalation
policy (level 1: the on-call, level 2 a minute later: their backup). Prometheus' Alertmanager
fires an alert. tocsin (a `tocsin serve` subprocess, its engine in-process, TOCSIN_SMTP_URL
pointing at an aiosmtpd server in this test process) emails the on-call at their account
address, since they set no notification rules. The on-call acknowledges through the API; the
escalation stops at once, so the backup is never emailed.

The shared Alertmanager route notifies tocsin through both of its receivers (webhook, and
PagerDuty pointed at `/v2/enqueue`), which makes two tocsin alerts for the one Alertmanager
alert: each pages the on-call exactly once, so two emails arrive, and both are acknowledged.

Waiting a real minute for level 2 would be slow, so "nothing more is sent" is checked from the
escalation's state: after the acknowledgement it is `stopped`, stands before level 2 and has no
next step; and a few engine intervals later the SMTP server has received nothing new.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness.processes import Alertmanager, Stack, TocsinProcess, make_stack, poll, tocsin_env, utc_iso
from tests.harness.smtp import Received, SmtpFixture

pytestmark = pytest.mark.slow

SENDER = "pager@tocsin.test"
ON_CALL = "oncall@example.test"
BACKUP = "backup@example.test"
ENGINE_INTERVAL = 0.2


@pytest.fixture
def tocsin(db_url: str, tmp_path: Path, smtp: SmtpFixture) -> Iterator[Stack]:
    """The interop `tocsin` fixture, with email going to `smtp` (the conftest's `alertmanager`
    fixture notifies this one)."""
    env = tocsin_env(tmp_path / "data", db_url)
    env.update(TOCSIN_SMTP_URL=smtp.url, TOCSIN_SMTP_FROM=SENDER, TOCSIN_ENGINE_INTERVAL=str(ENGINE_INTERVAL))
    server = TocsinProcess(env, tmp_path / "tocsin.log")
    try:
        yield make_stack(server, env, ("alertmanager", "events_v2"))
    finally:
        server.stop()


def _mail_to(smtp: SmtpFixture, address: str) -> list[Received]:
    return [r for r in list(smtp.handler.received) if address in r.rcpt_tos]


def _set_up_paging(tocsin: Stack) -> None:
    """The operator's part, through the API: two people, a policy, the service pages with it."""
    with tocsin.api() as api:
        for email, name in ((ON_CALL, "On Call"), (BACKUP, "Backup")):
            r = api.post("/api/v1/users", json={"email": email, "name": name})
            assert r.status_code == 201, r.text
        r = api.post("/api/v1/escalation-policies", json={
            "name": "Checkout on-call", "slug": "checkout-oncall", "repeat": 0,
            "levels": [{"delay_minutes": 1, "targets": [{"type": "user", "email": ON_CALL}]},
                       {"delay_minutes": 1, "targets": [{"type": "user", "email": BACKUP}]}]})
        assert r.status_code == 201, r.text
        r = api.put(f"/api/v1/services/{tocsin.service}/escalation-policy", json={"policy": "checkout-oncall"})
        assert r.status_code == 200, r.text
        assert r.json()["policy"] == "checkout-oncall"


def _escalation(tocsin: Stack, alert_id: str) -> dict[str, Any] | None:
    with tocsin.api() as api:
        r = api.get(f"/api/v1/alerts/{alert_id}/escalation")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def _sent(esc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The escalation once every notification it wrote is recorded as sent."""
    if esc and esc["notifications"] and all(n["status"] == "sent" for n in esc["notifications"]):
        return esc
    return None


def test_alertmanager_alert_emails_the_on_call_and_ack_stops_the_escalation(
        tocsin: Stack, alertmanager: Alertmanager, smtp: SmtpFixture) -> None:
    _set_up_paging(tocsin)

    name = f"CheckoutErrors{secrets.token_hex(3)}"
    summary = f"Checkout 5xx above 5% ({name})"
    alert = {"labels": {"alertname": name, "severity": "critical", "instance": "web-1:9100", "job": "checkout"},
             "annotations": {"summary": summary},
             "startsAt": utc_iso(datetime.now(UTC) - timedelta(minutes=1))}
    alertmanager.post_alerts([alert])

    def explain() -> str:
        return (f"emails received: {[(r.rcpt_tos, r.message['Subject']) for r in smtp.handler.received]}\n"
                f"tocsin alerts: {[(a['source'], a['status']) for a in tocsin.alerts()]}\n"
                f"--- alertmanager log ---\n{alertmanager.log_text()}\n--- tocsin log ---\n{tocsin.server.log_text()}")

    # Two tocsin alerts (one per Alertmanager receiver), each paging the on-call once.
    def two_triggered() -> list[dict[str, Any]] | None:
        found = [a for a in tocsin.alerts() if a["status"] == "triggered"]
        return found if len(found) == 2 else None

    def two_mails() -> list[Received] | None:
        found = _mail_to(smtp, ON_CALL)
        return found if len(found) >= 2 else None

    alerts = poll(two_triggered, what="a triggered tocsin alert from each Alertmanager receiver", explain=explain)
    assert sorted(a["source"] for a in alerts) == ["alertmanager", "events_v2"]
    mails = poll(two_mails, what="the on-call's two page emails through the real SMTP server", explain=explain)

    for mail in mails:
        assert mail.mail_from == SENDER
        assert mail.rcpt_tos == [ON_CALL]
        assert mail.message["From"] == SENDER
        assert mail.message["Subject"] == f"[critical] {summary}"
        assert mail.message["Message-ID"].endswith("@tocsin>")
        body = mail.message.get_content()
        assert summary in body and "level 1" in body
        assert "Ack: http" in body, body  # a signed one-click acknowledge link
    assert len({m.message["Message-ID"] for m in mails}) == 2, "one page per alert, each its own message"

    by_alert: dict[str, dict[str, Any]] = {}
    for a in alerts:
        esc = poll(lambda a=a: _sent(_escalation(tocsin, a["id"])),
                   what=f"the {a['source']} alert's page to be recorded as sent", explain=explain)
        assert esc["status"] == "active" and esc["level"] == 1, esc  # level 2 is due a minute later
        [note] = esc["notifications"]
        assert (note["user"], note["channel"], note["destination"]) == (ON_CALL, "email", ON_CALL)
        assert note["attempts"] == 1 and note["provider_id"] in {m.message["Message-ID"] for m in mails}
        by_alert[a["id"]] = esc

    # The on-call acknowledges both alerts through the API.
    with tocsin.api() as api:
        for alert_id in by_alert:
            r = api.post(f"/api/v1/alerts/{alert_id}/acknowledge")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "acknowledged"

    for alert_id, before in by_alert.items():
        esc = _escalation(tocsin, alert_id)
        assert esc is not None
        assert esc["status"] == "stopped", esc
        assert "acknowledged" in (esc["stop_reason"] or ""), esc["stop_reason"]
        assert esc["next_at"] is None and esc["level"] == 1, esc  # level 2 (the backup) never starts
        assert esc["epoch"] > before["epoch"], "the acknowledgement moves the fence"
        assert [n["user"] for n in esc["notifications"]] == [ON_CALL]

    # A few engine intervals later nothing more went out (Alertmanager may re-notify meanwhile;
    # that deduplicates into the acknowledged alerts).
    time.sleep(ENGINE_INTERVAL * 10)
    assert len(smtp.handler.received) == 2, [(r.rcpt_tos, r.message["Subject"]) for r in smtp.handler.received]
    assert _mail_to(smtp, BACKUP) == []
    assert sorted(a["status"] for a in tocsin.alerts()) == ["acknowledged", "acknowledged"]
