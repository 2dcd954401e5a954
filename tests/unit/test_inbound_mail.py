"""An email integration's rules: the defaults pair a monitor's PROBLEM and RESOLVED mails, and bad rules are refused."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tocsin.inbound.mail import map_message, validate_rules
from tocsin.inbound.types import Action, AlertSeverity


def _mail(subject: str, body: str = "", charset: str = "utf-8") -> bytes:
    message = EmailMessage()
    message["From"], message["Subject"] = "Nagios <nagios@example.test>", subject
    message.set_content(body, charset=charset)
    return bytes(message)


@pytest.mark.parametrize(("trigger", "resolve"), [
    ("PROBLEM: Disk full on db1", "RESOLVED: Disk full on db1"),
    ("[ALERT] Disk full on db1", "[OK] Disk full on db1"),
    ("DOWN - Disk full on db1", "RECOVERY - Disk full on db1"),
])
def test_default_rules_pair_a_trigger_with_its_resolve(trigger, resolve):
    rules = validate_rules({})
    fired, cleared = map_message(rules, _mail(trigger)), map_message(rules, _mail(resolve))
    assert (fired.action, cleared.action) == (Action.trigger, Action.resolve)
    assert fired.summary == cleared.summary == "Disk full on db1"
    assert fired.dedup_key == cleared.dedup_key == "mail:1:Disk full on db1"
    assert (fired.severity, fired.source) == (AlertSeverity.error, "nagios@example.test")


def test_a_message_without_subject_or_with_a_bad_charset_still_alerts():
    event = map_message(validate_rules({}), b"From: a@b.test\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nhi\r\n")
    assert (event.summary, event.action) == ("(no subject)", Action.trigger)
    assert event.details["body"] == "hi"


@pytest.mark.parametrize(("rules", "reason"), [
    ({"summary": "("}, "not a valid regular expression"),
    ({"severity": [{"pattern": "x", "severity": "loud"}]}, "must be one of"),
    ({"severity": [{"pattern": "x"}]}, "pattern and severity"),
    ({"subject": "x"}, "unknown email rule fields"),
])
def test_bad_rules_are_refused_with_the_reason(rules, reason):
    with pytest.raises(ValueError, match=reason):
        validate_rules(rules)


@pytest.mark.parametrize("raw", [
    # CPython's header parser raises IndexError on this Message-ID (and on similar From lines)
    pytest.param(b"From: a@b.test\r\nSubject: Disk full\r\nMessage-ID: <<<@@>\r\n\r\nbody\r\n", id="message-id"),
    # multipart nested deeper than Python's recursion limit (RecursionError, after seconds of parsing)
    pytest.param(b"From: a@b.test\r\nSubject: Disk full\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(1000))
        + b"Content-Type: text/plain\r\n\r\nbody\r\n", id="nested"),
    # 100,000 empty parts in 1 MB: the stdlib parser took 50 s of CPU (10 MB, the default limit: minutes)
    pytest.param(b"From: a@b.test\r\nSubject: Disk full\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                 + b"--q\r\n\r\nbody\r\n" * 100_000 + b"--q--\r\n", id="many-parts"),
])
def test_a_malformed_message_still_alerts(raw):
    # a raised exception becomes aiosmtpd's permanent "500": the sender drops the alert
    import time
    started = time.monotonic()
    event = map_message(validate_rules({}), raw)
    assert (event.summary, event.action) == ("Disk full", Action.trigger) and "body" in event.details["body"]
    assert time.monotonic() - started < 10  # was 50 s for many-parts


def test_a_backtracking_rule_gives_up_instead_of_hanging_the_listener():
    import time
    rules = validate_rules({"dedup_key": r"id=(\d+)", "severity": [{"pattern": r"(a|aa)+$", "severity": "critical"},
                                                                    {"pattern": "disk", "severity": "warning"}]})
    started = time.monotonic()
    event = map_message(rules, _mail("PROBLEM: disk full", "a" * 5000 + "!"))
    assert time.monotonic() - started < 10  # was forever
    # the runaway patterns count as no match; the alert is still made, by the remaining rules
    assert (event.summary, event.severity, event.dedup_key) == ("disk full", AlertSeverity.warning, "mail:1:disk full")
