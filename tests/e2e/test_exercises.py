"""A tabletop exercise in the browser (issue 19).

Runbook: an admin opens Exercises from Configure, starts the shipped "Bad deploy" scenario as a
tabletop with themselves as the IC, fires the first step by hand (it shows as fired), finishes the
run and reads its score. The run page passes the accessibility checks and fits a phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, choose, login, sideways_scroll

pytestmark = pytest.mark.slow


def test_a_facilitator_runs_a_tabletop_and_reads_the_score(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    page = new_page()
    admin = site.users["admin"]
    login(page, site.url, admin)
    page.goto(f"{site.url}/configure")
    page.get_by_role("link", name="Exercises and game days").click()
    form = page.locator("#exercise-start")
    choose(form.locator('[name="shipped"]'), "bad-deploy")
    form.get_by_label("Tabletop: the facilitator advances steps by hand").check()
    form.locator('[name="participants"]').fill(f"{admin.email} incident_commander")
    form.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bad deploy")

    page.locator("#exercise-next button").click()
    expect(page.locator("#exercise-injects li").first).to_contain_text("fired")
    expect(page.locator("#exercise-events")).to_contain_text("Inject 1: alert: api: 5xx rate 12%")
    page.locator("#exercise-finish button").click()
    expect(page.locator("#score")).to_contain_text("Score: 0/100 — failed")
    expect(page.locator("#exercise-score")).to_contain_text("missed")
    check_a11y(page, "an exercise run with its score")

    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, "an exercise run on a phone") is None, sideways_scroll(page, "an exercise run on a phone")
