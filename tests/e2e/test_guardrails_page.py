"""Configure -> Guardrails in the browser: a responder finds every guardrail with its threshold and
whether it is on; the page passes axe-core at desktop and phone size and fits a 360 px screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, sideways_scroll
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def test_a_responder_reads_the_guardrails_and_their_thresholds(site: Site, new_page) -> None:  # noqa: ANN001
    page: Page = new_page(DESKTOP)
    login(page, site.url, site.users["rui"])
    page.goto(f"{site.url}/configure")
    page.get_by_role("link", name="Guardrails", exact=True).click()
    expect(page).to_have_url(f"{site.url}/configure/guardrails")
    expect(page.locator("#guardrail-rules tbody tr")).to_have_count(10)
    scribe = page.locator('tr[data-rule="no_scribe"]')
    expect(scribe).to_contain_text("No scribe")
    expect(scribe).to_contain_text("TOCSIN_GUARDRAIL_SCRIBE_MINUTES = 10")
    expect(scribe.locator(".guardrail-state")).to_have_text("on")
    check_a11y(page, "Configure -> Guardrails")
    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, "Configure -> Guardrails") is None
    check_a11y(page, "Configure -> Guardrails (phone)")
