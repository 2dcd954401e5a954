"""One page per alert group in a storm, through a real SMTP server (aiosmtpd on loopback).

A service pages per alert (every alert starts its own escalation, as services did before the
setting existed) or per alert group (new services' default): the group's first alert starts one
escalation, later alerts join it, each later page says how the group stands now, and
acknowledging the group (API, the page's one-time link, an SMS reply) acknowledges its alerts.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, time moves
only with the ManualClock, the whole engine ticks.
"""

from __future__ import annotations

import re

import pytest
from twilio.request_validator import RequestValidator

from tests.harness.scenario import PUBLIC, SENDER
from tocsin.audit.models import AuditEntry
from tocsin.escalation.models import Escalation

STORM = 50
ACK_LINK = re.compile(r"^Ack: http://tocsin\.test(/n/[\w.-]+)\r?$", re.MULTILINE)
REPLY = re.compile(r"Reply '(\d{4,5}) ack'")


def storm(rb, n, *, start=0, service="checkout"):
    """`n` different alerts fire on `service` at once (one ingest batch); return their ids."""
    outs = rb.ingest(*[rb.event(f"pod-{i}-down", summary=f"pod {i} is down") for i in range(start, start + n)],
                     service=service)
    assert [o.outcome for o in outs] == ["created"] * n
    return [o.alert_id for o in outs]


def body_of(mail):
    return mail.get_body(("plain",)).get_content()


@pytest.fixture
def rb(runbook):
    """Alice then Bob, five minutes each; checkout is added by each scenario with its paging unit."""
    runbook.person("Alice")
    runbook.person("Bob")
    return runbook


def test_a_storm_on_a_per_group_service_pages_once_and_the_page_grows_with_the_group(rb):
    # Runbook: 50 alerts fire on checkout → Alice gets ONE email for the group → 10 more join →
    # 5 minutes pass → Bob's page says 60 firing, 10 new → Bob acknowledges from the email's link →
    # all 60 are acknowledged → nothing more, ever.
    rb.service("checkout", tier=1)  # a new service: one page per group
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    ids = storm(rb, STORM)
    rb.tick()
    mail = rb.expect_email("Alice", "checkout: 50 alerts firing")
    assert "new since the first page" not in mail["Subject"], "the first page has nothing earlier to count from"
    rb.expect_nothing_more()
    (esc,) = rb.rows(Escalation)
    assert esc.alert_id == ids[0] and esc.group_id == rb.alert(ids[0]).group_id
    assert "paged with its alert group" in rb.decisions(ids[1], "paged_with_group")[0]

    rb.tick(minutes=1)
    later = storm(rb, 10, start=STORM)
    rb.tick(minutes=4)
    page = rb.expect_email("Bob", "checkout: 60 alerts firing, 10 new since the first page")
    rb.expect_nothing_more()
    assert len(rb.rows(Escalation)) == 1, "joining alerts start no escalation of their own"

    link = ACK_LINK.search(body_of(page)).group(1)
    confirm = rb.http.get(link)
    assert confirm.status_code == 200 and "acknowledge the alert group" in confirm.text
    done = rb.http.post(link)
    assert done.status_code == 200 and "Acknowledged 60 alerts of the group" in done.text
    assert {rb.alert(a).status for a in ids + later} == {"acknowledged"}
    assert rb.rows(Escalation)[0].status == "stopped"
    for _ in range(3):
        rb.tick(minutes=5)
    rb.expect_nothing_more()


def test_the_same_storm_on_a_per_alert_service_pages_every_alert(rb):
    # Runbook: the service pages per alert (as every service did before) → 50 alerts → 50 emails.
    rb.service("checkout", tier=1, paging_unit="alert")
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    ids = storm(rb, STORM)
    rb.tick()
    subjects = sorted(m["Subject"] for m in rb.emails("Alice"))
    assert subjects == sorted(f"[critical] pod {i} is down" for i in range(STORM))
    assert len(rb.rows(Escalation)) == STORM
    assert all(e.group_id is None for e in rb.rows(Escalation))
    # acknowledging one alert stops only its own paging
    rb.ack(ids[0], "Alice")
    rb.tick(minutes=5)
    assert len(rb.emails("Bob")) == STORM - 1


def test_acknowledging_the_group_through_the_api_acknowledges_all_its_alerts(rb):
    # Runbook: 50 alerts → Alice is emailed once → Alice acknowledges the group in the API → every
    # alert is acknowledged, one audit record says so → Bob is never paged.
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    ids = storm(rb, STORM)
    rb.tick()
    rb.expect_email("Alice", "checkout: 50 alerts firing")
    group = rb.alert(ids[0]).group_id
    out = rb.as_("Alice").post(f"/alert-groups/{group}/acknowledge", 200)
    assert sorted(out["alert_ids"]) == sorted(str(a) for a in ids) and out["group"]["alert_count"] == STORM
    assert {rb.alert(a).status for a in ids} == {"acknowledged"}
    (audit,) = rb.rows(AuditEntry, AuditEntry.action == "alert_group.acknowledge")
    assert audit.target_id == str(group) and audit.details["alerts"] == STORM
    # nothing left to acknowledge: a clear 409, not a 500
    again = rb.http.post(f"/api/v1/alert-groups/{group}/acknowledge", headers=rb.people["Alice"].headers)
    assert again.status_code == 409
    for _ in range(3):
        rb.tick(minutes=5)
    rb.expect_nothing_more()


def test_the_group_pages_until_its_last_open_alert_is_acknowledged(rb):
    # Runbook: three alerts → Alice is emailed once → Alice acknowledges two of them one by one →
    # the group still has a triggered alert: Bob is paged (1 firing) → Bob acknowledges the last →
    # paging stops.
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    ids = storm(rb, 3)
    rb.tick()
    rb.expect_email("Alice", "checkout: 3 alerts firing")
    rb.ack(ids[0], "Alice")  # the group's first alert, which its escalation is anchored on
    rb.ack(ids[1], "Alice")
    rb.tick(minutes=5)
    rb.expect_email("Bob", "checkout: 1 alert firing, 0 new since the first page")
    rb.ack(ids[2], "Bob")
    esc = rb.rows(Escalation)[0]
    assert esc.status == "stopped" and "no alert of the group is triggered" in esc.stop_reason
    for _ in range(3):
        rb.tick(minutes=5)
    rb.expect_nothing_more()


def test_a_new_group_after_the_first_resolves_pages_again(rb):
    # Runbook: a storm pages Alice once → the source resolves every alert → the group closes and its
    # paging stops → the next alert opens a new group → Alice is paged again, for the new group.
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    ids = storm(rb, 5)
    rb.tick()
    rb.expect_email("Alice", "checkout: 5 alerts firing")
    first_group = rb.alert(ids[0]).group_id
    rb.ingest(*[rb.event(f"pod-{i}-down", action="resolve", summary="ok") for i in range(5)], service="checkout")
    assert rb.rows(Escalation)[0].status == "stopped"
    rb.tick(minutes=5)
    rb.expect_nothing_more()  # Bob is not paged for a resolved group

    (again,) = storm(rb, 1, start=100)
    assert rb.alert(again).group_id != first_group
    rb.tick()
    mail = rb.expect_email("Alice", "[critical] pod 100 is down")
    assert "firing" not in mail["Subject"], "a group of one pages in the words of its alert"
    rb.expect_nothing_more()
    assert len(rb.rows(Escalation)) == 2


def test_an_sms_reply_to_a_group_page_acknowledges_the_whole_group(rb):
    # Runbook: Alice is paged by SMS for a storm of 20 → she replies "<code> ack" → all 20 are acknowledged.
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    sms = rb.contact("Alice", "sms", "+14155550177")
    rb.rules("Alice", (sms, 0))
    ids = storm(rb, 20)
    rb.tick()
    text = rb.expect_sms("+14155550177", "checkout: 20 alerts firing", "(the whole group)")
    rb.expect_nothing_more()
    code = REPLY.search(text).group(1)
    form = {"From": "+14155550177", "To": SENDER, "Body": f"{code} ack", "MessageSid": "SM" + "7" * 32}
    sig = RequestValidator(rb.twilio.auth_token).compute_signature(PUBLIC + "/integrations/twilio/sms", form)
    reply = rb.http.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert reply.status_code == 200 and "Acknowledged 20 alerts of the group" in reply.text
    assert {rb.alert(a).status for a in ids} == {"acknowledged"}
    rb.tick(minutes=5)
    rb.expect_nothing_more()


def test_the_paging_unit_is_shown_validated_and_audited_in_the_api(rb):
    rb.person("Admin", role="admin")
    rb.service("checkout", tier=1)
    api = rb.as_("Admin")
    assert api.get("/services/checkout")["paging_unit"] == "group"
    assert api.post("/services", 201, name="Search")["paging_unit"] == "group", "new services: per group"
    assert api.post("/services", 201, name="Legacy", paging_unit="alert")["paging_unit"] == "alert"
    bad = rb.http.patch("/api/v1/services/checkout", json={"paging_unit": "incident"},
                        headers=rb.people["Admin"].headers)
    assert bad.status_code == 422 and "paging_unit" in bad.text
    assert api.patch("/services/checkout", paging_unit="alert")["paging_unit"] == "alert"
    (audit,) = rb.rows(AuditEntry, AuditEntry.action == "service.update")
    assert audit.details == {"paging_unit": "alert"}
