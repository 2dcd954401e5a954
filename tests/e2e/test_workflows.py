"""Incident workflows and incident types in the browser, on a phone (issue 19).

Runbook: an admin on a phone opens Configure → Incident workflows, writes "SEV1 basics" (declared,
SEV1: the schedule's on-call becomes Scribe, open the checklist), saves it and sees its steps in
words; then adds an incident type with a required field. Both pages pass the accessibility checks
and do not scroll sideways.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, login, screenshot, sideways_scroll

pytestmark = pytest.mark.slow


def test_an_admin_writes_a_workflow_and_a_type_on_a_phone(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    page = new_page(PHONE)
    login(page, site.url, site.users["admin"], next_path="/configure")
    page.get_by_role("link", name="Incident workflows").click()
    form = page.locator("#workflow-new-form")
    form.locator('[name="name"]').fill("SEV1 basics")
    form.get_by_label("SEV1").check()
    form.locator('[name="steps"]').fill("add_role | scribe | schedule:checkout-primary\nopen_checklist")
    form.get_by_role("button", name="Create workflow").click()
    section = page.locator("section.workflow")
    expect(section).to_contain_text("make the on-call of checkout-primary Scribe")
    expect(section).to_contain_text("open checklist (default)")
    check_a11y(page, "the incident workflows page")
    section.scroll_into_view_if_needed()
    screenshot(page, "workflows-phone")
    assert sideways_scroll(page, "the workflows page on a phone") is None, \
        sideways_scroll(page, "the workflows page on a phone")

    page.goto(f"{site.url}/configure/incident-types")
    form = page.locator("#type-new-form")
    form.locator('[name="slug"]').fill("payments")
    form.locator('[name="name"]').fill("Payments")
    form.locator('[name="custom_fields"]').fill("psp | Provider | choice | required | stripe, adyen")
    form.get_by_role("button", name="Create type").click()
    expect(page.locator("#type-payments")).to_contain_text("Payments")
    expect(page.locator("section.incident-type", has=page.locator("#type-payments"))).to_contain_text(
        "Provider (choice, required)")
    check_a11y(page, "the incident types page")
    assert sideways_scroll(page, "the incident types page on a phone") is None, \
        sideways_scroll(page, "the incident types page on a phone")
