"""Runbooks in the browser (issue 19), on a phone.

Runbook: an admin writes a runbook under Configure → Runbooks on a phone (owner none, service
checkout, two numbered steps), previews the rendered Markdown and creates it; a responder declares an
incident on checkout, finds the runbook in the room and marks its first step done, which the timeline
shows. The form and the room pass the accessibility checks and fit the phone. The runbook is deleted
afterwards so that the other tests' checkout rooms do not show it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, declare, entries, login, sideways_scroll

pytestmark = pytest.mark.slow


def test_write_a_runbook_on_a_phone_and_work_its_steps_in_the_room(site, new_page) -> None:  # noqa: ANN001
    page = new_page(PHONE)
    login(page, site.url, site.users["admin"])
    page.goto(f"{site.url}/configure/runbooks/new")
    form = page.locator("#runbook-form")
    form.locator('[name="title"]').fill("Checkout rollback")
    page.get_by_label("checkout", exact=True).check()
    form.locator('[name="body_md"]').fill("# Checkout rollback\n\n1. Check the **error rate**\n"
                                         "2. Roll back the deploy [action: rollback]\n")
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#rb-preview")).to_contain_text("(2 steps)")
    expect(page.locator("#rb-preview strong")).to_have_text("error rate")
    check_a11y(page, "the runbook form with its preview")
    assert sideways_scroll(page, "the runbook form on a phone") is None, sideways_scroll(page, "the runbook form")
    page.locator("#runbook-form").get_by_role("button", name="Create runbook").click()
    expect(page).to_have_url(f"{site.url}/configure/runbooks/checkout-rollback")

    try:
        room = new_page(PHONE)
        login(room, site.url, site.users["rui"])
        declare(room, "Checkout deploy broke carts", service="checkout")
        panel = room.locator("#runbook-checkout-rollback")
        expect(panel).to_contain_text("0/2 done")
        expect(panel.get_by_role("link", name="Run rollback")).to_be_visible()
        panel.get_by_role("button", name="Step 1 of Checkout rollback done").click()
        expect(room.locator("#runbook-checkout-rollback")).to_contain_text("1/2 done")
        expect(entries(room, "runbook")).to_contain_text("Step 1 of Checkout rollback done by Rui Responder")
        room.locator("#runbooks-section").scroll_into_view_if_needed()
        check_a11y(room, "the incident room with its Runbooks panel")
        assert sideways_scroll(room, "the Runbooks panel on a phone") is None, sideways_scroll(room, "the room")
    finally:
        page.goto(f"{site.url}/configure/runbooks/checkout-rollback")
        page.locator("#runbook-form").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(f"{site.url}/configure/runbooks")
