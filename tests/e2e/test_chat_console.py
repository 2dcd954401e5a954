"""Chat-ops in the browser: the admin sets Slack up from the console, and a responder links their chat user.

Runbook: Ada (admin) opens Configure -> Chat: Slack is not configured and the page names the two
secrets it still needs; the app manifest is there with this server's request URLs, and the download
link serves it as a file. Rui asked the Slack app for a link (`/incident link`); he opens it, logs in,
is asked "Link Slack user U0RUI in workspace T0ACME to your account rui@example.test?", confirms,
sees "Linked", and finds the chat account on /me. Both pages pass axe-core at desktop and phone size
and fit a 360 px screen.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, screenshot, sideways_scroll
from tests.harness.site import SECRET_KEY, Site
from tocsin.chatops.accounts import ChatIdentity, link_token

pytestmark = pytest.mark.slow


def on_phone(page: Page, what: str) -> None:
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, what) is None
    check_a11y(page, f"{what} (phone)")
    page.set_viewport_size(size)


def test_an_admin_finds_the_slack_manifest_and_a_responder_links_their_chat_user(site: Site, new_page) -> None:  # noqa: ANN001
    ada = new_page(DESKTOP)
    login(ada, site.url, site.users["admin"])
    ada.goto(f"{site.url}/")
    ada.locator("nav").get_by_role("link", name="Configure", exact=True).click()
    ada.get_by_role("link", name="Chat", exact=True).click()
    expect(ada).to_have_url(f"{site.url}/configure/chat")
    expect(ada.locator("#status-slack")).to_contain_text("Not configured.")
    expect(ada.locator("#status-slack")).to_contain_text("TOCSIN_SLACK_SIGNING_SECRET")
    expect(ada.locator("#status-slack")).to_contain_text("TOCSIN_SLACK_BOT_TOKEN")
    manifest = yaml.safe_load(ada.locator("#slack-manifest").inner_text())
    assert manifest["settings"]["event_subscriptions"]["request_url"] == f"{site.url}/integrations/slack/events"
    assert manifest["features"]["slash_commands"][0]["command"] == "/incident"
    with ada.expect_download() as got:
        ada.locator("#manifest-download").click()
    download = got.value
    assert download.suggested_filename.endswith(".yaml")
    assert yaml.safe_load(Path(download.path()).read_text(encoding="utf-8")) == manifest
    check_a11y(ada, "Configure -> Chat")
    ada.evaluate("window.scrollTo(0, 0)")
    screenshot(ada, "chat-config")
    on_phone(ada, "Configure -> Chat")

    # Rui opens the link the Slack app gave him: the login comes first, then the question
    token = link_token(SECRET_KEY, ChatIdentity("slack", "T0ACME", "U0RUI"), now=datetime.now(UTC))
    rui = new_page(DESKTOP)
    rui.goto(f"{site.url}/chat/link?t={token}")
    expect(rui).to_have_url(re.compile(r"/login\?next="))
    login(rui, site.url, site.users["rui"])
    expect(rui.locator("#chat-link-question")).to_have_text(
        "Link Slack user U0RUI in workspace T0ACME to your account rui@example.test?")
    check_a11y(rui, "the chat link page")
    on_phone(rui, "the chat link page")
    rui.get_by_role("button", name="Confirm").click()
    expect(rui.get_by_role("heading", name="Linked")).to_be_visible()
    expect(rui.locator("#chat-link-done")).to_contain_text("U0RUI")
    rui.get_by_role("link", name="Your chat accounts").click()
    row = rui.locator("#chat-accounts-table tr", has_text="U0RUI")
    expect(row).to_contain_text("by a one-time link")
    expect(row.get_by_role("button", name="Unlink Slack user U0RUI")).to_be_visible()
    check_a11y(rui, "/me with a chat account")

    # the same link a second time links nothing more
    rui.goto(f"{site.url}/chat/link?t={token}")
    rui.get_by_role("button", name="Confirm").click()
    expect(rui.get_by_role("heading", level=1)).to_have_text("Conflict")
    expect(rui.locator("main")).to_contain_text("already used")
