"""Web Push without a vendor relay, against a local push endpoint that decrypts what it receives.

The test plays the browser: it makes the subscription's keys itself (a P-256 key pair and a 16-byte
auth secret, as `PushManager.subscribe` does), subscribes through the API, and its push endpoint
(a loopback HTTP server standing for the push service) records each POST; the test decrypts the
body with the subscription's private key (http_ece, RFC 8291) and checks the VAPID signature
(RFC 8292) as a push service does. Pages reach the endpoint through the person's notification
rules and the escalation, as email and SMS do; the page's one-time Acknowledge link in the push
acknowledges the alert. The egress guard refuses an internal endpoint unless the operator allows it.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.harness.webhook import Post, Receiver
from tocsin.config import Settings, new_p256_key
from tocsin.contacts import push
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.net.guard import EgressPolicy
from tocsin.notify import push_subscription
from tocsin.notify.dispatch import Dispatcher
from tocsin.notify.types import Message, Outcome
from tocsin.users.service import require_user

VAPID_KEY = new_p256_key()
SUBJECT = "mailto:oncall-admins@tocsin.test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps of one push subscription: the private key and the auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint))

    def subscription(self, endpoint: str) -> dict:
        return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": b64(self.auth)}}

    def decrypt(self, post: Post) -> dict:
        assert post.headers["Content-Encoding"] == "aes128gcm"
        return json.loads(http_ece.decrypt(post.body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


def vapid_claims(post: Post) -> tuple[dict, str]:
    """The JWT claims of the VAPID Authorization header, after checking its ES256 signature with the public
    key `k` it names (as a push service does); and that key."""
    scheme, _, params = post.headers["Authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.split("=", 1) for p in params.split(","))
    head, claims, sig = fields["t"].split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    raw = unb64(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    return json.loads(unb64(claims)), fields["k"]


@pytest.fixture
def push_service():
    """The push service's endpoint on loopback: records each POST and answers 201 Created."""
    with Receiver() as server:
        server.status = 201
        yield server


def test_a_page_reaches_the_phone_by_push_and_its_acknowledge_button_acks_the_alert(runbook, push_service):
    """Alice enables push on her phone with "page me at once" (she had no rules: her account email keeps
    paging too). An alert fires → the escalation pages her → the push endpoint receives an encrypted,
    VAPID-signed message that decrypts to the page's title and its one-time links → the Acknowledge
    link acknowledges the alert, once."""
    rb = runbook
    rb.configure(vapid_private_key=VAPID_KEY, vapid_subject=SUBJECT)
    rb.service("checkout", tier=1, paging_unit="alert")
    alice = rb.person("Alice")
    phone = Browser.new()
    endpoint = push_service.url() + "/fcm/send/alice-phone"
    key = rb.http.get("/api/v1/push/vapid-public-key", headers=alice.headers).json()
    assert key == {"public_key": push_subscription.public_key(VAPID_KEY), "ready": True, "detail": ""}

    made = rb.http.post("/api/v1/users/me/push-subscriptions", headers=alice.headers,
                        json={**phone.subscription(endpoint), "label": "Alice's phone", "page_at_once": True})
    assert made.status_code == 201, made.text
    assert (made.json()["type"], made.json()["verified"], made.json()["label"]) == ("push", True, "Alice's phone")
    rules = rb.http.get("/api/v1/users/me/notification-rules", headers=alice.headers).json()["items"]
    assert sorted((r["channel"], r["delay_minutes"]) for r in rules) == [("email", 0), ("push", 0)]

    rb.policy((30, ["Alice"]))
    alert = rb.trigger("checkout-5xx")
    rb.tick()
    rb.expect_email("Alice", "checkout-5xx is failing")
    (post,) = push_service.posts
    assert post.path == "/hooks/tocsin/fcm/send/alice-phone"
    assert (post.headers["TTL"], post.headers["Urgency"]) == ("86400", "high")
    message = phone.decrypt(post)
    assert "checkout-5xx is failing" in message["title"]
    assert "Ack:" not in message["body"], "the links are buttons, not text"
    assert (message["kind"], message["url"], message["tag"]) == ("page", f"/alerts/{alert}", f"alert:{alert}")
    assert [(a["action"], a["title"]) for a in message["actions"]] == [("ack", "Acknowledge"), ("resolve", "Resolve")]

    claims, signer = vapid_claims(post)
    assert claims["aud"] == f"http://127.0.0.1:{push_service.port}", "the audience is the endpoint's origin"
    assert claims["sub"] == SUBJECT
    assert claims["exp"] == int(rb.now.timestamp()) + 12 * 3600
    assert signer == key["public_key"], "signed with the key the browser subscribed with"

    ack = message["actions"][0]["link"]
    assert ack.startswith("/n/")
    assert rb.http.post(ack).status_code == 200  # what the service worker's button does
    assert rb.alert(alert).status == "acknowledged"
    assert rb.http.post(ack).status_code == 410, "a one-time link works once"
    rb.tick(minutes=30)
    assert len(push_service.posts) == 1
    rb.expect_nothing_more()


def test_a_subscription_that_ended_fails_for_good_and_the_page_falls_through_to_email(runbook, push_service):
    rb = runbook
    rb.configure(vapid_private_key=VAPID_KEY, vapid_subject=SUBJECT)
    rb.service("checkout", tier=1, paging_unit="alert")
    bob = rb.person("Bob")
    made = rb.http.post("/api/v1/users/me/push-subscriptions", headers=bob.headers,
                        json=Browser.new().subscription(push_service.url() + "/gone"))
    email = rb.contact("Bob", "email", bob.email)
    rb.rules("Bob", (uuid.UUID(made.json()["id"]), 0))
    push_service.status = 410
    rb.policy((30, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    rb.tick()
    rb.expect_email("Bob", "checkout-5xx is failing")
    shown = {n["channel"]: (n["status"], n["last_error"]) for n in
             rb.http.get(f"/api/v1/alerts/{alert}/notifications", headers=bob.headers).json()["items"]}
    assert shown["push"][0] == "failed" and "410 Gone" in shown["push"][1] and "enable push" in shown["push"][1]
    assert shown["email"] == ("sent", None)
    assert email


def _message(to: str) -> Message:
    return Message(idempotency_key="test:1", to=to, subject="tocsin test push", body="hello",
                   data={"kind": "test"}, created_at=datetime.now(UTC))


def test_the_egress_guard_refuses_an_internal_push_endpoint_unless_the_operator_allows_it(tmp_path, push_service,
                                                                                         db, clock, make_person):
    browser = Browser.new()
    address = push_subscription.to_address(push_service.url(), browser.p256dh, b64(browser.auth))
    strict = Dispatcher(Settings(secret_key="k", data_dir=tmp_path, vapid_private_key=VAPID_KEY,
                                 vapid_subject=SUBJECT, outbound_allow=""))  # the default: tests open loopback
    try:
        result = strict.send("push", _message(address))
    finally:
        strict.close()
    assert result.outcome is Outcome.permanent and "egress policy" in result.detail and "loopback" in result.detail
    assert push_service.connections == 0, "refused before connecting"

    allowed = Dispatcher(Settings(secret_key="k", data_dir=tmp_path, vapid_private_key=VAPID_KEY,
                                  vapid_subject=SUBJECT, outbound_allow="127.0.0.1/32"))
    try:
        result = allowed.send("push", _message(address))
    finally:
        allowed.close()
    assert result.outcome is Outcome.delivered, result.detail
    assert browser.decrypt(push_service.posts[0])["title"] == "tocsin test push"

    # Subscribing is judged by the same policy: an internal endpoint is refused up front by default.
    person = make_person("responder", name="Carol")
    from tocsin.principal import OrgRole, Principal

    me = Principal(user_id=person.id, label=person.email, org_role=OrgRole.responder)
    with db.unit_of_work() as s, pytest.raises(InvalidInput, match="endpoint is refused by the egress policy"):
        push.subscribe(s, actor=me, now=clock.now(), user=require_user(s, person.id), endpoint=push_service.url(),
                       p256dh=browser.p256dh, auth=b64(browser.auth), policy=EgressPolicy())


@pytest.mark.parametrize(("status", "outcome", "words"), [
    (201, Outcome.delivered, "HTTP 201 Created"),
    (404, Outcome.permanent, "push subscription has ended"),
    (403, Outcome.permanent, "VAPID signature"),
    (413, Outcome.permanent, "HTTP 413"),
    (429, Outcome.retryable, "HTTP 429 Too Many Requests"),
    (503, Outcome.retryable, "HTTP 503 Service Unavailable"),
])
def test_what_the_push_service_answers_decides_the_outcome(tmp_path, push_service, status, outcome, words):
    push_service.status = status
    push_service.reply_body = b"secret internal detail"
    browser = Browser.new()
    d = Dispatcher(Settings(secret_key="k", data_dir=tmp_path, vapid_private_key=VAPID_KEY, vapid_subject=SUBJECT,
                            outbound_allow="127.0.0.1/32"))
    try:
        result = d.send("push", _message(push_subscription.to_address(push_service.url(), browser.p256dh,
                                                                       b64(browser.auth))))
    finally:
        d.close()
    assert result.outcome is outcome and words in result.detail
    assert "secret" not in result.detail, "the push service's reply is never repeated"


def test_push_is_not_configured_without_a_subject_and_the_vapid_key_is_kept_in_the_data_dir(tmp_path):
    settings = Settings(secret_key="k", data_dir=tmp_path)  # smtp_from defaults to tocsin@localhost
    assert settings.resolved_vapid_subject() is None
    status = push.key_status(settings)
    assert status["ready"] is False and "TOCSIN_VAPID_SUBJECT" in status["detail"]
    kept = tmp_path / "vapid_private_key"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert push.key_status(settings)["public_key"] == status["public_key"], "the same key after a restart"
    d = Dispatcher(settings)
    result = d.send("push", _message("https://push.example.test/x#p256dh=a&auth=b"))
    assert result.outcome is Outcome.permanent and "TOCSIN_VAPID_SUBJECT" in result.detail
    assert Settings(smtp_from="pager@example.com").resolved_vapid_subject() == "mailto:pager@example.com"
    assert push_subscription.shown("https://fcm.googleapis.com/fcm/send/x#p256dh=a&auth=b") == \
        "push service fcm.googleapis.com", "a list shows the push service, never the keys"


def test_nobody_subscribes_a_device_for_someone_else_and_a_device_moves_to_its_new_user(db, clock, make_person):
    from tocsin.contacts.service import list_methods
    from tocsin.principal import OrgRole, Principal

    admin, dana, erin = (make_person(role, name=name) for role, name in
                         (("admin", "Ada"), ("responder", "Dana"), ("responder", "Erin")))
    as_ = {p.id: Principal(user_id=p.id, label=p.email, org_role=OrgRole(p.role)) for p in (admin, dana, erin)}
    browser = Browser.new()
    sub = {"endpoint": "https://push.example.test/shared-laptop", "p256dh": browser.p256dh, "auth": b64(browser.auth)}
    with db.unit_of_work() as s, pytest.raises(Forbidden):
        push.subscribe(s, actor=as_[admin.id], now=clock.now(), user=require_user(s, dana.id), **sub)
    with db.unit_of_work() as s:
        first = push.subscribe(s, actor=as_[dana.id], now=clock.now(), user=require_user(s, dana.id), **sub)
        again = push.subscribe(s, actor=as_[dana.id], now=clock.now(), user=require_user(s, dana.id), label="laptop",
                               **sub)
        assert again.id == first.id and again.label == "laptop", "the same device renews, it is not added twice"
    with db.unit_of_work() as s:
        push.subscribe(s, actor=as_[erin.id], now=clock.now(), user=require_user(s, erin.id), **sub)
        assert [m.type for m in list_methods(s, dana.id)] == [], "Dana's pages no longer go to Erin's browser"
        assert [m.type for m in list_methods(s, erin.id)] == ["push"]
    with db.unit_of_work() as s, pytest.raises(InvalidInput, match="p256dh"):
        push.subscribe(s, actor=as_[erin.id], now=clock.now(), user=require_user(s, erin.id),
                       endpoint="https://push.example.test/y", p256dh=b64(b"\x04" + b"\x01" * 64), auth=sub["auth"])
    # Knowing the endpoint is not enough to take the device: without its keys the answer is a conflict,
    # and Erin keeps her device and the rules that page it.
    thief = Browser.new()
    with db.unit_of_work() as s, pytest.raises(Conflict):
        push.subscribe(s, actor=as_[dana.id], now=clock.now(), user=require_user(s, dana.id),
                       endpoint=sub["endpoint"], p256dh=thief.p256dh, auth=b64(thief.auth))
    with db.unit_of_work() as s:
        assert [m.type for m in list_methods(s, erin.id)] == ["push"]
        assert [m.type for m in list_methods(s, dana.id)] == []


def test_a_restricted_incident_pushes_no_text_to_someone_who_may_not_see_it(runbook, push_service):
    """The outsider is on call by push. A security auto-incident rule declares a restricted incident from
    an alert; an insider names it and writes in it while the engine goes on paging. Nothing the outsider's
    phone decrypts carries the incident's words (an incident page, if one reaches them, names only its
    severity), as for email, Slack and webhooks (tests/security/test_surfaces.py)."""
    rb = runbook
    rb.configure(vapid_private_key=VAPID_KEY, vapid_subject=SUBJECT)
    secret = "Payroll-exfiltration-7731"
    rb.person("Ada", role="admin"), rb.person("Insider")
    outsider = rb.person("Outsider")
    rb.service("checkout", tier=1)
    phone = Browser.new()
    made = rb.http.post("/api/v1/users/me/push-subscriptions", headers=outsider.headers,
                        json={**phone.subscription(push_service.url() + "/outsider"), "page_at_once": True})
    assert made.status_code == 201, made.text
    rb.policy((5, ["Outsider"]), repeat=3)
    rb.as_("Ada").post("/auto-incident-rules", name="exfiltration", matchers=["tier=1"], incident_severity="SEV1",
                       incident_kind="security")
    rb.trigger("checkout-5xx")
    rb.tick()
    ref = rb.as_("Ada").get("/incidents")["items"][0]["ref"]
    rb.as_("Ada").post(f"/incidents/{ref}/participants", 200, user=rb.people["Insider"].email, kind="responder")
    rb.as_("Insider").patch(f"/incidents/{ref}", title=f"{secret} title", summary=f"{secret} summary")
    rb.as_("Insider").post(f"/incidents/{ref}/notes", text=f"{secret} note")
    for _ in range(3):
        rb.tick(minutes=5)
    shown = [phone.decrypt(post) for post in push_service.posts]
    assert len(shown) > 3, "the outsider was hardly paged: the test would prove nothing"
    for message in shown:
        assert secret not in json.dumps(message), message
        if message["kind"] == "incident":
            assert message["title"].startswith("[SEV1]") and message["url"].startswith("/incidents/")
            assert [a["title"] for a in message["actions"]] == ["Take command"]
