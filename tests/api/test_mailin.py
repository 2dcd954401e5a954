"""Email to alert over real SMTP: an aiosmtpd listener on loopback, smtplib as the sending server."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from tests.api.test_ingest import create_integration, list_alerts
from tocsin.mailin.server import MailListener

DOMAIN = "alerts.example.test"
RULES = {"summary": r"^(?:PROBLEM|RESOLVED): (?P<summary>.+)$", "dedup_key": r"Host: (\S+)",
         "resolve": r"^RESOLVED\b", "severity": [{"pattern": r"(?i)disaster", "severity": "critical"}],
         "default_severity": "warning"}

@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")



@pytest.fixture
def listener(app, db, free_tcp_port) -> Iterator[MailListener]:
    running = MailListener(db, app.state.ingest, listen=f"127.0.0.1:{free_tcp_port}", domain=DOMAIN,
                           max_bytes=20_000).start()
    yield running
    running.stop()


def _send(listener: MailListener, to: str, subject: str, body: str = "", html: str | None = None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "zabbix@monitoring.example.test", to, subject
    if html is None:
        message.set_content(body)
    else:  # HTML only, in a multipart/alternative with no text part
        message.make_alternative()
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP(*listener.address, timeout=10) as smtp:
        smtp.send_message(message)


@pytest.fixture
def address(client, admin, make_service) -> str:
    make_service("checkout")
    integ = create_integration(client, admin, "email", **RULES)
    assert integ["url"] == "<key>@<TOCSIN_MAIL_DOMAIN>"
    return f"{integ['key']}@{DOMAIN}"


def test_mail_becomes_an_alert_and_a_resolve_mail_resolves_it(app, client, admin, listener, address):
    _send(listener, address, "PROBLEM: Disaster: disk full", "Host: db-1\nFree: 0 B\n")
    assert app.state.ingest.wait_applied()
    (alert,) = list_alerts(client, admin)
    assert (alert["summary"], alert["severity"], alert["dedup_key"], alert["status"]) == \
        ("Disaster: disk full", "critical", "mail:1:db-1", "triggered")
    assert alert["details"]["from"] == "zabbix@monitoring.example.test"

    # upper-case key and a +tag: MTAs may change the case of local parts; the key is still found
    _send(listener, address.upper().replace("@", "+ops@"), "RESOLVED: Disaster: disk full", "Host: db-1\n")
    assert app.state.ingest.wait_applied()
    (alert,) = list_alerts(client, admin)
    assert alert["status"] == "resolved"


def test_unknown_address_or_domain_is_refused_at_rcpt(listener, address):
    for to in (f"{'0' * 32}@{DOMAIN}", address.replace(DOMAIN, "other.example.test")):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            _send(listener, to, "PROBLEM: x", "Host: a")
        assert [code for code, _ in info.value.recipients.values()] == [550]


def test_oversized_mail_is_refused_with_552(app, client, admin, listener, address):
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as info:
        _send(listener, address, "PROBLEM: big", "x" * 30_000)
    assert info.value.smtp_code == 552
    assert list_alerts(client, admin) == []


def test_html_only_multipart_mail_is_read_as_text(app, client, admin, listener, address):
    html = ("<html><head><style>p {color: red}</style></head><body><p>Disaster on the way</p>"
            "<p>Host: web-7</p></body></html>")
    _send(listener, address, "PROBLEM: Load high", html=html)
    assert app.state.ingest.wait_applied()
    (alert,) = list_alerts(client, admin)
    assert (alert["summary"], alert["severity"], alert["dedup_key"]) == ("Load high", "critical", "mail:1:web-7")
    assert alert["details"]["body"] == "Disaster on the way\nHost: web-7"


def test_mail_is_only_accepted_once_stored_else_451(app, client, admin, db, listener, address):
    with db.engine.begin() as conn:  # storage breaks: the journal cannot be written
        conn.execute(sa.text("ALTER TABLE ingest_journal RENAME TO ingest_journal_away"))
    with pytest.raises(smtplib.SMTPDataError) as info:
        _send(listener, address, "PROBLEM: Disk full", "Host: db-2")
    assert info.value.smtp_code == 451  # a temporary failure: the sending server keeps it and retries
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE ingest_journal_away RENAME TO ingest_journal"))
    _send(listener, address, "PROBLEM: Disk full", "Host: db-2")  # the retry
    assert app.state.ingest.wait_applied()
    assert [a["dedup_key"] for a in list_alerts(client, admin)] == ["mail:1:db-2"]


def test_one_message_to_many_tags_of_one_address_is_one_alert(app, client, admin, listener, address):
    # each recipient used to be mapped and stored again: 50 tags made one mail cost 50 writes
    key, _, domain = address.partition("@")
    raw = b"From: z@m.example.test\r\nSubject: PROBLEM: Disk full\r\n\r\nHost: db-3\r\n"
    with smtplib.SMTP(*listener.address, timeout=10) as smtp:
        smtp.sendmail("z@m.example.test", [f"{key}+{n}@{domain}" for n in range(20)] + [address], raw)
    assert app.state.ingest.wait_applied()
    (alert,) = list_alerts(client, admin)
    assert (alert["dedup_key"], alert["occurrences"]) == ("mail:1:db-3", 1)


def test_a_lookup_failure_at_rcpt_is_temporary(db, listener, address):
    # aiosmtpd answers a handler's exception with a permanent 500: the sending server would drop the alert
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE integrations RENAME TO integrations_away"))
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            _send(listener, address, "PROBLEM: Disk full", "Host: db-4")
        assert [code for code, _ in info.value.recipients.values()] == [451]
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE integrations_away RENAME TO integrations"))
