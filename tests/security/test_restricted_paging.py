"""Need-to-know through paging and participation (issue 14, item 2).

A restricted incident exists only for admins, security-team members and its participants. Paging
for an Incident Commander must not be a way round that: only people who may already see the
incident are paged (the service's escalation policy, filtered; a level that reaches nobody who may
pages the security team, or the admins when it has no members), every channel carries neutral
words (no title, no service, no ref), and acknowledging a page (link or SMS reply) never makes
someone who may not see the incident its commander.

Written on the scenario runbook (tests/harness/scenario.py): real SMTP, the fake Twilio and Slack
speaking their wire formats, the webhook receiver, the whole engine on a ManualClock.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from tests.harness.scenario import PUBLIC
from tests.harness.slack import CHANNEL
from tocsin.flows import incidents as incident_flows
from tocsin.incidents import service as incidents
from tocsin.incidents.types import Kind
from tocsin.severities import Severity

TITLE = "Payroll export copied by a contractor"
ACK_LINK = re.compile(r"^Ack: (http://tocsin\.test/n/[\w.-]+)\r?$", re.MULTILINE)
REPLY = re.compile(r"Reply '(\d{4,5}) ack'")


@pytest.fixture
def rb(runbook, make_team):
    """checkout (tier 1) with a schedule `primary` where Alice is on call, and a security team `sec`."""
    runbook.service("checkout", tier=1)
    runbook.person("Alice")
    runbook.schedule("primary", "Alice", start=runbook.now - timedelta(days=1))
    make_team("sec", is_security=True)
    return runbook


def declare(rb, *, kind=Kind.security, severity=Severity.SEV1, restricted=None):
    """An incident on checkout without an Incident Commander (the CLI operator declares it)."""
    with rb.db.unit_of_work() as s:
        inc = incident_flows.declare(s, actor=rb.system, now=rb.now, spec=incidents.Declaration(
            title=TITLE, severity=severity, kind=kind, services=["checkout"], restricted=restricted))
        return inc.id, inc.number


def leaks(text, number):
    """What of the incident `text` gives away: its title, its service, its ref."""
    return [w for w in (TITLE, "Payroll", "checkout", f"INC-{number}") if w in text]


def take_override(rb, name):
    """`name` puts themselves on call in `primary` for a day, through the API (any responder may)."""
    rb.as_(name).post("/schedules/primary/overrides", starts_at=rb.now.isoformat(),
                      ends_at=(rb.now + timedelta(days=1)).isoformat())


def sms_reply(rb, number, text):
    form = {"From": number, "To": "+15005550006", "Body": text, "MessageSid": "SM" + "0" * 32}
    sig = RequestValidator(rb.twilio.auth_token).compute_signature(PUBLIC + "/integrations/twilio/sms", form)
    return rb.http.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})


def commander(rb, number, who):
    roles = rb.as_(who).get(f"/incidents/INC-{number}/roles")["current"]
    return [r["user"]["email"] for r in roles if r["role"] == "incident_commander"]


# --- the attack: an override, a page, an ack --------------------------------------------------------

@pytest.mark.both_backends
def test_a_responder_on_call_by_override_is_not_paged_for_a_restricted_incident_nor_let_in(rb):
    """Mallory puts herself on call with an override; a restricted security SEV1 without a
    commander is declared on checkout. Before the fix the page reached her with the ref and title,
    and its ack link made her IC and so a participant who could read everything."""
    mallory = rb.person("Mallory")
    sms = rb.contact("Mallory", "sms", "+14155550166")
    email = rb.contact("Mallory", "email", mallory.email)
    rb.rules("Mallory", (email, 0), (sms, 0))
    rb.person("Sam", teams=["sec"])
    rb.policy((5, ["schedule:primary"]))
    take_override(rb, "Mallory")
    inc_id, number = declare(rb)
    rb.tick()

    assert rb.emails("Mallory") == [] and rb.sms("+14155550166") == [], "she may not see it: not paged"
    page = rb.expect_email("Sam", "A restricted incident needs an Incident Commander")
    assert leaks(page["Subject"] + page.get_body(("plain",)).get_content(), number) == []
    rb.expect_nothing_more()
    assert any("Mallory" in e.text and "may not see" in e.text for e in rb.timeline(inc_id, "paging"))
    rb.as_("Mallory").get(f"/incidents/INC-{number}", 404)
    rb.as_("Mallory").get(f"/incidents/{inc_id}/roles", 404)


@pytest.mark.both_backends
def test_an_ack_link_sent_before_the_incident_was_restricted_does_not_let_its_holder_in(rb):
    """An operational SEV1 pages Mallory (on call, and it was not restricted then). An admin then
    restricts it. Her ack link no longer shows the title and does not make her IC; her delayed SMS
    is not sent, and level 2 (Bob, who may not see it either) gives way to the security team."""
    mallory = rb.person("Mallory")
    rb.person("Bob")
    rb.person("Ada", role="admin")
    rb.person("Sam", teams=["sec"])
    sms = rb.contact("Mallory", "sms", "+14155550166")
    email = rb.contact("Mallory", "email", mallory.email)
    rb.rules("Mallory", (email, 0), (sms, 5))
    rb.policy((5, ["schedule:primary"]), (5, ["Bob"]))
    take_override(rb, "Mallory")
    inc_id, number = declare(rb, kind=Kind.operational)
    rb.tick()
    mail = rb.expect_email("Mallory", TITLE)  # not restricted yet: she may see it
    url = ACK_LINK.search(mail.get_body(("plain",)).get_content()).group(1)

    rb.as_("Ada").patch(f"/incidents/INC-{number}", restricted=True)
    preview = rb.http.get(url.removeprefix(PUBLIC))
    assert preview.status_code == 200 and leaks(preview.text, number) == []
    done = rb.http.post(url.removeprefix(PUBLIC))
    assert done.status_code == 403 and leaks(done.text, number) == []
    rb.as_("Mallory").get(f"/incidents/INC-{number}", 404)
    assert commander(rb, number, "Ada") == []

    rb.tick(minutes=5)
    assert rb.sms("+14155550166") == [], "her delayed SMS is not sent once she may not see the incident"
    assert rb.emails("Bob") == []
    page = rb.expect_email("Sam", "A restricted incident needs an Incident Commander")
    assert leaks(page["Subject"] + page.get_body(("plain",)).get_content(), number) == []
    rb.expect_nothing_more()


# --- every channel is neutral ------------------------------------------------------------------------

def test_every_channel_of_a_restricted_page_is_neutral_and_the_sms_ack_makes_an_allowed_person_ic(rb):
    sam = rb.person("Sam", teams=["sec"])
    methods = [rb.contact("Sam", "email", sam.email), rb.contact("Sam", "sms", "+14155550177"),
               rb.contact("Sam", "voice", "+14155550178"), rb.contact("Sam", "webhook", rb.receiver.url()),
               rb.contact("Sam", "slack", CHANNEL)]
    rb.rules("Sam", *[(m, 0) for m in methods])
    rb.policy((5, ["Sam"]))
    inc_id, number = declare(rb, kind=Kind.operational, severity=Severity.SEV2, restricted=True)
    rb.tick()

    mail = rb.expect_email("Sam", "A restricted incident needs an Incident Commander")
    body = mail.get_body(("plain",)).get_content()
    assert leaks(mail["Subject"] + body, number) == []
    assert f"{PUBLIC}/incidents/{inc_id}" in body, "a link that needs a login says where to look"
    text = rb.expect_sms("+14155550177", "restricted incident")
    call = rb.expect_call("+14155550178", "restricted incident")
    hook = rb.expect_webhook("restricted incident")
    post = rb.expect_slack(CHANNEL, "restricted incident")
    rb.expect_nothing_more()
    for what in (text, call, hook.body.decode(), post.text, json.dumps(post.blocks)):
        assert leaks(what, number) == [], what

    reply = sms_reply(rb, "+14155550177", f"{REPLY.search(text).group(1)} ack")
    assert reply.status_code == 200 and "Incident Commander" in reply.text
    assert leaks(reply.text, number) == [], "the SMS answer is neutral too"
    assert commander(rb, number, "Sam") == [sam.email]


# --- the rest of the class ---------------------------------------------------------------------------

def test_an_auto_incident_rule_of_kind_security_pages_the_on_call_for_the_alert_only(rb):
    """A security auto-incident rule declares a restricted incident from an alert. Mallory, on call
    by her own override, is paged for the alert (alerts are not need-to-know) but not for the
    incident; acknowledging the alert does not let her into the incident."""
    rb.person("Mallory")
    rb.person("Ada", role="admin")
    rb.person("Sam", teams=["sec"])
    rb.policy((5, ["schedule:primary"]))
    take_override(rb, "Mallory")
    rb.as_("Ada").post("/auto-incident-rules", name="exfiltration", matchers=['alertname="payroll-export"'],
                       incident_severity="SEV1", incident_kind="security")
    alert = rb.trigger("payroll-export", summary="payroll-export", alertname="payroll-export")
    rb.tick()
    inc = rb.alert(alert).incident_id
    assert inc is not None, "the rule declared an incident"
    number = rb.as_("Ada").get(f"/incidents/{inc}")["ref"].removeprefix("INC-")
    page = rb.expect_email("Mallory", "payroll-export")  # the alert's own page
    assert "Incident Commander" not in page["Subject"]
    mail = rb.expect_email("Sam", "A restricted incident needs an Incident Commander")
    assert f"INC-{number}" not in mail["Subject"] + mail.get_body(("plain",)).get_content()
    rb.expect_nothing_more()
    rb.as_("Mallory").post(f"/alerts/{alert}/acknowledge", 200)
    rb.as_("Mallory").get(f"/incidents/{inc}", 404)
    assert rb.as_("Mallory").get(f"/alerts/{alert}")["incident"] is None


def test_without_a_security_team_the_admins_are_paged_for_a_restricted_incident(rb):
    rb.person("Mallory")
    rb.person("Ada", role="admin")
    rb.policy((5, ["schedule:primary"]))
    take_override(rb, "Mallory")
    inc_id, _number = declare(rb)
    rb.tick()
    rb.expect_email("Ada", "A restricted incident needs an Incident Commander")
    rb.expect_nothing_more()
    assert rb.escalation(incident_id=inc_id).status == "active", "it goes on until someone takes command"


def test_a_reminder_for_an_item_of_a_restricted_incident_does_not_carry_its_title(rb):
    rb.configure(action_reminder_days_before=2)
    sam = rb.person("Sam", teams=["sec"])
    inc_id, number = declare(rb, severity=Severity.SEV3)
    item = rb.as_("Sam").post("/action-items", title="Rotate the payroll export keys", type="prevent", owner="me",
                              incident=f"INC-{number}", due_at=(rb.now + timedelta(days=1)).isoformat())
    rb.tick()
    mail = rb.expect_email("Sam", item["ref"])
    text = mail["Subject"] + mail.get_body(("plain",)).get_content()
    assert "payroll" not in text.lower() and sam.email not in mail["Subject"]
    assert f"{PUBLIC}/api/v1/action-items/{item['ref']}" in text, "the link (behind a login) is enough"


def test_a_tracker_sync_queued_before_the_incident_was_restricted_goes_out_neutral(rb):
    rb.configure(action_sync_url=rb.receiver.url())
    rb.person("Alice")
    rb.person("Ada", role="admin")
    inc = rb.as_("Alice").post("/incidents", title="Checkout down", severity="SEV3")
    item = rb.as_("Alice").post("/action-items", title="Rotate the payroll export keys", type="prevent",
                                incident=inc["ref"])
    rb.as_("Ada").patch(f"/incidents/{inc['ref']}", restricted=True)  # before the engine sent the sync
    rb.tick()
    post = rb.expect_webhook(item["ref"])
    sent = json.loads(post.body)["action_item"]
    assert (sent["title"], sent["description"], sent["incident_restricted"]) == (
        f"Restricted action item {item['ref']}", "", True)
    assert b"payroll" not in post.body.lower()
