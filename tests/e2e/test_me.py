"""A responder sets up their own paging from /me, in the browser, against a real mail server.

Runbook: Rui logs in and opens /me: a warning says high-urgency pages have no verified way to reach
him. He adds an email contact method, presses "Send code", reads the code in the mail that arrived
(aiosmtpd), types it in and sees "verified"; then adds a rule "high urgency, after 2 minutes" and
the summary reads "email at once, email after 2 min". The page passes axe-core at desktop and
phone size and fits a 360 px screen. Saves docs/screenshots/me.png.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, screenshot, sideways_scroll
from tests.harness.processes import TocsinProcess, tocsin_env
from tests.harness.site import SECRET_KEY, Site, seed
from tests.harness.smtp import SmtpFixture

pytestmark = pytest.mark.slow
_CODE = re.compile(r"verification code is (\d{6})")
ADDRESS = "rui.pager@example.test"


@pytest.fixture(scope="module")
def mail_site(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, SmtpFixture]]:
    """The seeded organisation on a server of its own whose mail goes to a real SMTP server."""
    tmp = tmp_path_factory.mktemp("e2e-me")
    shutil.copy(_sqlite_template, tmp / "tocsin.db")
    site = seed(f"sqlite:///{tmp / 'tocsin.db'}")
    with SmtpFixture() as smtp:
        env = {**tocsin_env(tmp / "data", site.database_url), "TOCSIN_SECRET_KEY": SECRET_KEY,
               "TOCSIN_SMTP_URL": smtp.url, "TOCSIN_SMTP_FROM": "tocsin@example.test"}
        site.servers.append(TocsinProcess(env, tmp / "tocsin.log").wait_ready(timeout=120))  # a busy CI box
        try:
            yield site, smtp
        finally:
            site.servers[0].stop()


def _code_for(smtp: SmtpFixture, address: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got in reversed(smtp.handler.received):
            if address in got.rcpt_tos and got.message["Subject"] == "tocsin verification code":
                return _CODE.search(got.message.get_content()).group(1)
        time.sleep(0.1)
    pytest.fail(f"no verification code reached {address}")


def test_a_responder_verifies_an_email_method_and_sets_a_rule_from_me(mail_site, new_page) -> None:
    site, smtp = mail_site
    rui = site.users["rui"]
    page = new_page(DESKTOP)
    login(page, site.url, rui, next_path="/me")
    expect(page.locator("#paging-warning")).to_contain_text("no verified way to be paged for high-urgency alerts")
    check_a11y(page, "/me before any contact method")

    page.locator("#cm-type").select_option("email")
    page.locator("#cm-address").fill(ADDRESS)
    page.get_by_role("button", name="Add contact method").click()
    row = page.locator("#methods tr", has_text=ADDRESS)
    expect(row).to_contain_text("not verified")

    row.get_by_role("button", name="Send code").click()
    expect(page.locator(".flash")).to_contain_text(f"Code sent to {ADDRESS}")
    code = _code_for(smtp, ADDRESS)
    row = page.locator("#methods tr", has_text=ADDRESS)
    row.get_by_label(f"Code sent to {ADDRESS}").fill(code)
    row.get_by_role("button", name="Verify").click()
    expect(page.locator(".flash")).to_contain_text(f"{ADDRESS} is verified")
    expect(page.locator("#methods tr", has_text=ADDRESS).locator(".state-verified")).to_have_text("verified")
    expect(page.locator("#paging-warning")).to_have_count(0)

    page.locator("#rule-urgency").select_option("high")
    page.locator("#rule-delay").fill("2")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-summary")).to_contain_text("High urgency: email at once, email after 2 min")
    check_a11y(page, "/me with a verified method and rules")
    page.locator("#contacts").scroll_into_view_if_needed()
    screenshot(page, "me")

    phone = new_page(PHONE)
    login(phone, site.url, rui, next_path="/me")
    check_a11y(phone, "/me on a phone")
    assert sideways_scroll(phone, "/me on a phone") is None
