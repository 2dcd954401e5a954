"""An admin sets up how alerts are handled, in the browser, without the API.

Runbook (desktop): Ada opens "New escalation policy", pages the on-call schedule at level 1 and Sam
at level 2 ("Another target" adds Rui there, "Up"/"Down" and "Remove" re-render the form; nothing is
saved until "Save policy"), and sees the policy read back in words. She adds a routing rule and
reads what it does; plans a weekly maintenance window in Europe/Berlin for next week and sees when
it next starts; opens the audit log, where those changes are listed, and verifies the chain: OK.
On a 360 px phone the same pages fit without sideways scrolling. axe-core finds no serious or
critical violation on any of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, choose, login, screenshot, sideways_scroll
from tests.harness.site import SCHEDULE, Site

pytestmark = pytest.mark.slow


def level(page: Page, n: int):  # noqa: ANN201 (a Locator)
    return page.locator("#policy-form fieldset").nth(n - 1)


def test_admin_builds_policy_rule_window_and_verifies_audit(site: Site, new_page) -> None:  # noqa: ANN001
    admin = site.users["admin"]
    page = new_page(DESKTOP)
    login(page, site.url, admin)

    # --- the escalation policy editor -----------------------------------------------------------
    page.goto(f"{site.url}/escalation-policies")
    page.get_by_role("link", name="New policy").click()
    expect(page.locator("h1")).to_have_text("New escalation policy")
    check_a11y(page, "the policy editor")
    expect(page.locator("#policy-form fieldset"), "a new policy starts with two levels").to_have_count(2)
    page.locator("#pol-name").fill("Checkout paging")
    choose(level(page, 1).locator("select").first, SCHEDULE)
    level(page, 1).get_by_label("Then wait").fill("5")
    choose(level(page, 2).locator("select").first, site.users["sam"].email)
    level(page, 2).get_by_label("Then wait").fill("15")
    page.locator("#pol-repeat").fill("1")
    level(page, 2).get_by_role("button", name="Another target").click()
    # the form came back with what was chosen, and one more choice on level 2
    expect(page.locator("#pol-name")).to_have_value("Checkout paging")
    expect(level(page, 2).locator("select")).to_have_count(3)
    choose(level(page, 2).locator("select").nth(1), site.users["rui"].email)
    page.get_by_role("button", name="Add a level").click()
    expect(page.locator("#policy-form fieldset")).to_have_count(3)
    page.get_by_role("button", name="Remove level 3").click()
    expect(page.locator("#policy-form fieldset")).to_have_count(2)
    screenshot(page, "policy-editor")
    page.get_by_role("button", name="Save policy").first.click()

    expect(page).to_have_url(f"{site.url}/escalation-policies/checkout-paging")
    expect(page.locator(".flash")).to_have_text("Escalation policy saved")
    levels = page.locator("ol.levels > li")
    expect(levels).to_have_count(2)
    expect(levels.nth(0)).to_contain_text("checkout-primary")
    expect(levels.nth(0)).to_contain_text("wait 5 min")
    expect(levels.nth(1)).to_contain_text(site.users["sam"].email)
    expect(levels.nth(1)).to_contain_text(site.users["rui"].email)
    expect(page.locator("main")).to_contain_text("runs again 1 more time")

    # --- a routing rule -----------------------------------------------------------------------------
    page.goto(f"{site.url}/routing-rules")
    check_a11y(page, "routing rules")
    form = page.locator("#routing-form")
    form.get_by_label("Name").fill("database alerts")
    form.get_by_label("When an alert's labels match").fill('team=db\nseverity=~"critical|error"')
    choose(form.get_by_label("Send it to service"), "checkout")
    choose(form.get_by_label("Urgency"), "high")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator(".flash")).to_contain_text("database alerts")
    expect(page.locator("table")).to_contain_text(
        'Alerts where team is "db" and severity matches /critical|error/ go to checkout with high urgency.')

    # --- a recurring maintenance window, next week ----------------------------------------------------
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=2, minute=0, second=0, microsecond=0)
    page.goto(f"{site.url}/silences")
    check_a11y(page, "silences and maintenance")
    form = page.locator("#window-form")
    choose(form.get_by_label("Service"), "checkout")
    form.get_by_label("Name").fill("weekly database patching")
    form.get_by_label("Start", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("End", exact=True).fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    choose(form.get_by_label("Repeats"), "weekly")
    form.get_by_label("Time zone of these times").fill("Europe/Berlin")
    form.get_by_role("button", name="Plan window").click()
    expect(page.locator(".flash")).to_have_text("Maintenance window planned")
    row = page.locator("#windows tr").filter(has_text="weekly database patching")
    expect(row).to_contain_text("every week (Europe/Berlin)")
    expect(row).to_contain_text("starts")
    row.get_by_role("link", name="weekly database patching").click()
    expect(page.locator("h1")).to_contain_text("weekly database patching")
    expect(page.locator("main")).to_contain_text("Next starts")
    check_a11y(page, "a maintenance window")

    # --- the audit log: the changes are there, the chain holds ---------------------------------------
    page.goto(f"{site.url}/audit")
    check_a11y(page, "the audit log")
    entries = page.locator("#audit-entries")
    for action in ("escalation_policy.create", "routing_rule.create", "maintenance_window.create"):
        expect(entries).to_contain_text(action)
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-result")).to_contain_text("OK")
    check_a11y(page, "the audit log, verified")
    screenshot(page, "audit")

    # --- on a phone ---------------------------------------------------------------------------------
    phone = new_page(PHONE)
    login(phone, site.url, admin)
    too_wide = []
    for path, what in (("/escalation-policies/checkout-paging/edit", "the policy editor"),
                       ("/routing-rules", "routing rules"), ("/silences", "silences"),
                       ("/audit", "the audit log")):
        phone.goto(site.url + path)
        check_a11y(phone, f"{what} (phone)")
        if problem := sideways_scroll(phone, what):
            too_wide.append(problem)
    assert not too_wide, "\n".join(too_wide)
