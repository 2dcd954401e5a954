"""Signed one-time action links and the words of a notification, per channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.notify import links
from tocsin.notify.compose import GroupPage, Row, compose

NOW = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
KEY = "server-key-0123456789"


def test_a_link_reads_back_what_it_was_made_for():
    nid = uuid.uuid4()
    link = links.read_token(KEY, links.make_token(KEY, nid, "resolve", NOW), NOW + timedelta(hours=1))
    assert (link.notification_id, link.action) == (nid, "resolve")
    assert link.expires_at == NOW + links.LIFETIME


@pytest.mark.parametrize("mangle, message", [
    (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "signature does not match"),
    (lambda t: links.make_token(KEY, uuid.uuid4(), "ack", NOW).split(".")[0] + "." + t.split(".")[1],
     "signature does not match"),
    (lambda t: t.split(".")[0], "not a tocsin action link"),
    (lambda t: "%%%." + t, "not a tocsin action link"),
])
def test_an_altered_or_truncated_link_is_refused(mangle, message):
    token = links.make_token(KEY, uuid.uuid4(), "ack", NOW)
    with pytest.raises(links.BadLink, match=message):
        links.read_token(KEY, mangle(token), NOW)


def test_a_link_from_another_server_key_or_too_old_is_refused():
    token = links.make_token(KEY, uuid.uuid4(), "ack", NOW)
    with pytest.raises(links.BadLink, match="signature"):
        links.read_token("another-key", token, NOW)
    with pytest.raises(links.BadLink, match="expired"):
        links.read_token(KEY, token, NOW + links.LIFETIME)


def test_the_used_marker_is_not_the_token():
    token = links.make_token(KEY, uuid.uuid4(), "ack", NOW)
    assert links.digest(token) != token and len(links.digest(token)) == 64


def _row(**kw):
    base = dict(id=uuid.uuid4(), idempotency_key="k1", kind="page", subject="[critical] Checkout 5xx",
                body="Checkout 5xx above 5%", created_at=NOW, alert_id=uuid.uuid4(), reply_code="4821")
    return Row(**{**base, **kw})


def test_email_carries_ack_and_resolve_links_that_name_the_row():
    row = _row()
    m = compose([row], "email", to="a@example.com", public_url="https://tocsin.example", secret=KEY, now=NOW)
    ack = m.data["links"]["ack"]
    assert f"Ack: {ack}" in m.body and "Resolve: https://tocsin.example/n/" in m.body
    token = ack.rsplit("/", 1)[1]
    assert links.read_token(KEY, token, NOW).notification_id == row.id


def test_sms_is_one_short_line_with_the_reply_code_and_no_links():
    m = compose([_row(subject="x" * 1000)], "sms", to="+14155550100", public_url="https://t", secret=KEY, now=NOW)
    assert len(m.body) <= 330 and m.body.endswith("Reply '4821 ack' or '4821 close'.")
    assert "https://" not in m.body


def test_a_bundle_counts_its_pages_and_acts_on_all_of_them():
    rows = [_row(subject=f"alert {i}", idempotency_key=f"k{i}") for i in range(7)]
    m = compose(rows, "sms", to="+14155550100", public_url="https://t", secret=KEY, now=NOW)
    assert m.subject.startswith("7 pages: alert 0") and "(all of them)" in m.body
    assert len(m.data["alert_ids"]) == 7
    email = compose(rows, "email", to="a@example.com", public_url="https://t", secret=KEY, now=NOW)
    assert "... and 2 more" in email.body and email.data["links"] == {}


def test_an_incident_page_offers_taking_command_not_resolving():
    incident = uuid.uuid4()
    m = compose([_row(kind="incident", alert_id=None, incident_id=incident)], "email", to="a@example.com",
                public_url="https://t", secret=KEY, now=NOW)
    assert set(m.data["links"]) == {"ack", "view"}
    assert m.data["links"]["view"] == f"https://t/incidents/{incident}", "the console room, behind its login"
    assert f"View: https://t/incidents/{incident}" in m.body


@pytest.mark.parametrize(("group", "subject", "sms_end"), [
    (GroupPage("g", "checkout", 37, None, 37), "checkout: 37 alerts firing: [critical] Checkout 5xx", "(the whole group)."),
    (GroupPage("g", "checkout", 37, 12, 49), "checkout: 37 alerts firing, 12 new since the first page: "
                                             "[critical] Checkout 5xx", "(the whole group)."),
    (GroupPage("g", "checkout", 1, 0, 3), "checkout: 1 alert firing, 0 new since the first page: [critical] Checkout 5xx",
     "(the whole group)."),
    (GroupPage("g", "checkout", 1, None, 1), "[critical] Checkout 5xx", "'4821 close'."),  # a group of one
])
def test_a_group_page_says_how_the_group_stands_and_links_the_group(group, subject, sms_end):
    email = compose([_row(group=group)], "email", to="a@example.com", public_url="https://t", secret=KEY, now=NOW)
    assert email.subject == subject and email.body.startswith(subject.removesuffix(": [critical] Checkout 5xx")
                                                              if group.many else "Checkout 5xx")
    assert email.data["links"]["view"] == "https://t/api/v1/alerts?group=g"
    assert email.data["group"]["firing"] == group.firing
    sms = compose([_row(group=group)], "sms", to="+14155550100", public_url="https://t", secret=KEY, now=NOW)
    assert sms.body.startswith(f"tocsin: {subject}") and sms.body.endswith(sms_end)
