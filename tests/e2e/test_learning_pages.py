"""Learning from incidents in the browser: action items and problems.

Runbook: Rui (a responder) opens Action items from the header, creates an item for the seeded
incident with himself as owner and a due day, lands on the item's page, finds it under "Mine",
marks it done from there and sees it leave the open list. Then he records a problem from
/problems, opens it, links the seeded incident to it, and sees the link, the recurrence line
and the workaround on the incident's timeline. Every page passes axe-core at desktop size, and
the list and problem pages fit a 360 px phone. Screenshots: action-items, problem.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, nav_href, screenshot, sideways_scroll, submit
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def test_an_action_item_and_a_problem_from_the_browser(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    page = new_page(DESKTOP)
    login(page, site.url, site.users["rui"])
    inc = site.seeded_incident

    # --- an action item, created and completed ---------------------------------------------------
    page.goto(site.url + nav_href(page, "Action items"))
    expect(page.locator("h1")).to_have_text("Action items")
    form = page.locator("#action-new")
    form.locator('[name="title"]').fill("Add a retry budget to the payment client")
    form.locator('[name="incident"]').fill(inc)
    form.locator('[name="due"]').fill("2030-01-15")
    form.locator('[name="priority"]').select_option("high")
    submit(form)
    expect(page.locator("h1")).to_contain_text("Add a retry budget to the payment client")
    ref = page.locator("h1").inner_text().split(":", 1)[0]
    expect(page.locator("#action-facts")).to_contain_text(inc)
    check_a11y(page, "an action item's page")

    page.goto(f"{site.url}/action-items?owner=me")
    row = page.locator("#action-items tr", has=page.locator(f'a[href="/action-items/{ref}"]'))
    expect(row).to_contain_text("2030-01-15")
    expect(row.locator(f'a[href="/incidents/{inc}"]')).to_be_visible()
    check_a11y(page, "the action items list")
    screenshot(page, "action-items")

    page.goto(f"{site.url}/action-items/{ref}")
    page.get_by_role("button", name="Mark done").click()
    expect(page.locator('[role="status"], .flash').first).to_contain_text(f"{ref} done")
    expect(page.locator("#action-facts")).to_contain_text("done")
    page.goto(f"{site.url}/action-items?owner=me")
    expect(page.locator(f'#action-items a[href="/action-items/{ref}"]')).to_have_count(0)

    # --- a problem, recorded and linked to the incident -------------------------------------------
    page.goto(f"{site.url}/problems")
    form = page.locator("#problem-new")
    form.locator('[name="title"]').fill("Payment client retries without a budget")
    form.locator('[name="workaround"]').fill("Scale the payment client down to 2 replicas")
    submit(form)
    expect(page.locator("h1")).to_contain_text("Payment client retries without a budget")
    prb = page.locator("h1").inner_text().split(":", 1)[0]
    check_a11y(page, "a problem's page")
    link = page.locator("#problem-link")
    link.locator('[name="incident"]').fill(inc)
    submit(link)
    expect(page.locator(f'#problem-incidents a[href="/incidents/{inc}"]')).to_be_visible()
    expect(page.locator("#problem-recurrence")).to_contain_text("1 incident")
    screenshot(page, "problem")
    page.goto(f"{site.url}/incidents/{inc}")
    expect(page.locator("#timeline")).to_contain_text(f"Known problem {prb}")

    page.goto(f"{site.url}/problems")
    expect(page.locator(f'#problems a[href="/problems/{prb}"]')).to_be_visible()
    check_a11y(page, "the problems list")

    # --- the reports page, with its filters ------------------------------------------------------------
    page.goto(site.url + nav_href(page, "Reports"))
    page.locator("#rp-range").select_option("30d")
    page.locator("#rp-sev-SEV2").check()
    submit(page.locator("#report-form"))
    expect(page.locator("#rp-sev-SEV2")).to_be_checked()
    expect(page.locator("#report-summary")).to_contain_text("Time to acknowledge")
    expect(page.locator("img.chart")).to_have_count(4)
    check_a11y(page, "the reports page")

    # --- on a phone ----------------------------------------------------------------------------------
    phone = new_page(PHONE)
    login(phone, site.url, site.users["rui"])
    too_wide = []
    for path, what in (("/action-items?status=all", "the action items list"), (f"/action-items/{ref}", "an item"),
                       ("/problems", "the problems list"), (f"/problems/{prb}", "a problem"),
                       ("/reports", "the reports page")):
        phone.goto(site.url + path)
        if problem := sideways_scroll(phone, what):
            too_wide.append(problem)
        check_a11y(phone, f"{what} on a phone")
    assert not too_wide, "\n".join(too_wide)
