"""The console as an installable app and Web Push on /me: the manifest and service worker, enabling push
for "this device" (the form push.js submits), a test push that arrives decrypted at a local push
endpoint, removing a device, and what is refused: bad keys, an internal endpoint, someone else's device.
"""

from __future__ import annotations

import base64
import json
import os
import re
from html import unescape
from urllib.parse import unquote

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.harness.console import csrf, post_form
from tests.harness.webhook import Receiver
from tocsin.config import new_p256_key
from tocsin.notify import push_subscription

VAPID_KEY = new_p256_key()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    def __init__(self) -> None:
        self.key, self.auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        self.p256dh = b64(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint))

    def form(self, endpoint: str, **extra: str) -> dict[str, str]:
        return {"endpoint": endpoint, "p256dh": self.p256dh, "auth": b64(self.auth), **extra}


@pytest.fixture
def push_app(app):
    """The app with Web Push configured (a VAPID key and subject; loopback open, as for the fakes)."""
    app.state.settings = app.state.settings.model_copy(update={
        "vapid_private_key": VAPID_KEY, "vapid_subject": "mailto:ops@tocsin.test", "outbound_allow": "127.0.0.1/32"})
    return app


def flash(response) -> str:
    return unquote(response.cookies.get("tocsin_flash", "") or "")


def devices(client) -> list[str]:
    page = client.get("/me").text
    section = page[page.index('id="push"'):]
    return [unescape(m) for m in re.findall(r'<th scope="row">([^<]*)</th>', section.split("</section>")[0])]


def test_the_manifest_and_service_worker_are_served_from_the_site_root(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.headers["content-type"].startswith("application/manifest+json")
    doc = manifest.json()
    assert (doc["start_url"], doc["scope"], doc["display"]) == ("/", "/", "standalone")
    for icon in doc["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"
    assert 'addEventListener("push"' in sw.text and 'method: "POST"' in sw.text


def test_me_has_the_push_section_and_every_console_page_links_the_manifest(push_app, web_client):
    alice = web_client("responder")
    page = alice.get("/me")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp and "script-src 'self';" in csp
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text
    assert 'id="push-form"' in page.text and "hidden" in page.text.split('id="push-form"')[1].split(">")[0]
    assert '<script src="/static/push.js" defer></script>' in page.text
    assert "No device receives your pushes yet." in page.text
    key = alice.get("/me/push/key")
    assert key.json() == {"public_key": push_subscription.public_key(VAPID_KEY), "ready": True, "detail": ""}


def test_without_a_subject_the_page_says_what_an_admin_must_set(app, web_client):
    key = web_client("responder").get("/me/push/key").json()
    assert key["ready"] is False and "TOCSIN_VAPID_SUBJECT" in key["detail"]


def test_enable_push_then_a_test_push_arrives_decrypted_then_remove_it(push_app, web_client):
    alice = web_client("responder")
    phone = Browser()
    with Receiver() as endpoint:
        endpoint.status = 201
        done = post_form(alice, "/me/push", phone.form(endpoint.url(), label="Pixel 9", page_at_once="1"), page="/me")
        assert done.status_code == 303 and done.headers["location"] == "/me#push"
        assert flash(done) == "Push is on for “Pixel 9”. Pages reach it at once, and your account email too " \
                              "(a rule was added for each)."
        assert devices(alice) == ["Pixel 9"]
        rules = alice.get("/api/v1/users/me/notification-rules", headers=alice.user.headers).json()["items"]
        assert sorted(r["channel"] for r in rules) == ["email", "push"]

        method_id = re.search(r'action="/me/push/([0-9a-f-]+)/test"', alice.get("/me").text).group(1)
        sent = post_form(alice, f"/me/push/{method_id}/test", page="/me")
        assert flash(sent).startswith("Test push sent to “Pixel 9”")
        (post,) = endpoint.posts
        shown = json.loads(http_ece.decrypt(post.body, private_key=phone.key, auth_secret=phone.auth,
                                            version="aes128gcm"))
        assert (shown["title"], shown["kind"], shown["actions"]) == ("tocsin test push", "test", [])

        endpoint.status = 410
        failed = post_form(alice, f"/me/push/{method_id}/test", page="/me")
        assert flash(failed).startswith("The test push to “Pixel 9” failed: HTTP 410 Gone")

    again = post_form(alice, "/me/push", phone.form(endpoint.url(), label="Pixel"), page="/me")
    assert flash(again) == "Push is on for “Pixel”. Add a notification rule to page it."
    assert devices(alice) == ["Pixel"], "the same device is renewed, not added twice"

    gone = post_form(alice, f"/me/push/{method_id}/delete", page="/me")
    assert flash(gone) == "Push is off for “Pixel”: it gets no more pages."
    assert devices(alice) == []


@pytest.mark.parametrize(("change", "words"), [
    ({"endpoint": ""}, "endpoint is required"),
    ({"endpoint": "http://10.1.2.3/push"}, "endpoint is refused by the egress policy"),
    ({"endpoint": "ftp://push.example.test/x"}, "endpoint must be an http(s) URL"),
    ({"endpoint": "http://push.example.test/x"}, "endpoint must be an https URL (push services use https)"),
    ({"p256dh": b64(b"\x04" + b"\x07" * 64)}, "p256dh must be the browser&#39;s P-256 public key"),
    ({"auth": "c2hvcnQ"}, "auth must be the subscription&#39;s 16-byte secret"),
])
def test_a_bad_subscription_gets_a_clear_422(push_app, web_client, change, words):
    alice = web_client("responder")
    refused = post_form(alice, "/me/push", {**Browser().form("https://push.example.test/sub"), **change}, page="/me")
    assert refused.status_code == 422 and words in refused.text, refused.text[-600:]
    assert devices(alice) == []


def test_nobody_tests_or_removes_someone_elses_device(push_app, web_client):
    alice, bob, admin = web_client("responder"), web_client("responder"), web_client("admin")
    post_form(alice, "/me/push", Browser().form("https://push.example.test/alice", label="Alice's phone"), page="/me")
    method_id = re.search(r'action="/me/push/([0-9a-f-]+)/delete"', alice.get("/me").text).group(1)
    for other in (bob, admin):
        token = csrf(other, "/me")
        for action in ("test", "delete"):
            r = post_form(other, f"/me/push/{method_id}/{action}", token=token)
            assert r.status_code in (403, 404), (action, r.status_code)
    assert devices(alice) == ["Alice's phone"]
    assert post_form(alice, "/me/push/not-a-uuid/delete", page="/me").status_code == 404
    stale = alice.post("/me/push", data=Browser().form("https://push.example.test/x", csrf_token="forged"))
    assert stale.status_code == 403
