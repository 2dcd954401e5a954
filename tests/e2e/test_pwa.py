"""The console as an installable app, and enabling Web Push on /me, in Chromium.

Headless Chromium has no push service to subscribe at, so the subscription itself is not faked
here: tests/integration/test_webpush.py plays the browser's part against a local push endpoint.
What this checks is what a browser does before that: the manifest and the service worker load
under the console's strict CSP (a violation fails the test), the worker takes the whole site as
its scope, the push section offers "Enable push on this device" once the server has a VAPID
subject, a device added lists with its test and remove buttons, and the page passes axe-core at
desktop and phone widths without sideways scrolling.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, screenshot, sideways_scroll
from tests.harness.processes import TocsinProcess, tocsin_env
from tests.harness.site import SECRET_KEY, Site, seed

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def push_site(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A seeded SQLite site whose server has a VAPID subject (the shared `site`'s has none: its push
    section says what an admin must set). SQLite has one writing server, so this one has its own."""
    tmp: Path = tmp_path_factory.mktemp("e2e-pwa")
    shutil.copy(_sqlite_template, tmp / "tocsin.db")
    s = seed(f"sqlite:///{tmp / 'tocsin.db'}")
    env = {**tocsin_env(tmp / "data", s.database_url), "TOCSIN_SECRET_KEY": SECRET_KEY,
           "TOCSIN_VAPID_SUBJECT": "mailto:oncall-admins@example.test"}
    s.servers.append(TocsinProcess(env, tmp / "tocsin.log"))
    try:
        s.servers[0].wait_ready(timeout=90)  # a server of its own, started while others may be busy
        yield s
    finally:
        s.servers[0].stop()


def test_the_app_installs_and_push_is_offered_on_me(push_site: Site, new_page) -> None:  # noqa: ANN001
    base, rui = push_site.url, push_site.users["rui"]
    page = new_page(DESKTOP)
    login(page, base, rui)
    page.goto(f"{base}/me")

    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert (manifest["name"], manifest["start_url"], manifest["display"]) == ("tocsin", "/", "standalone")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{base}/", "the service worker serves the whole console"
    form = page.locator("#push-form")
    expect(form, "with a VAPID subject, the enable button is offered").to_be_visible()
    expect(page.locator("#push-status")).to_have_text("")

    # A device, as push.js would submit it after the browser subscribed (the subscribing is not faked).
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = b64(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    token = form.locator("input[name=csrf_token]").get_attribute("value")
    added = page.request.post(f"{base}/me/push", max_redirects=0, form={
        "csrf_token": token, "endpoint": "https://push.example.test/wpush/v2/rui-phone", "p256dh": p256dh,
        "auth": b64(os.urandom(16)), "label": "Rui's phone"})
    assert added.status == 303, added.text()[:300]
    page.reload()
    device = page.locator("#push tbody tr").filter(has_text="Rui's phone")
    expect(device).to_have_count(1)
    expect(device.get_by_role("button", name="Send a test push")).to_be_visible()
    check_a11y(page, "/me with push")
    page.locator("#push").evaluate("section => section.scrollIntoView()")
    screenshot(page, "push-devices")

    phone = new_page(PHONE)
    login(phone, base, rui)
    phone.goto(f"{base}/me#push")
    expect(phone.locator("#push-form")).to_be_visible()
    check_a11y(phone, "/me with push, phone")
    assert sideways_scroll(phone, "/me with push, phone") is None

    page.once("dialog", lambda dialog: dialog.accept())
    device.get_by_role("button", name="Remove").click()
    expect(page.locator(".flash")).to_have_text(re.compile("Push is off for “Rui's phone”"))
    expect(page.locator("#push tbody tr").filter(has_text="Rui's phone")).to_have_count(0)
