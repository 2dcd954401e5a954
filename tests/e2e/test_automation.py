"""Approved actions in the browser (issue 19), on a phone.

Runbook: Ada (admin) defines "Purge the CDN", a webhook a second person approves, on
/configure/automation; she declares an incident and asks for a run from the room's Approved actions
panel; Rui opens the room on his phone, sees the run waiting and approves it; the timeline says so.
The room passes the accessibility checks and does not scroll sideways on a phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, action, check_a11y, declare, entries, login, sideways_scroll, submit

pytestmark = pytest.mark.slow


def test_a_second_person_approves_a_run_on_a_phone(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    ada = new_page(viewport=PHONE)
    login(ada, site.url, site.users["admin"])
    ada.goto(f"{site.url}/configure/automation")
    form = ada.locator("#automation-new-form")
    for name, value in (("slug", "purge-cdn"), ("name", "Purge the CDN"), ("url", "https://hooks.example.test/purge"),
                        ("params", "zone | choice | required | eu, us")):
        form.locator(f'[name="{name}"]').fill(value)
    form.locator('[name="kind"]').select_option("webhook")
    form.locator('[name="requires_approval"]').check()
    submit(form)
    expect(ada.locator("h2", has_text="Purge the CDN")).to_be_visible()

    ref = declare(ada, "Stale prices on the product pages")
    ada.locator("#automation > summary").click()  # the panel is folded until a run waits
    run = action(ada, '.automation-run-form[data-action="purge-cdn"]')
    run.locator('[name="param_zone"]').select_option("eu")
    submit(run)
    expect(ada.locator("#automation .automation-pending")).to_contain_text("zone=eu")

    rui = new_page(viewport=PHONE)
    login(rui, site.url, site.users["rui"], next_path=f"/incidents/{ref}")
    pending = rui.locator("#automation .automation-pending")
    expect(pending).to_contain_text("asked by Ada Admin")
    check_a11y(rui, "the room's Approved actions panel with a run waiting for approval")
    assert sideways_scroll(rui, "the Approved actions panel on a phone") is None
    pending.get_by_role("button", name="Approve").click()
    expect(entries(rui, "automation").first).to_be_attached()
    expect(entries(rui, "automation")).to_contain_text(["Approved action approved: “Purge the CDN” with zone=eu"])
