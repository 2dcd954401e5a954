"""Role handbooks in the browser, on a phone (issue 19).

Runbook: an admin opens the role handbooks from /configure, edits the Comms Lead's, previews it
(nothing saved), saves it and reads it as everyone will, then resets it to the shipped text. The
pages pass the accessibility checks and fit a phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, login, sideways_scroll

pytestmark = pytest.mark.slow


def test_an_admin_edits_a_handbook_on_a_phone(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    page = new_page(viewport=PHONE)
    login(page, site.url, site.users["admin"])
    page.goto(f"{site.url}/configure")
    page.get_by_role("link", name="Role handbooks").click()
    page.get_by_role("link", name="Edit the Comms Lead handbook").click()
    body = page.locator("#handbook-body")
    expect(body).to_contain_text("You own what is said outside the room")
    body.fill("# Comms Lead at Acme\n\nPost every **30 minutes**, even when nothing changed.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#handbook-preview strong")).to_have_text("30 minutes")
    check_a11y(page, "the handbook editor with a preview")
    assert sideways_scroll(page, "the handbook editor on a phone") is None

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#handbook h2")).to_have_text("Comms Lead at Acme")
    check_a11y(page, "a role handbook")
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Reset to the shipped text").click()
    expect(page.locator("#handbook-body")).to_contain_text("You own what is said outside the room")
