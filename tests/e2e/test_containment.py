"""A security incident's Containment panel in the browser (issue 17).

Runbook: a responder declares a security incident from the declare dialog, advances its phase
from detection and analysis to containment, starts the default containment checklist, adds an
investigate step and a preserve step for web-7, ticks the investigate step first and sees the
forensics-first warning ("investigating web-7 before it was preserved") as a banner and on the
timeline, then ticks the preserve step. The room passes the accessibility checks and fits a phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, choose, entries, login, screenshot, sideways_scroll

pytestmark = pytest.mark.slow


def test_advance_the_phase_and_see_the_forensics_warning(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    page = new_page()
    login(page, site.url, site.users["rui"])
    page.locator("#declare-open").click()
    form = page.locator("#declare-form")
    form.locator('[name="title"]').fill("Deploy key leaked on a public repository")
    choose(form.locator('[name="severity"]'), "SEV2")
    choose(form.locator('[name="kind"]'), "security")
    form.get_by_role("button", name="Declare", exact=True).click()
    panel = page.locator("#containment-section")
    expect(panel.locator("#phase-now")).to_contain_text("Detection & analysis")

    panel.get_by_role("button", name="Advance to Containment").click()
    expect(page.locator("#phase-now")).to_contain_text("Containment")
    expect(entries(page, "phase_changed")).to_contain_text("Detection & analysis → Containment")

    page.locator("#checklist-start-form").get_by_role("button", name="Start checklist").click()
    expect(page.locator("#checklist li.step")).to_have_count(5)
    for kind, title in (("investigate", "Read the auth logs"), ("preserve", "Snapshot the disk")):
        page.locator("#step-add summary").click()
        step = page.locator("#step-form")
        choose(step.locator('[name="kind"]'), kind)
        step.locator('[name="title"]').fill(title)
        step.locator('[name="target"]').fill("web-7")
        step.get_by_role("button", name="Add step").click()
    expect(page.locator("#checklist li.step")).to_have_count(7)

    page.get_by_role("button", name="Tick Read the auth logs (web-7)").click()
    expect(page.locator("#forensics-warnings")).to_contain_text("investigating web-7 before it was preserved")
    expect(entries(page, "forensics")).to_contain_text("investigating web-7 before it was preserved")
    page.get_by_role("button", name="Tick Snapshot the disk (web-7)").click()
    expect(page.locator("#checklist li.step.done")).to_have_count(2)
    expect(page.locator("#checklist li.step.done").last).to_contain_text("Snapshot the disk")
    page.locator("#containment-section").scroll_into_view_if_needed()
    check_a11y(page, "the security incident room with its Containment panel")
    screenshot(page, "containment")

    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, "the Containment panel on a phone") is None, \
        sideways_scroll(page, "the Containment panel on a phone")
