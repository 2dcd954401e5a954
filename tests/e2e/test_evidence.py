"""The evidence locker in the browser.

Runbook: Ada (an admin, so she manages evidence) declares a security incident, opens the room's
Evidence panel (with its RFC 3227 guidance), uploads a log file and sees its SHA-256 in the panel;
opens the item, records that it was transferred to an outside IR firm, and opens the printable
custody report, which lists the hash and the transfer. The room, the item page and the report
pass axe-core; the room and the item page fit a 360 px phone. Screenshot: evidence.
"""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect

from tests.harness.browser import (
    DESKTOP,
    PHONE,
    ROOM_URL,
    action,
    check_a11y,
    choose,
    login,
    screenshot,
    sideways_scroll,
    submit,
)
from tests.harness.site import Site

pytestmark = pytest.mark.slow
LOG = b"Dec  6 03:12:44 web-7 sshd[811]: Accepted password for root from 203.0.113.9 port 52144\n" * 200


def test_upload_hand_over_and_report_evidence_from_the_room(site: Site, new_page) -> None:  # noqa: ANN001
    page = new_page(DESKTOP)
    login(page, site.url, site.users["admin"])
    page.locator("#declare-open").click()
    form = page.locator("#declare-form")
    form.locator('[name="title"]').fill("Root login from an unknown address on web-7")
    choose(form.locator('[name="severity"]'), "SEV2")
    choose(form.locator('[name="kind"]'), "security")
    form.get_by_role("button", name="Declare", exact=True).click()
    expect(page).to_have_url(ROOM_URL)
    room_url = page.url

    upload = action(page, "#evidence-upload-form")
    expect(page.locator("#evidence-guidance summary")).to_contain_text("RFC 3227")
    upload.locator('[name="file"]').set_input_files(files=[{"name": "auth.log", "mimeType": "text/plain",
                                                           "buffer": LOG}])
    upload.locator('[name="collected_where"]').fill("web-7")
    upload.locator('[name="reason"]').fill("root login from 203.0.113.9")
    submit(upload)
    digest = hashlib.sha256(LOG).hexdigest()
    expect(page.locator("#evidence-items")).to_contain_text(digest)
    expect(page.locator("#evidence-items")).to_contain_text("E-1 auth.log")
    check_a11y(page, "the incident room with its Evidence panel")
    screenshot(page, "evidence")

    page.locator("#evidence-items a", has_text="E-1 auth.log").click()
    expect(page.locator("h1")).to_have_text("E-1: auth.log")
    expect(page.locator("#item-sha256")).to_have_text(digest)
    custody = page.locator("#custody-form")
    choose(custody.locator('[name="action"]'), "transferred")
    custody.locator('[name="who"]').fill("Outside IR firm")
    custody.locator('[name="location"]').fill("sealed courier to the lab")
    custody.locator('[name="reason"]').fill("disk and log analysis")
    submit(custody)
    ledger = page.locator("#custody-ledger tbody tr")
    expect(ledger).to_have_count(2)
    expect(ledger.nth(1)).to_contain_text("transferred")
    expect(ledger.nth(1)).to_contain_text("Outside IR firm")
    check_a11y(page, "an evidence item's page")
    item_url = page.url

    page.locator('a[href$="/evidence/report"]').click()
    expect(page.locator("h1")).to_contain_text("Chain of custody")
    expect(page.locator("main")).to_contain_text(digest)
    expect(page.locator("main")).to_contain_text("sealed courier to the lab")
    check_a11y(page, "the custody report")

    page.set_viewport_size(PHONE)  # the same session, on a phone's width
    problems = []
    for url in (room_url, item_url):
        page.goto(url)
        if url == room_url:
            action(page, "#evidence-upload-form")
        problems.append(sideways_scroll(page, "on a phone"))
    assert problems == [None, None], problems
