"""Paging through every channel, as the people paged meet it: personal notification rules
(email at once, SMS later, a call later still), an acknowledgement that cancels what has not
gone out yet, a dead number falling through to email, a provider outage retried, SMS rate
limits with bundling, SMS replies and one-time links that acknowledge, webhooks and Slack,
teams, incident paging for an Incident Commander, an engine restart, and a DST handoff.

Written on the harness's runbook (tests/harness/scenario.py). The whole pipeline runs: alerts
enter through `ingest`, the whole engine ticks on a ManualClock, and messages go to providers
that record what they received: a real SMTP server (aiosmtpd), a fake Twilio and a fake Slack
speaking their wire formats, and a local webhook receiver. The API and the action links are
driven through the app's TestClient (`rb.http`). Every scenario runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from tests.harness.scenario import PUBLIC, SENDER
from tests.harness.slack import CHANNEL
from tocsin.escalation.models import Notification
from tocsin.flows import incidents as incident_flows
from tocsin.incidents import service as incidents
from tocsin.incidents.models import RoleAssignment
from tocsin.incidents.types import Role
from tocsin.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from tocsin.severities import Severity
from tocsin.users.service import require_user, update_user

DEAD_NUMBER = "+15005550001"  # the fake answers 400 / 21211 for it, as Twilio does
ACK_LINK = re.compile(r"^Ack: (http://tocsin\.test/n/([\w.-]+))\r?$", re.MULTILINE)
REPLY = re.compile(r"Reply '(\d{4,5}) ack'")


@pytest.fixture
def rb(runbook):
    """The runbook with the service checkout (tier 1); people are added by each scenario."""
    runbook.service("checkout", tier=1, paging_unit="alert")  # each alert's own page, per channel
    return runbook


def ack_link(text):
    found = ACK_LINK.search(text)
    assert found, f"no Ack link in {text!r}"
    return found.group(1), found.group(2)


def path_of(url):
    assert url.startswith(PUBLIC + "/n/")
    return url.removeprefix(PUBLIC)


# --- 1. personal rules -----------------------------------------------------------------------------

def test_personal_rules_email_then_sms_then_a_call_that_the_ack_prevents(rb):
    """Alice sets up her contact methods in the API: her account email, her mobile (SMS) and the
    same phone for calls, each verified with the code it received; rules: email at once, SMS
    after 2 min, a call after 5 min. Alert → email now → +2 min SMS → she acks at +3 min →
    no call ever."""
    alice = rb.person("Alice")
    api, h = rb.http, alice.headers
    email = api.post("/api/v1/users/me/contact-methods", headers=h, json={"type": "email", "address": alice.email})
    assert email.status_code == 201 and email.json()["verified"] is True, "her own account address needs no code"
    sms = api.post("/api/v1/users/me/contact-methods", headers=h,
                   json={"type": "sms", "address": "+1 (415) 555-0100", "label": "mobile"}).json()
    assert (sms["address"], sms["verified"]) == ("+14155550100", False)
    refused = api.post("/api/v1/users/me/notification-rules", headers=h,
                       json={"contact_method_id": sms["id"], "delay_minutes": 2})
    assert refused.status_code == 409, "an unverified number cannot page"

    sent = api.post(f"/api/v1/contact-methods/{sms['id']}/send-code", headers=h).json()
    assert sent["sent"] is True, sent
    text = rb.expect_sms("+14155550100", "code is")
    code = re.search(r"code is (\d{6})", text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    assert api.post(f"/api/v1/contact-methods/{sms['id']}/verify", headers=h, json={"code": wrong}).json() == \
        {"verified": False}
    assert api.post(f"/api/v1/contact-methods/{sms['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    voice = api.post("/api/v1/users/me/contact-methods", headers=h,
                     json={"type": "voice", "address": "+14155550100"}).json()
    assert api.post(f"/api/v1/contact-methods/{voice['id']}/send-code", headers=h).json()["sent"] is True
    twiml = rb.expect_call("+14155550100", "code is")
    code = re.search(r"code is (\d{6})", twiml).group(1)
    assert api.post(f"/api/v1/contact-methods/{voice['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    for rule in api.get("/api/v1/users/me/notification-rules", headers=h).json()["items"]:  # drop the automatic one
        assert api.delete(f"/api/v1/notification-rules/{rule['id']}", headers=h).status_code == 204
    for method_id, delay in ((email.json()["id"], 0), (sms["id"], 2), (voice["id"], 5)):
        r = api.post("/api/v1/users/me/notification-rules", headers=h,
                     json={"contact_method_id": method_id, "delay_minutes": delay})
        assert r.status_code == 201, r.text
    assert [(r["channel"], r["delay_minutes"]) for r in
            api.get("/api/v1/users/me/notification-rules", headers=h).json()["items"]] == [("email", 0), ("sms", 2),
                                                                                   ("voice", 5)]
    rb.expect_nothing_more()

    rb.policy((30, ["Alice"]))
    alert = rb.trigger()
    rb.tick()
    rb.expect_email("Alice", "checkout-5xx is failing")
    rb.expect_nothing_more()  # no SMS before 2 minutes

    rb.tick(minutes=1, seconds=59)
    rb.expect_nothing_more()
    rb.tick(seconds=1)
    rb.expect_sms("+14155550100", "checkout-5xx is failing")

    rb.clock.advance(minutes=1)
    assert api.post(f"/api/v1/alerts/{alert}/acknowledge", headers=h).status_code == 200
    for _ in range(10):
        rb.tick(minutes=1)
    rb.expect_nothing_more()  # no call after the ack, nor any other message
    shown = {n["channel"]: (n["status"], n["last_error"])
             for n in api.get(f"/api/v1/alerts/{alert}/notifications", headers=h).json()["items"]}
    assert shown == {"email": ("sent", None), "sms": ("sent", None),
                     "voice": ("cancelled", "not sent: the alert was acknowledged first")}


# --- 2. ack before a delayed rule ------------------------------------------------------------------

def test_ack_before_a_delayed_sms_cancels_it_with_the_reason(rb):
    bob = rb.person("Bob")
    email = rb.contact("Bob", "email", bob.email)
    sms = rb.contact("Bob", "sms", "+14155550111")
    rb.rules("Bob", (email, 0), (sms, 5))
    rb.policy((30, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.expect_email("Bob", "checkout-5xx is failing")
    rb.tick(minutes=1)
    rb.ack(alert, "Bob")
    for _ in range(6):
        rb.tick(minutes=1)
    assert rb.twilio.received == [], "nothing reached Twilio"
    rb.expect_nothing_more()
    (row,) = rb.notifications(channel="sms")
    assert (row.status, row.last_error, row.attempts, row.sent_at) == \
        ("cancelled", "not sent: the alert was acknowledged first", 0, None)
    shown = rb.http.get("/api/v1/users/me/notifications", headers=bob.headers).json()["items"]
    assert [(n["channel"], n["status"]) for n in shown] == [("sms", "cancelled"), ("email", "sent")]


# --- 3. permanent failure falls through ------------------------------------------------------------

def test_a_dead_number_falls_through_to_the_other_verified_method(rb):
    carol = rb.person("Carol")
    rb.contact("Carol", "email", carol.email)  # verified, but no rule: only a fallback
    sms = rb.contact("Carol", "sms", DEAD_NUMBER)
    rb.rules("Carol", (sms, 0))
    rb.policy((30, ["Carol"]))
    alert = rb.trigger()
    rb.tick()
    (failed,) = rb.notifications(channel="sms")
    assert failed.status == "failed" and "21211" in failed.last_error and DEAD_NUMBER in failed.last_error
    assert failed.attempts == 1, "a permanent failure is not retried"
    rb.tick()
    (mail,) = rb.emails("Carol")
    assert "checkout-5xx is failing" in mail["Subject"]
    assert ack_link(mail.get_body(("plain",)).get_content())
    assert [r.status for r in rb.notifications(channel="email")] == ["sent"]
    (why,) = rb.decisions(alert, "notification_failed")
    assert why.startswith("page to Carol by sms failed: Twilio error 21211")
    assert why.endswith("; falling through to email")
    for _ in range(5):
        rb.tick(minutes=1)
    assert len(rb.emails("Carol")) == 1 and len(rb.twilio.received) == 1, "each tried once"


def test_twilio_reporting_an_sms_undelivered_falls_through_too(rb):
    """Twilio accepted the SMS, then reports (status callback) that the carrier could not deliver it:
    the page falls through to email; a forged callback changes nothing."""
    carol = rb.person("Carol")
    rb.contact("Carol", "email", carol.email)
    sms = rb.contact("Carol", "sms", "+14155550100")
    rb.rules("Carol", (sms, 0))
    rb.policy((30, ["Carol"]))
    alert = rb.trigger()
    rb.tick()
    (sent,) = [r for r in rb.twilio.received if r.resource == "Messages"]
    assert sent.form["StatusCallback"] == PUBLIC + "/integrations/twilio/status"
    url = PUBLIC + "/integrations/twilio/status"
    form = {"MessageSid": sent.sid, "MessageStatus": "undelivered", "ErrorCode": "30003", "To": "+14155550100"}
    forged = rb.http.post("/integrations/twilio/status", data=form, headers={"X-Twilio-Signature": "eA=="})
    assert forged.status_code == 403 and rb.notifications(channel="sms")[0].status == "sent"
    sig = RequestValidator(rb.twilio.auth_token).compute_signature(url, form)
    assert rb.http.post("/integrations/twilio/status", data=form,
                        headers={"X-Twilio-Signature": sig}).status_code == 204
    (row,) = rb.notifications(channel="sms")
    assert (row.status, row.last_error) == ("failed", "Twilio reported undelivered (error 30003)")
    rb.tick()
    assert len(rb.emails("Carol")) == 1
    (why,) = rb.decisions(alert, "notification_failed")
    assert why == "page to Carol by sms failed: Twilio reported undelivered (error 30003); falling through to email"


# --- 4. provider outage then recovery --------------------------------------------------------------

def test_twilio_outage_is_retried_with_backoff_and_delivered_once(rb):
    rb.person("Dave")
    sms = rb.contact("Dave", "sms", "+14155550122")
    rb.rules("Dave", (sms, 0))
    rb.policy((30, ["Dave"]))
    rb.twilio.down = True
    rb.trigger()
    rb.tick()
    (row,) = rb.notifications(channel="sms")
    assert (row.status, row.attempts) == ("queued", 1)
    assert "503" in row.last_error and row.send_after == rb.start + timedelta(seconds=30)

    rb.twilio.down = False
    rb.tick(seconds=29)
    assert rb.sms("+14155550122") == [], "not before the backoff has passed"
    rb.tick(seconds=1)
    rb.expect_sms("+14155550122", "checkout-5xx is failing")
    for _ in range(5):
        rb.tick(minutes=1)
    assert len(rb.sms("+14155550122")) == 1, "delivered exactly once"
    (row,) = rb.notifications(channel="sms")
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert row.provider_id.startswith("SM")


# --- 5. SMS rate limit and bundling ----------------------------------------------------------------

def test_sms_rate_limit_holds_pages_back_and_sends_them_as_one_bundle(rb):
    """Seven alerts page Eve by SMS within a minute: five SMS go out; the other two wait for the
    15-minute window and arrive as one SMS that says how many pages it carries; replying to it
    acknowledges both."""
    rb.person("Eve")
    sms = rb.contact("Eve", "sms", "+14155550133")
    rb.rules("Eve", (sms, 0))
    rb.policy((60, ["Eve"]))
    ids = []
    for i in range(7):
        ids.append(rb.trigger(key=f"disk-{i}"))
        rb.tick()
        rb.clock.advance(seconds=8)
    assert len(rb.sms("+14155550133")) == 5
    held = [r for r in rb.notifications(channel="sms") if r.status == "queued"]
    assert [r.alert_id for r in held] == ids[5:]
    assert all(r.last_error.startswith("throttled: 5 sms to this number in 15 min") for r in held)

    rb.clock.set(rb.start + timedelta(minutes=14, seconds=59))
    rb.tick()
    assert len(rb.sms("+14155550133")) == 5, "the window has not freed yet"
    rb.clock.set(rb.start + timedelta(minutes=15))
    rb.tick()
    texts = rb.sms("+14155550133")
    assert len(texts) == 6, "the two held pages arrive as ONE SMS"
    bundle = texts[-1]
    assert bundle.startswith("tocsin: 2 pages: [critical] disk-5 is failing"), bundle
    assert bundle.endswith("(all of them).")
    rows = {r.alert_id: r for r in rb.notifications(channel="sms")}
    head, member = rows[ids[5]], rows[ids[6]]
    assert (head.status, head.bundle_id) == ("sent", None)
    assert (member.status, member.bundle_id) == ("bundled", head.id)
    for _ in range(20):
        rb.tick(minutes=1)
    assert len(rb.sms("+14155550133")) == 6

    code = REPLY.search(bundle).group(1)
    reply = _twilio_post(rb, {"From": "+14155550133", "To": SENDER, "Body": f"{code} ack",
                              "MessageSid": "SM" + "4" * 32})
    assert reply.status_code == 200 and "disk-5" in reply.text and "disk-6" in reply.text
    assert [rb.alert(a).status for a in ids] == ["triggered"] * 5 + ["acknowledged"] * 2


def _held_bundle(rb, number):
    """Five SMS pages go to `number` within a minute and two more are held back; when the window frees,
    Twilio is down, so the bundle (its first page carrying the second) waits for a retry. Return the
    alert ids."""
    rb.person("Eve")
    sms = rb.contact("Eve", "sms", number)
    rb.rules("Eve", (sms, 0))
    rb.policy((60, ["Eve"]))
    ids = []
    for i in range(7):
        ids.append(rb.trigger(key=f"disk-{i}"))
        rb.tick()
        rb.clock.advance(seconds=8)
    rb.twilio.down = True
    rb.clock.set(rb.start + timedelta(minutes=15))
    rb.tick()
    rows = {r.alert_id: r for r in rb.notifications(channel="sms")}
    assert (rows[ids[5]].status, rows[ids[6]].status, rows[ids[6]].bundle_id) == \
        ("queued", "bundled", rows[ids[5]].id)
    rb.twilio.down = False
    return ids


def test_a_held_page_is_not_lost_when_its_bundle_is_cancelled(rb):
    """The first page of a waiting bundle is acknowledged (by hand) before the retry: the other page
    in the bundle still reaches Eve, on its own."""
    ids = _held_bundle(rb, "+14155550155")
    rb.ack(ids[5], "Eve")
    for _ in range(3):
        rb.tick(seconds=30)
    texts = rb.sms("+14155550155")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: [critical] disk-6 is failing"), texts[5:]
    rows = {r.alert_id: r for r in rb.notifications(channel="sms")}
    assert rows[ids[5]].status == "cancelled" and rows[ids[6]].status == "sent"


def test_a_held_bundle_joining_a_later_bundle_keeps_every_page(rb):
    """While the bundle waits for its retry, another alert is written but the delivery module lags
    (it runs in another engine); when delivery catches up, every page is in the one SMS that goes out."""
    ids = _held_bundle(rb, "+14155550166")
    rb.clock.advance(seconds=5)
    late = rb.trigger(key="disk-late")
    rb.new_engine("escalations").tick()
    rb.tick(seconds=25)
    texts = rb.sms("+14155550166")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: 3 pages: "), texts[5:]
    rows = {r.alert_id: r for r in rb.notifications(channel="sms")}
    assert [rows[a].status for a in (late, ids[5], ids[6])] == ["sent", "bundled", "bundled"]
    code = REPLY.search(texts[-1]).group(1)
    reply = {"From": "+14155550166", "To": SENDER, "Body": f"{code} ack", "MessageSid": "SM" + "6" * 32}
    assert _twilio_post(rb, reply).status_code == 200
    assert [rb.alert(a).status for a in (late, ids[5], ids[6])] == ["acknowledged"] * 3


def test_a_held_page_acknowledged_meanwhile_is_left_out_of_its_bundle(rb):
    ids = _held_bundle(rb, "+14155550177")
    rb.ack(ids[6], "Eve")
    rb.tick(seconds=30)
    texts = rb.sms("+14155550177")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: [critical] disk-5 is failing Reply"), texts[5:]
    rows = {r.alert_id: r for r in rb.notifications(channel="sms")}
    assert (rows[ids[5]].status, rows[ids[6]].status) == ("sent", "cancelled")
    assert rows[ids[6]].last_error == "not sent: the alert was acknowledged first"


def test_rules_for_another_urgency_only_leave_the_account_email(rb):
    # Runbook: Gus only wants SMS for low-urgency alerts; a critical (high-urgency) alert still
    # reaches him, by his account email, rather than nobody.
    rb.person("Gus")
    sms = rb.contact("Gus", "sms", "+14155550177")
    rb.rules("Gus")
    rb.rule("Gus", sms, delay=0, urgency="low")
    rb.policy((60, ["Gus"]))
    rb.trigger()
    rb.tick()
    assert rb.sms("+14155550177") == []
    assert len(rb.emails("Gus")) == 1


def test_two_rules_for_one_method_page_twice(rb):
    rb.person("Eve")
    sms = rb.contact("Eve", "sms", "+14155550188")
    rb.rules("Eve", (sms, 0), (sms, 5))
    rb.policy((60, ["Eve"]))
    rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    assert len(rb.sms("+14155550188")) == 2


# --- 6. SMS reply code -----------------------------------------------------------------------------

def _twilio_post(rb, form, signature=None):
    url = PUBLIC + "/integrations/twilio/sms"
    sig = signature or RequestValidator(rb.twilio.auth_token).compute_signature(url, form)
    return rb.http.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})


def test_an_sms_reply_acknowledges_and_stops_the_escalation(rb):
    frank = rb.person("Frank")
    rb.person("Alice")
    sms = rb.contact("Frank", "sms", "+14155550144")
    rb.rules("Frank", (sms, 0))
    rb.policy((5, ["Frank"]), (5, ["Alice"]))
    alert = rb.trigger()
    rb.tick()
    (text,) = rb.sms("+14155550144")
    code = REPLY.search(text).group(1)
    assert f"Reply '{code} ack' or '{code} close'." in text

    form = {"From": "+14155550144", "To": SENDER, "Body": f"{code} ack", "MessageSid": "SM" + "1" * 32}
    forged = _twilio_post(rb, form, signature="bm90IHR3aWxpbw==")
    assert forged.status_code == 403
    other = _twilio_post(rb, {**form, "Body": f"{code} ack", "From": "+14155550199"})
    assert other.status_code == 200 and f"no page with code {code}" in other.text
    assert rb.alert(alert).status == "triggered", "neither a forged request nor another phone acts"

    reply = _twilio_post(rb, form)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
    assert reply.text.startswith("<?xml") and "<Response><Message>tocsin: Acknowledged: checkout-5xx is failing" \
        in reply.text
    assert rb.alert(alert).status == "acknowledged"
    assert rb.decisions(alert, "acknowledged") == [f"acknowledged by {frank.email}"]
    assert rb.escalation(alert_id=alert).status == "stopped"
    rb.tick(minutes=10)
    assert rb.emails("Alice") == [], "level 2 is never paged"


def test_a_captured_sms_reply_replayed_later_acts_on_nothing(rb):
    """Twilio's signature covers no timestamp. A reply captured in transit and sent again when the same
    reply code is in use for a newer page to that phone must not acknowledge the newer alert."""
    rb.person("Frank")
    sms = rb.contact("Frank", "sms", "+14155550144")
    rb.rules("Frank", (sms, 0))
    rb.policy((30, ["Frank"]))
    first = rb.trigger("first-alert")
    rb.tick()
    code = REPLY.search(rb.sms("+14155550144")[0]).group(1)
    captured = {"From": "+14155550144", "To": SENDER, "Body": f"{code} ack", "MessageSid": "SM" + "2" * 32}
    assert "Acknowledged" in _twilio_post(rb, captured).text
    assert rb.alert(first).status == "acknowledged"

    rb.tick(minutes=1)
    second = rb.trigger("second-alert")
    rb.tick()
    with rb.db.unit_of_work() as s:  # the newer page happens to get the same reply code
        s.execute(sa.update(Notification).where(Notification.destination == "+14155550144",
                                                Notification.reply_code != code).values(reply_code=code))
    replayed = _twilio_post(rb, captured)
    assert replayed.status_code == 200 and "already handled" in replayed.text
    assert rb.alert(second).status == "triggered", "the replay acknowledged nothing"
    without_id = _twilio_post(rb, {k: v for k, v in captured.items() if k != "MessageSid"})
    assert without_id.status_code == 400
    fresh = _twilio_post(rb, {**captured, "MessageSid": "SM" + "3" * 32})
    assert "Acknowledged" in fresh.text and rb.alert(second).status == "acknowledged"


# --- 7. signed one-time link -----------------------------------------------------------------------

def test_the_email_ack_link_confirms_acts_once_and_rejects_tampering(rb):
    grace = rb.person("Grace")  # no rules: her account email, at once
    rb.policy((30, ["Grace"]))
    alert = rb.trigger()
    rb.tick()
    (mail,) = rb.emails("Grace")
    body = mail.get_body(("plain",)).get_content()
    url, token = ack_link(body)
    assert re.search(r"^Resolve: http://tocsin\.test/n/[\w.-]+\r?$", body, re.MULTILINE)

    shown = rb.http.get(path_of(url))
    assert shown.status_code == 200
    assert "Grace: acknowledge?" in shown.text and "checkout-5xx is failing (triggered)" in shown.text
    assert '<form method="post">' in shown.text
    assert rb.alert(alert).status == "triggered", "opening the link does nothing"

    head, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert rb.http.post(f"/n/{head}.{flipped}").status_code == 400
    assert rb.alert(alert).status == "triggered"

    done = rb.http.post(path_of(url))
    assert done.status_code == 200 and "Acknowledged: checkout-5xx is failing" in done.text
    assert rb.decisions(alert, "acknowledged") == [f"acknowledged by {grace.email}"]
    again = rb.http.post(path_of(url))
    assert again.status_code == 410 and "already used" in again.text
    assert rb.http.get(path_of(url)).status_code == 410


# --- 8. webhook contact method ---------------------------------------------------------------------

def test_a_webhook_method_gets_a_signed_page_with_the_ack_link(rb):
    henry = rb.person("Henry")
    api, h = rb.http, henry.headers
    created = api.post("/api/v1/users/me/contact-methods", headers=h,
                       json={"type": "webhook", "address": rb.receiver.url()}).json()
    secret = created["webhook_secret"]
    assert secret.startswith("whsec_")
    assert api.post(f"/api/v1/contact-methods/{created['id']}/send-code", headers=h).json()["sent"] is True
    post = rb.expect_webhook("code is")
    code = re.search(r"code is (\d{6})", json.loads(post.body)["body"]).group(1)
    assert api.post(f"/api/v1/contact-methods/{created['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}
    (rule,) = api.get("/api/v1/users/me/notification-rules", headers=h).json()["items"]
    assert (rule["channel"], rule["delay_minutes"]) == ("webhook", 0), "the first verified method pages at once"

    rb.policy((30, ["Henry"]))
    alert = rb.trigger()
    rb.tick()
    page = rb.expect_webhook("checkout-5xx is failing")
    rb.expect_nothing_more()  # his rules say webhook, not email
    assert verify_webhook(secret, page.body, page.headers[TIMESTAMP_HEADER], page.headers[SIGNATURE_HEADER],
                          now=rb.clock.now())
    assert not verify_webhook(secret, page.body + b" ", page.headers[TIMESTAMP_HEADER],
                              page.headers[SIGNATURE_HEADER], now=rb.clock.now())
    payload = json.loads(page.body)
    assert payload["subject"] == "[critical] checkout-5xx is failing"
    assert payload["data"]["kind"] == "page" and payload["data"]["alert_ids"] == [str(alert)]
    ack = payload["data"]["links"]["ack"]
    assert ack.startswith(PUBLIC + "/n/") and f"Ack: {ack}" in payload["body"]
    assert page.headers["Idempotency-Key"] == payload["id"]
    assert rb.http.post(path_of(ack)).status_code == 200
    assert rb.alert(alert).status == "acknowledged"


# --- 9. Slack contact method -----------------------------------------------------------------------

def test_a_slack_channel_gets_the_page_with_an_acknowledge_button(rb):
    ivy = rb.person("Ivy")
    api, h = rb.http, ivy.headers
    created = api.post("/api/v1/users/me/contact-methods", headers=h,
                       json={"type": "slack", "address": CHANNEL}).json()
    assert api.post(f"/api/v1/contact-methods/{created['id']}/send-code", headers=h).json()["sent"] is True
    code = re.search(r"code is (\d{6})", rb.expect_slack(CHANNEL, "code is").text).group(1)
    assert api.post(f"/api/v1/contact-methods/{created['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    rb.policy((30, ["Ivy"]))
    alert = rb.trigger()
    rb.tick()
    post = rb.expect_slack(CHANNEL, "checkout-5xx is failing")
    rb.expect_nothing_more()
    assert post.path == "/api/chat.postMessage" and post.status == 200 and post.payload["channel"] == CHANNEL
    assert "checkout-5xx is failing" in post.text
    buttons = {e["text"]["text"]: e["url"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]}
    assert buttons["Acknowledge"].startswith(PUBLIC + "/n/")
    assert buttons["Open"] == f"{PUBLIC}/api/v1/alerts/{alert}"
    assert rb.http.post(path_of(buttons["Acknowledge"])).status_code == 200
    assert rb.alert(alert).status == "acknowledged"
    assert [r.status for r in rb.notifications(channel="slack")] == ["sent"]


# --- 10. team target -------------------------------------------------------------------------------

def test_a_team_target_pages_every_active_member(rb):
    rb.team("payments")
    for name in ("Jack", "Kim", "Leo"):
        rb.person(name, teams=["payments"])
    rb.person("Mia")  # not in the team
    with rb.db.unit_of_work() as s:  # Leo has left: his account is deactivated
        update_user(s, actor=rb.system, now=rb.now, user=require_user(s, rb.people["Leo"].id), is_active=False)
    rb.policy((30, ["team:payments"]))
    alert = rb.trigger()
    rb.tick()
    assert [len(rb.emails(n)) for n in ("Jack", "Kim", "Leo", "Mia")] == [1, 1, 0, 0]
    assert rb.decisions(alert, "notified") == [
        "notified Jack (level 1: member of team 'payments') by email",
        "notified Kim (level 1: member of team 'payments') by email"]


# --- 11. incident paging for an Incident Commander -------------------------------------------------

def declare(rb, title, severity):
    """Someone declares an incident on checkout (as the CLI operator)."""
    with rb.db.unit_of_work() as s:
        inc = incident_flows.declare(s, actor=rb.system, now=rb.now, spec=incidents.Declaration(
            title=title, severity=severity, services=["checkout"]))
        return inc.id, inc.number


def test_a_sev1_without_a_commander_pages_and_the_ack_link_makes_an_ic(rb, db):
    rb.person("Alice")
    rb.person("Bob")
    rb.schedule("primary", "Alice", start=rb.now - timedelta(days=1))
    rb.policy((5, ["schedule:primary"]), (5, ["Bob"]))
    inc_id, number = declare(rb, "Checkout is down", Severity.SEV1)
    rb.tick()
    (mail,) = rb.emails("Alice")
    assert mail["Subject"] == f"[SEV1] INC-{number} needs an Incident Commander: Checkout is down"
    body = mail.get_body(("plain",)).get_content()
    assert "Acknowledging this page makes you the Incident Commander." in body
    assert "Resolve:" not in body, "an incident page only offers taking command"
    (row,) = rb.notifications(incident_id=inc_id)
    assert row.kind == "incident" and row.alert_id is None

    url, _token = ack_link(body)
    assert "take Incident Commander for?" in rb.http.get(path_of(url)).text
    done = rb.http.post(path_of(url))
    assert done.status_code == 200 and f"You are now Incident Commander of INC-{number}" in done.text
    with db.unit_of_work() as s:
        holders = s.execute(sa.select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == inc_id, RoleAssignment.role == Role.incident_commander.value,
            RoleAssignment.ended_at.is_(None))).scalars().all()
    assert holders == [rb.people["Alice"].id]
    assert [e.data["step"] for e in rb.timeline(inc_id, "paging")] == [
        "escalation_started", "notified", "escalation_stopped"]
    assert rb.escalation(incident_id=inc_id).status == "stopped"
    rb.tick(minutes=10)
    assert rb.emails("Bob") == [], "level 2 is not paged once there is a commander"

    minor, _number = declare(rb, "Checkout is slow", Severity.SEV3)
    rb.tick()
    rb.tick(minutes=10)
    pages = [r for r in rb.smtp.handler.received if "guardrail" not in r.message["Subject"]]  # Alice's nudges as IC
    assert rb.notifications(incident_id=minor) == [] and len(pages) == 1, "a SEV3 pages nobody"


# --- 12. engine restart mid-escalation -------------------------------------------------------------

def test_a_new_engine_continues_an_escalation_without_loss_or_duplicates(rb):
    rb.person("Alice")
    rb.person("Bob")
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.restart_engine()  # engine A is gone; engine B takes over
    rb.clock.advance(minutes=5)
    for _ in range(3):
        rb.tick()
    assert (len(rb.emails("Alice")), len(rb.emails("Bob"))) == (1, 1)
    assert [(r.status, r.attempts) for r in rb.notifications(alert_id=alert)] == [("sent", 1), ("sent", 1)]
    assert rb.decisions(alert, "escalated") == ["escalated to level 2 of 2: nobody acknowledged within 5 min "
                                                 "of level 1"]


def test_a_send_left_sending_by_a_crashed_engine_is_sent_again_once(rb, db):
    rb.person("Alice")
    rb.policy((30, ["Alice"]))
    rb.trigger()
    rb.new_engine("escalations").tick()
    with db.unit_of_work() as s:  # claimed, then the process died before sending
        row = s.execute(sa.select(Notification)).scalar_one()
        row.status, row.attempts, row.send_after = "sending", 1, rb.clock.now() - timedelta(seconds=1)
    for _ in range(3):
        rb.tick(seconds=10)
    (mail,) = rb.emails("Alice")
    assert [(r.status, r.attempts) for r in rb.notifications()] == [("sent", 2)]


# --- 13. schedule handoff across the DST change ----------------------------------------------------
# (A handoff between levels in UTC is tests/scenarios/test_escalation.py's
# test_schedule_handoff_between_levels_picks_the_new_on_call.)

def test_level_two_pages_the_new_on_call_after_a_chicago_handoff_on_the_dst_morning(rb):
    """A daily rotation hands off at 09:00 America/Chicago. On Sun 2026-03-08 clocks go from 02:00
    CST to 03:00 CDT, so 09:00 is 14:00Z that day (15:00Z the day before). An alert at 13:57Z
    pages Bob at level 1; level 2 at 14:02Z pages Carol, who took over at 09:00 local."""
    for name in ("Bob", "Carol"):
        rb.person(name)
    rb.clock.set(datetime(2026, 3, 8, 13, 57, tzinfo=UTC))
    # Sun Mar 1 09:00 CST = 15:00Z; Bob, Carol, Bob ... : Sat Mar 7 Bob, Sun Mar 8 Carol
    rb.schedule("chicago", "Bob", "Carol", kind="daily", timezone="America/Chicago",
                start=datetime(2026, 3, 1, 15, tzinfo=UTC))
    rb.policy((5, ["schedule:chicago"]), (5, ["schedule:chicago"]))
    alert = rb.trigger()
    rb.tick()
    rb.tick(minutes=5)
    notices = [m["Subject"] for who in ("Bob", "Carol") for m in rb.emails(who, handoffs=True) if "call for" in m["Subject"]]
    assert notices == ["You are now off call for Chicago", "You go on call for Chicago in 3 min"]  # hand-off notices
    assert (len(rb.emails("Bob")), len(rb.emails("Carol"))) == (1, 1), "one page each (and the notices above)"
    assert rb.decisions(alert, "notified") == [
        "notified Bob (level 1: on call in schedule 'chicago') by email",
        "notified Carol (level 2: on call in schedule 'chicago') by email"]
