"""Paging through every channel, as the people paged meet it: personal notification rules
(email at once, SMS later, a call later still), an acknowledgement that cancels what has not
gone out yet, a dead number falling through to email, a provider outage retried, SMS rate
limits with bundling, SMS replies and one-time links that acknowledge, webhooks and Slack,
teams, incident paging for an Incident Commander, an engine restart, and a DST handoff.

The whole pipeline runs: alerts enter through `ingest`, the engine (escalations + deliver)
ticks on a ManualClock, and messages go to providers that record what they received: a real
SMTP server (aiosmtpd), a fake Twilio and a fake Slack speaking their wire formats, and a
local webhook receiver. The API and the action links are driven through the app's TestClient.
Every scenario runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from tests.harness.slack import CHANNEL
from tocsin.alerts import service as alerts
from tocsin.alerts.models import Alert, AlertDecision
from tocsin.alerts.pipeline import Incoming, ingest
from tocsin.api import create_app
from tocsin.config import Settings
from tocsin.contacts import service as contacts
from tocsin.engine.deliver import deliver
from tocsin.engine.escalations import escalations
from tocsin.engine.runner import Engine
from tocsin.escalation import service as esc_service
from tocsin.escalation.models import Escalation, Notification
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.incidents import service as incidents
from tocsin.incidents.models import RoleAssignment, TimelineEntry
from tocsin.incidents.types import Role, Severity
from tocsin.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from tocsin.oncall import service as oncall
from tocsin.principal import Principal
from tocsin.services.models import Service
from tocsin.services.service import require_service
from tocsin.users.models import OrgRole
from tocsin.users.service import require_user, update_user

PUBLIC = "http://tocsin.test"
SENDER = "+15005550006"
DEAD_NUMBER = "+15005550001"  # the fake answers 400 / 21211 for it, as Twilio does
ACK_LINK = re.compile(r"^Ack: (http://tocsin\.test/n/([\w.-]+))\r?$", re.MULTILINE)
REPLY = re.compile(r"Reply '(\d{4,5}) ack'")


class Pager:
    """The verbs of a paging runbook: people and their contact settings, a policy, alerts,
    engine ticks, and what each provider received."""

    def __init__(self, db, clock, system, make_person, settings, smtp, twilio, slack, receiver, client):
        self.db, self.clock, self.system, self._make = db, clock, system, make_person
        self.settings, self.smtp, self.twilio, self.slack, self.receiver = settings, smtp, twilio, slack, receiver
        self.api = client
        self.people = {}
        self.engine = self.new_engine()

    def new_engine(self, modules=None):
        return Engine(self.db, self.clock, settings=self.settings,
                      modules=modules or [("escalations", escalations), ("deliver", deliver)])

    # --- people and their contact settings (service layer) ---

    def person(self, name, teams=None):
        self.people[name] = p = self._make("responder", teams=teams, name=name)
        return p

    def principal(self, name):
        p = self.people[name]
        return Principal(user_id=p.id, label=p.email, org_role=OrgRole.responder)

    def method(self, name, kind, address):
        """A verified contact method, verified as its owner would: ask for a code, type it back."""
        me, now = self.principal(name), self.clock.now()
        with self.db.unit_of_work() as s:
            m = contacts.create_method(s, actor=me, now=now, user=require_user(s, self.people[name].id), type=kind,
                                       address=address)
            if m.verified_at is None:
                code = contacts.new_code(s, actor=me, now=now, method=m)
                assert contacts.verify(s, actor=me, now=now, method=m, code=code)
            return m.id

    def rule(self, name, method_id, delay=0):
        with self.db.unit_of_work() as s:
            contacts.create_rule(s, actor=self.principal(name), now=self.clock.now(),
                                 user=require_user(s, self.people[name].id), contact_method_id=method_id,
                                 delay_minutes=delay)

    def rules(self, name, *routes):
        """Replace the person's rules with (method id, delay) routes (verify adds an immediate one)."""
        with self.db.unit_of_work() as s:
            for r in contacts.list_rules(s, self.people[name].id):
                contacts.delete_rule(s, actor=self.principal(name), now=self.clock.now(), rule=r)
        for method_id, delay in routes:
            self.rule(name, method_id, delay)

    # --- policy, alerts, engine ---

    def policy(self, *levels, service="checkout", repeat=0):
        """levels: (delay_minutes, [target ...]); a target is a name, 'team:<slug>' or 'schedule:<slug>'."""
        def target(t):
            if ":" in t:
                kind, slug = t.split(":", 1)
                return {"type": kind, "slug": slug}
            return {"type": "user", "email": self.people[t].email}

        with self.db.unit_of_work() as s:
            esc_service.create_policy(s, actor=self.system, now=self.clock.now(), name=f"{service} policy",
                                      slug=f"{service}-policy", repeat=repeat,
                                      levels=[{"delay_minutes": d, "targets": [target(t) for t in ts]}
                                              for d, ts in levels])
            esc_service.set_service_policy(s, actor=self.system, now=self.clock.now(),
                                           service=require_service(s, service), policy=f"{service}-policy")

    def trigger(self, key="checkout-5xx", service="checkout"):
        with self.db.unit_of_work() as s:
            svc = s.execute(sa.select(Service.id).where(Service.slug == service)).scalar_one()
            ev = Event(action=Action.trigger, dedup_key=key, summary=f"{key} is failing",
                       severity=AlertSeverity.critical, source="prometheus")
            return ingest(s, [Incoming(ev, svc, None, "events_v2")], now=self.clock.now())[0].alert_id

    def tick(self, **advance):
        if advance:
            self.clock.advance(**advance)
        return self.engine.tick()

    def ack(self, alert_id, name):
        with self.db.unit_of_work() as s:
            alerts.acknowledge(s, alert=alerts.require_alert(s, alert_id), actor=self.principal(name),
                               now=self.clock.now())

    # --- what happened ---

    def alert(self, alert_id):
        with self.db.unit_of_work() as s:
            a = s.get(Alert, alert_id)
            s.expunge(a)
            return a

    def escalation(self, **where):
        with self.db.unit_of_work() as s:
            e = s.execute(sa.select(Escalation).filter_by(**where)).scalar_one()
            s.expunge(e)
            return e

    def rows(self, **where):
        """Outbox rows (detached), oldest first."""
        with self.db.unit_of_work() as s:
            found = list(s.execute(sa.select(Notification).filter_by(**where)
                                   .order_by(Notification.created_at, Notification.send_after, Notification.id))
                         .scalars())
            s.expunge_all()
            return found

    def decisions(self, alert_id, kind):
        with self.db.unit_of_work() as s:
            return list(s.execute(sa.select(AlertDecision.reason).where(
                AlertDecision.alert_id == alert_id, AlertDecision.kind == kind)
                .order_by(AlertDecision.at, AlertDecision.id)).scalars())

    def mail_to(self, name):
        return [r.message for r in self.smtp.handler.received if self.people[name].email in r.rcpt_tos]

    def sms_to(self, number):
        return [r.body for r in self.twilio.received if r.resource == "Messages" and r.to == number
                and r.status == 201]

    def calls_to(self, number):
        return [r.twiml for r in self.twilio.received if r.resource == "Calls" and r.to == number]


@pytest.fixture
def pager(db, clock, system, make_person, make_service, smtp, twilio, slack, receiver):
    settings = Settings(smtp_url=smtp.url, smtp_from="pager@tocsin.test", twilio_account_sid=twilio.account_sid,
                        twilio_auth_token=twilio.auth_token, twilio_from=SENDER, twilio_base_url=twilio.url,
                        slack_bot_token=next(iter(slack.tokens)), slack_base_url=slack.api_url,
                        secret_key="scenario-secret", outbound_allow="127.0.0.0/8", public_url=PUBLIC)
    make_service("checkout", tier=1)
    app = create_app(settings=settings, db=db, clock=clock)
    with TestClient(app) as client:
        p = Pager(db, clock, system, make_person, settings, smtp, twilio, slack, receiver, client)
        p.start = clock.now()
        yield p
        dispatcher = p.engine.shared.get("dispatcher") if p.engine else None
        if dispatcher is not None:
            dispatcher.close()
    app.state.ingest.close()


def ack_link(text):
    found = ACK_LINK.search(text)
    assert found, f"no Ack link in {text!r}"
    return found.group(1), found.group(2)


def path_of(url):
    assert url.startswith(PUBLIC + "/n/")
    return url.removeprefix(PUBLIC)


# --- 1. personal rules -----------------------------------------------------------------------------

def test_personal_rules_email_then_sms_then_a_call_that_the_ack_prevents(pager):
    """Alice sets up her contact methods in the API: her account email, her mobile (SMS) and the
    same phone for calls, each verified with the code it received; rules: email at once, SMS
    after 2 min, a call after 5 min. Alert → email now → +2 min SMS → she acks at +3 min →
    no call ever."""
    alice = pager.person("Alice")
    api, h = pager.api, alice.headers
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
    (text,) = pager.sms_to("+14155550100")
    code = re.search(r"code is (\d{6})", text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    assert api.post(f"/api/v1/contact-methods/{sms['id']}/verify", headers=h, json={"code": wrong}).json() == \
        {"verified": False}
    assert api.post(f"/api/v1/contact-methods/{sms['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    voice = api.post("/api/v1/users/me/contact-methods", headers=h,
                     json={"type": "voice", "address": "+14155550100"}).json()
    assert api.post(f"/api/v1/contact-methods/{voice['id']}/send-code", headers=h).json()["sent"] is True
    (twiml,) = pager.calls_to("+14155550100")
    code = re.search(r"code is (\d{6})", twiml).group(1)
    assert api.post(f"/api/v1/contact-methods/{voice['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    for rule in api.get("/api/v1/users/me/notification-rules", headers=h).json():  # drop the automatic one
        assert api.delete(f"/api/v1/notification-rules/{rule['id']}", headers=h).status_code == 204
    for method_id, delay in ((email.json()["id"], 0), (sms["id"], 2), (voice["id"], 5)):
        r = api.post("/api/v1/users/me/notification-rules", headers=h,
                     json={"contact_method_id": method_id, "delay_minutes": delay})
        assert r.status_code == 201, r.text
    assert [(r["channel"], r["delay_minutes"]) for r in
            api.get("/api/v1/users/me/notification-rules", headers=h).json()] == [("email", 0), ("sms", 2),
                                                                                   ("voice", 5)]
    verification_sms, verification_calls = len(pager.sms_to("+14155550100")), len(pager.calls_to("+14155550100"))

    pager.policy((30, ["Alice"]))
    alert = pager.trigger()
    pager.tick()
    (mail,) = pager.mail_to("Alice")
    assert "checkout-5xx is failing" in mail["Subject"]
    assert len(pager.sms_to("+14155550100")) == verification_sms, "no SMS before 2 minutes"

    pager.tick(minutes=1, seconds=59)
    assert len(pager.sms_to("+14155550100")) == verification_sms
    pager.tick(seconds=1)
    page_sms = pager.sms_to("+14155550100")[verification_sms:]
    assert len(page_sms) == 1 and "checkout-5xx is failing" in page_sms[0]

    pager.clock.advance(minutes=1)
    assert api.post(f"/api/v1/alerts/{alert}/acknowledge", headers=h).status_code == 200
    for _ in range(10):
        pager.tick(minutes=1)
    assert len(pager.calls_to("+14155550100")) == verification_calls, "no call after the ack"
    assert len(pager.mail_to("Alice")) == 1 and len(pager.sms_to("+14155550100")) == verification_sms + 1
    shown = {n["channel"]: (n["status"], n["last_error"])
             for n in api.get(f"/api/v1/alerts/{alert}/notifications", headers=h).json()}
    assert shown == {"email": ("sent", None), "sms": ("sent", None),
                     "voice": ("cancelled", "not sent: the alert was acknowledged first")}


# --- 2. ack before a delayed rule ------------------------------------------------------------------

def test_ack_before_a_delayed_sms_cancels_it_with_the_reason(pager):
    bob = pager.person("Bob")
    email = pager.method("Bob", "email", bob.email)
    sms = pager.method("Bob", "sms", "+14155550111")
    pager.rules("Bob", (email, 0), (sms, 5))
    pager.policy((30, ["Bob"]))
    alert = pager.trigger()
    pager.tick()
    assert len(pager.mail_to("Bob")) == 1
    pager.tick(minutes=1)
    pager.ack(alert, "Bob")
    for _ in range(6):
        pager.tick(minutes=1)
    assert pager.sms_to("+14155550111") == [] and pager.twilio.received == [], "nothing reached Twilio"
    (row,) = pager.rows(channel="sms")
    assert (row.status, row.last_error, row.attempts, row.sent_at) == \
        ("cancelled", "not sent: the alert was acknowledged first", 0, None)
    shown = pager.api.get("/api/v1/users/me/notifications", headers=bob.headers).json()
    assert [(n["channel"], n["status"]) for n in shown] == [("sms", "cancelled"), ("email", "sent")]


# --- 3. permanent failure falls through ------------------------------------------------------------

def test_a_dead_number_falls_through_to_the_other_verified_method(pager):
    carol = pager.person("Carol")
    pager.method("Carol", "email", carol.email)  # verified, but no rule: only a fallback
    sms = pager.method("Carol", "sms", DEAD_NUMBER)
    pager.rules("Carol", (sms, 0))
    pager.policy((30, ["Carol"]))
    alert = pager.trigger()
    pager.tick()
    (failed,) = pager.rows(channel="sms")
    assert failed.status == "failed" and "21211" in failed.last_error and DEAD_NUMBER in failed.last_error
    assert failed.attempts == 1, "a permanent failure is not retried"
    pager.tick()
    (mail,) = pager.mail_to("Carol")
    assert "checkout-5xx is failing" in mail["Subject"]
    assert ack_link(mail.get_body(("plain",)).get_content())
    assert [r.status for r in pager.rows(channel="email")] == ["sent"]
    (why,) = pager.decisions(alert, "notification_failed")
    assert why.startswith("page to Carol by sms failed: Twilio error 21211")
    assert why.endswith("; falling through to email")
    for _ in range(5):
        pager.tick(minutes=1)
    assert len(pager.mail_to("Carol")) == 1 and len(pager.twilio.received) == 1, "each tried once"


def test_twilio_reporting_an_sms_undelivered_falls_through_too(pager):
    """Twilio accepted the SMS, then reports (status callback) that the carrier could not deliver it:
    the page falls through to email; a forged callback changes nothing."""
    carol = pager.person("Carol")
    pager.method("Carol", "email", carol.email)
    sms = pager.method("Carol", "sms", "+14155550100")
    pager.rules("Carol", (sms, 0))
    pager.policy((30, ["Carol"]))
    alert = pager.trigger()
    pager.tick()
    (sent,) = [r for r in pager.twilio.received if r.resource == "Messages"]
    assert sent.form["StatusCallback"] == PUBLIC + "/integrations/twilio/status"
    url = PUBLIC + "/integrations/twilio/status"
    form = {"MessageSid": sent.sid, "MessageStatus": "undelivered", "ErrorCode": "30003", "To": "+14155550100"}
    forged = pager.api.post("/integrations/twilio/status", data=form, headers={"X-Twilio-Signature": "eA=="})
    assert forged.status_code == 403 and pager.rows(channel="sms")[0].status == "sent"
    sig = RequestValidator(pager.twilio.auth_token).compute_signature(url, form)
    assert pager.api.post("/integrations/twilio/status", data=form,
                          headers={"X-Twilio-Signature": sig}).status_code == 204
    (row,) = pager.rows(channel="sms")
    assert (row.status, row.last_error) == ("failed", "Twilio reported undelivered (error 30003)")
    pager.tick()
    assert len(pager.mail_to("Carol")) == 1
    (why,) = pager.decisions(alert, "notification_failed")
    assert why == "page to Carol by sms failed: Twilio reported undelivered (error 30003); falling through to email"


# --- 4. provider outage then recovery --------------------------------------------------------------

def test_twilio_outage_is_retried_with_backoff_and_delivered_once(pager):
    pager.person("Dave")
    sms = pager.method("Dave", "sms", "+14155550122")
    pager.rules("Dave", (sms, 0))
    pager.policy((30, ["Dave"]))
    pager.twilio.down = True
    pager.trigger()
    pager.tick()
    (row,) = pager.rows(channel="sms")
    assert (row.status, row.attempts) == ("queued", 1)
    assert "503" in row.last_error and row.send_after == pager.start + timedelta(seconds=30)

    pager.twilio.down = False
    pager.tick(seconds=29)
    assert pager.sms_to("+14155550122") == [], "not before the backoff has passed"
    pager.tick(seconds=1)
    assert len(pager.sms_to("+14155550122")) == 1
    for _ in range(5):
        pager.tick(minutes=1)
    assert len(pager.sms_to("+14155550122")) == 1, "delivered exactly once"
    (row,) = pager.rows(channel="sms")
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert row.provider_id.startswith("SM")


# --- 5. SMS rate limit and bundling ----------------------------------------------------------------

def test_sms_rate_limit_holds_pages_back_and_sends_them_as_one_bundle(pager):
    """Seven alerts page Eve by SMS within a minute: five SMS go out; the other two wait for the
    15-minute window and arrive as one SMS that says how many pages it carries; replying to it
    acknowledges both."""
    pager.person("Eve")
    sms = pager.method("Eve", "sms", "+14155550133")
    pager.rules("Eve", (sms, 0))
    pager.policy((60, ["Eve"]))
    ids = []
    for i in range(7):
        ids.append(pager.trigger(key=f"disk-{i}"))
        pager.tick()
        pager.clock.advance(seconds=8)
    assert len(pager.sms_to("+14155550133")) == 5
    held = [r for r in pager.rows(channel="sms") if r.status == "queued"]
    assert [r.alert_id for r in held] == ids[5:]
    assert all(r.last_error.startswith("throttled: 5 sms to this number in 15 min") for r in held)

    pager.clock.set(pager.start + timedelta(minutes=14, seconds=59))
    pager.tick()
    assert len(pager.sms_to("+14155550133")) == 5, "the window has not freed yet"
    pager.clock.set(pager.start + timedelta(minutes=15))
    pager.tick()
    texts = pager.sms_to("+14155550133")
    assert len(texts) == 6, "the two held pages arrive as ONE SMS"
    bundle = texts[-1]
    assert bundle.startswith("tocsin: 2 pages: [critical] disk-5 is failing"), bundle
    assert bundle.endswith("(all of them).")
    rows = {r.alert_id: r for r in pager.rows(channel="sms")}
    head, member = rows[ids[5]], rows[ids[6]]
    assert (head.status, head.bundle_id) == ("sent", None)
    assert (member.status, member.bundle_id) == ("bundled", head.id)
    for _ in range(20):
        pager.tick(minutes=1)
    assert len(pager.sms_to("+14155550133")) == 6

    code = REPLY.search(bundle).group(1)
    reply = _twilio_post(pager, {"From": "+14155550133", "To": SENDER, "Body": f"{code} ack"})
    assert reply.status_code == 200 and "disk-5" in reply.text and "disk-6" in reply.text
    assert [pager.alert(a).status for a in ids] == ["triggered"] * 5 + ["acknowledged"] * 2


def _held_bundle(pager, number):
    """Five SMS pages go to `number` within a minute and two more are held back; when the window frees,
    Twilio is down, so the bundle (its first page carrying the second) waits for a retry. Return the
    alert ids."""
    pager.person("Eve")
    sms = pager.method("Eve", "sms", number)
    pager.rules("Eve", (sms, 0))
    pager.policy((60, ["Eve"]))
    ids = []
    for i in range(7):
        ids.append(pager.trigger(key=f"disk-{i}"))
        pager.tick()
        pager.clock.advance(seconds=8)
    pager.twilio.down = True
    pager.clock.set(pager.start + timedelta(minutes=15))
    pager.tick()
    rows = {r.alert_id: r for r in pager.rows(channel="sms")}
    assert (rows[ids[5]].status, rows[ids[6]].status, rows[ids[6]].bundle_id) == \
        ("queued", "bundled", rows[ids[5]].id)
    pager.twilio.down = False
    return ids


def test_a_held_page_is_not_lost_when_its_bundle_is_cancelled(pager):
    """The first page of a waiting bundle is acknowledged (by hand) before the retry: the other page
    in the bundle still reaches Eve, on its own."""
    ids = _held_bundle(pager, "+14155550155")
    pager.ack(ids[5], "Eve")
    for _ in range(3):
        pager.tick(seconds=30)
    texts = pager.sms_to("+14155550155")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: [critical] disk-6 is failing"), texts[5:]
    rows = {r.alert_id: r for r in pager.rows(channel="sms")}
    assert rows[ids[5]].status == "cancelled" and rows[ids[6]].status == "sent"


def test_a_held_bundle_joining_a_later_bundle_keeps_every_page(pager):
    """While the bundle waits for its retry, another alert is written but the delivery module lags
    (it runs in another engine); when delivery catches up, every page is in the one SMS that goes out."""
    ids = _held_bundle(pager, "+14155550166")
    pager.clock.advance(seconds=5)
    late = pager.trigger(key="disk-late")
    pager.new_engine(modules=[("escalations", escalations)]).tick()
    pager.tick(seconds=25)
    texts = pager.sms_to("+14155550166")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: 3 pages: "), texts[5:]
    rows = {r.alert_id: r for r in pager.rows(channel="sms")}
    assert [rows[a].status for a in (late, ids[5], ids[6])] == ["sent", "bundled", "bundled"]
    code = REPLY.search(texts[-1]).group(1)
    assert _twilio_post(pager, {"From": "+14155550166", "To": SENDER, "Body": f"{code} ack"}).status_code == 200
    assert [pager.alert(a).status for a in (late, ids[5], ids[6])] == ["acknowledged"] * 3


def test_a_held_page_acknowledged_meanwhile_is_left_out_of_its_bundle(pager):
    ids = _held_bundle(pager, "+14155550177")
    pager.ack(ids[6], "Eve")
    pager.tick(seconds=30)
    texts = pager.sms_to("+14155550177")
    assert len(texts) == 6 and texts[-1].startswith("tocsin: [critical] disk-5 is failing Reply"), texts[5:]
    rows = {r.alert_id: r for r in pager.rows(channel="sms")}
    assert (rows[ids[5]].status, rows[ids[6]].status) == ("sent", "cancelled")
    assert rows[ids[6]].last_error == "not sent: the alert was acknowledged first"


def test_rules_for_another_urgency_only_leave_the_account_email(pager):
    # Runbook: Gus only wants SMS for low-urgency alerts; a critical (high-urgency) alert still
    # reaches him, by his account email, rather than nobody.
    gus = pager.person("Gus")
    sms = pager.method("Gus", "sms", "+14155550177")
    pager.rules("Gus")
    with pager.db.unit_of_work() as s:
        contacts.create_rule(s, actor=pager.principal("Gus"), now=pager.clock.now(),
                             user=require_user(s, gus.id), contact_method_id=sms, delay_minutes=0, urgency="low")
    pager.policy((60, ["Gus"]))
    pager.trigger()
    pager.tick()
    assert pager.sms_to("+14155550177") == []
    assert len(pager.mail_to("Gus")) == 1


def test_two_rules_for_one_method_page_twice(pager):
    pager.person("Eve")
    sms = pager.method("Eve", "sms", "+14155550188")
    pager.rules("Eve", (sms, 0), (sms, 5))
    pager.policy((60, ["Eve"]))
    pager.trigger()
    pager.tick()
    pager.tick(minutes=5)
    assert len(pager.sms_to("+14155550188")) == 2


# --- 6. SMS reply code -----------------------------------------------------------------------------

def _twilio_post(pager, form, signature=None):
    url = PUBLIC + "/integrations/twilio/sms"
    sig = signature or RequestValidator(pager.twilio.auth_token).compute_signature(url, form)
    return pager.api.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})


def test_an_sms_reply_acknowledges_and_stops_the_escalation(pager):
    frank = pager.person("Frank")
    pager.person("Alice")
    sms = pager.method("Frank", "sms", "+14155550144")
    pager.rules("Frank", (sms, 0))
    pager.policy((5, ["Frank"]), (5, ["Alice"]))
    alert = pager.trigger()
    pager.tick()
    (text,) = pager.sms_to("+14155550144")
    code = REPLY.search(text).group(1)
    assert f"Reply '{code} ack' or '{code} close'." in text

    form = {"From": "+14155550144", "To": SENDER, "Body": f"{code} ack", "MessageSid": "SM" + "1" * 32}
    forged = _twilio_post(pager, form, signature="bm90IHR3aWxpbw==")
    assert forged.status_code == 403
    other = _twilio_post(pager, {**form, "Body": f"{code} ack", "From": "+14155550199"})
    assert other.status_code == 200 and f"no page with code {code}" in other.text
    assert pager.alert(alert).status == "triggered", "neither a forged request nor another phone acts"

    reply = _twilio_post(pager, form)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
    assert reply.text.startswith("<?xml") and "<Response><Message>tocsin: Acknowledged: checkout-5xx is failing" \
        in reply.text
    assert pager.alert(alert).status == "acknowledged"
    assert pager.decisions(alert, "acknowledged") == [f"acknowledged by {frank.email}"]
    assert pager.escalation(alert_id=alert).status == "stopped"
    pager.tick(minutes=10)
    assert pager.mail_to("Alice") == [], "level 2 is never paged"


# --- 7. signed one-time link -----------------------------------------------------------------------

def test_the_email_ack_link_confirms_acts_once_and_rejects_tampering(pager):
    grace = pager.person("Grace")  # no rules: her account email, at once
    pager.policy((30, ["Grace"]))
    alert = pager.trigger()
    pager.tick()
    (mail,) = pager.mail_to("Grace")
    body = mail.get_body(("plain",)).get_content()
    url, token = ack_link(body)
    assert re.search(r"^Resolve: http://tocsin\.test/n/[\w.-]+\r?$", body, re.MULTILINE)

    shown = pager.api.get(path_of(url))
    assert shown.status_code == 200
    assert "Grace: acknowledge?" in shown.text and "checkout-5xx is failing (triggered)" in shown.text
    assert '<form method="post">' in shown.text
    assert pager.alert(alert).status == "triggered", "opening the link does nothing"

    head, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert pager.api.post(f"/n/{head}.{flipped}").status_code == 400
    assert pager.alert(alert).status == "triggered"

    done = pager.api.post(path_of(url))
    assert done.status_code == 200 and "Acknowledged: checkout-5xx is failing" in done.text
    assert pager.decisions(alert, "acknowledged") == [f"acknowledged by {grace.email}"]
    again = pager.api.post(path_of(url))
    assert again.status_code == 410 and "already used" in again.text
    assert pager.api.get(path_of(url)).status_code == 410


# --- 8. webhook contact method ---------------------------------------------------------------------

def test_a_webhook_method_gets_a_signed_page_with_the_ack_link(pager):
    henry = pager.person("Henry")
    api, h = pager.api, henry.headers
    created = api.post("/api/v1/users/me/contact-methods", headers=h,
                       json={"type": "webhook", "address": pager.receiver.url()}).json()
    secret = created["webhook_secret"]
    assert secret.startswith("whsec_")
    assert api.post(f"/api/v1/contact-methods/{created['id']}/send-code", headers=h).json()["sent"] is True
    (post,) = pager.receiver.posts
    code = re.search(r"code is (\d{6})", json.loads(post.body)["body"]).group(1)
    assert api.post(f"/api/v1/contact-methods/{created['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}
    (rule,) = api.get("/api/v1/users/me/notification-rules", headers=h).json()
    assert (rule["channel"], rule["delay_minutes"]) == ("webhook", 0), "the first verified method pages at once"

    pager.policy((30, ["Henry"]))
    alert = pager.trigger()
    pager.tick()
    assert pager.mail_to("Henry") == [], "his rules say webhook, not email"
    page = pager.receiver.posts[-1]
    assert verify_webhook(secret, page.body, page.headers[TIMESTAMP_HEADER], page.headers[SIGNATURE_HEADER],
                          now=pager.clock.now())
    assert not verify_webhook(secret, page.body + b" ", page.headers[TIMESTAMP_HEADER],
                              page.headers[SIGNATURE_HEADER], now=pager.clock.now())
    payload = json.loads(page.body)
    assert payload["subject"] == "[critical] checkout-5xx is failing"
    assert payload["data"]["kind"] == "page" and payload["data"]["alert_ids"] == [str(alert)]
    ack = payload["data"]["links"]["ack"]
    assert ack.startswith(PUBLIC + "/n/") and f"Ack: {ack}" in payload["body"]
    assert page.headers["Idempotency-Key"] == payload["id"]
    assert pager.api.post(path_of(ack)).status_code == 200
    assert pager.alert(alert).status == "acknowledged"


# --- 9. Slack contact method -----------------------------------------------------------------------

def test_a_slack_channel_gets_the_page_with_an_acknowledge_button(pager):
    ivy = pager.person("Ivy")
    api, h = pager.api, ivy.headers
    created = api.post("/api/v1/users/me/contact-methods", headers=h,
                       json={"type": "slack", "address": CHANNEL}).json()
    assert api.post(f"/api/v1/contact-methods/{created['id']}/send-code", headers=h).json()["sent"] is True
    code = re.search(r"code is (\d{6})", pager.slack.received[-1].text).group(1)
    assert api.post(f"/api/v1/contact-methods/{created['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    pager.policy((30, ["Ivy"]))
    alert = pager.trigger()
    pager.tick()
    post = pager.slack.received[-1]
    assert post.path == "/api/chat.postMessage" and post.status == 200 and post.payload["channel"] == CHANNEL
    assert "checkout-5xx is failing" in post.text
    buttons = {e["text"]["text"]: e["url"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]}
    assert buttons["Acknowledge"].startswith(PUBLIC + "/n/")
    assert buttons["Open"] == f"{PUBLIC}/api/v1/alerts/{alert}"
    assert pager.api.post(path_of(buttons["Acknowledge"])).status_code == 200
    assert pager.alert(alert).status == "acknowledged"
    assert [r.status for r in pager.rows(channel="slack")] == ["sent"]


# --- 10. team target -------------------------------------------------------------------------------

def test_a_team_target_pages_every_active_member(pager, db, clock, system, make_team):
    make_team("payments")
    for name in ("Jack", "Kim", "Leo"):
        pager.person(name, teams=["payments"])
    pager.person("Mia")  # not in the team
    with db.unit_of_work() as s:
        update_user(s, actor=system, now=clock.now(), user=require_user(s, pager.people["Leo"].id), is_active=False)
    pager.policy((30, ["team:payments"]))
    alert = pager.trigger()
    pager.tick()
    assert [len(pager.mail_to(n)) for n in ("Jack", "Kim", "Leo", "Mia")] == [1, 1, 0, 0]
    assert pager.decisions(alert, "notified") == [
        "notified Jack (level 1: member of team 'payments') by email",
        "notified Kim (level 1: member of team 'payments') by email"]


# --- 11. incident paging for an Incident Commander -------------------------------------------------

def test_a_sev1_without_a_commander_pages_and_the_ack_link_makes_an_ic(pager, db, clock, system):
    pager.person("Alice")
    pager.person("Bob")
    with db.unit_of_work() as s:
        primary = oncall.create_schedule(s, actor=system, now=clock.now(), name="Primary", slug="primary")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=primary, name="alice", kind="weekly",
                            timezone="UTC", start=clock.now() - timedelta(days=1),
                            members=[pager.people["Alice"].email])
    pager.policy((5, ["schedule:primary"]), (5, ["Bob"]))
    with db.unit_of_work() as s:
        inc = incidents.declare(s, actor=system, now=clock.now(), spec=incidents.Declaration(
            title="Checkout is down", severity=Severity.SEV1, services=["checkout"]))
        inc_id, number = inc.id, inc.number
    pager.tick()
    (mail,) = pager.mail_to("Alice")
    assert mail["Subject"] == f"[SEV1] INC-{number} needs an Incident Commander: Checkout is down"
    body = mail.get_body(("plain",)).get_content()
    assert "Acknowledging this page makes you the Incident Commander." in body
    assert "Resolve:" not in body, "an incident page only offers taking command"
    (row,) = pager.rows(incident_id=inc_id)
    assert row.kind == "incident" and row.alert_id is None

    url, _token = ack_link(body)
    assert "take Incident Commander for?" in pager.api.get(path_of(url)).text
    done = pager.api.post(path_of(url))
    assert done.status_code == 200 and f"You are now Incident Commander of INC-{number}" in done.text
    with db.unit_of_work() as s:
        holders = s.execute(sa.select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == inc_id, RoleAssignment.role == Role.incident_commander.value,
            RoleAssignment.ended_at.is_(None))).scalars().all()
        paging = s.execute(sa.select(TimelineEntry.data).where(
            TimelineEntry.incident_id == inc_id, TimelineEntry.kind == "paging")
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)).scalars().all()
    assert holders == [pager.people["Alice"].id]
    assert [d["step"] for d in paging] == ["escalation_started", "notified", "escalation_stopped"]
    assert pager.escalation(incident_id=inc_id).status == "stopped"
    pager.tick(minutes=10)
    assert pager.mail_to("Bob") == [], "level 2 is not paged once there is a commander"

    with db.unit_of_work() as s:
        minor = incidents.declare(s, actor=system, now=clock.now(), spec=incidents.Declaration(
            title="Checkout is slow", severity=Severity.SEV3, services=["checkout"])).id
    pager.tick()
    pager.tick(minutes=10)
    assert pager.rows(incident_id=minor) == [] and len(pager.smtp.handler.received) == 1, "a SEV3 pages nobody"


# --- 12. engine restart mid-escalation -------------------------------------------------------------

def test_a_new_engine_continues_an_escalation_without_loss_or_duplicates(pager):
    pager.person("Alice")
    pager.person("Bob")
    pager.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = pager.trigger()
    pager.engine.tick()
    pager.engine = None  # engine A is gone
    pager.clock.advance(minutes=5)
    engine_b = pager.new_engine()
    for _ in range(3):
        engine_b.tick()
    pager.engine = engine_b
    assert (len(pager.mail_to("Alice")), len(pager.mail_to("Bob"))) == (1, 1)
    assert [(r.status, r.attempts) for r in pager.rows(alert_id=alert)] == [("sent", 1), ("sent", 1)]
    assert pager.decisions(alert, "escalated") == ["escalated to level 2 of 2: nobody acknowledged within 5 min "
                                                   "of level 1"]


def test_a_send_left_sending_by_a_crashed_engine_is_sent_again_once(pager, db):
    pager.person("Alice")
    pager.policy((30, ["Alice"]))
    pager.trigger()
    pager.new_engine(modules=[("escalations", escalations)]).tick()
    with db.unit_of_work() as s:  # claimed, then the process died before sending
        row = s.execute(sa.select(Notification)).scalar_one()
        row.status, row.attempts, row.send_after = "sending", 1, pager.clock.now() - timedelta(seconds=1)
    for _ in range(3):
        pager.tick(seconds=10)
    (mail,) = pager.mail_to("Alice")
    assert [(r.status, r.attempts) for r in pager.rows()] == [("sent", 2)]


# --- 13. schedule handoff across the DST change ----------------------------------------------------
# (A handoff between levels in UTC is tests/scenarios/test_escalation.py's
# test_schedule_handoff_between_levels_picks_the_new_on_call.)

def test_level_two_pages_the_new_on_call_after_a_chicago_handoff_on_the_dst_morning(pager, db, clock, system):
    """A daily rotation hands off at 09:00 America/Chicago. On Sun 2026-03-08 clocks go from 02:00
    CST to 03:00 CDT, so 09:00 is 14:00Z that day (15:00Z the day before). An alert at 13:57Z
    pages Bob at level 1; level 2 at 14:02Z pages Carol, who took over at 09:00 local."""
    for name in ("Bob", "Carol"):
        pager.person(name)
    clock.set(datetime(2026, 3, 8, 13, 57, tzinfo=UTC))
    with db.unit_of_work() as s:
        sched = oncall.create_schedule(s, actor=system, now=clock.now(), name="Chicago", slug="chicago",
                                       timezone="America/Chicago")
        # Sun Mar 1 09:00 CST = 15:00Z; Bob, Carol, Bob ... : Sat Mar 7 Bob, Sun Mar 8 Carol
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=sched, name="daily", kind="daily",
                            timezone="America/Chicago", start=datetime(2026, 3, 1, 15, tzinfo=UTC),
                            members=[pager.people["Bob"].email, pager.people["Carol"].email])
    pager.policy((5, ["schedule:chicago"]), (5, ["schedule:chicago"]))
    alert = pager.trigger()
    pager.tick()
    pager.tick(minutes=5)
    assert (len(pager.mail_to("Bob")), len(pager.mail_to("Carol"))) == (1, 1)
    assert pager.decisions(alert, "notified") == [
        "notified Bob (level 1: on call in schedule 'chicago') by email",
        "notified Carol (level 2: on call in schedule 'chicago') by email"]
