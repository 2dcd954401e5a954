"""Schedules in the browser: build one with a preview, then a shift swap end to end.

Runbook: Ada (admin) opens /schedules/new, names the schedule "Payments", adds a daily layer
(Rui, then Sam, handing off at 09:00 UTC from today) restricted to 09:00–17:00 every day, and
presses Preview: the preview shows Sam tomorrow 09:00–17:00 and Rui the day after, and nothing
is saved yet; Save creates it. Rui asks for cover the day after tomorrow 10:00–12:00 from the
schedule page; Sam sees the request on /shift-swaps and offers; Rui accepts on /me/shifts; the
week view shows Sam's override 10:00–12:00 that day. Each new page passes axe-core at desktop
size, the editor and the swaps page also at phone size without sideways scrolling.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, screenshot, sideways_scroll
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def day_section(page: Page, container: str, day: datetime):
    """The day column labelled like "Mon 07 Dec" inside `container`."""
    return page.locator(f'{container} section.day[aria-label="{day:%a %d %b}"]').first


def test_build_a_schedule_then_swap_a_shift(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow, later = today + timedelta(days=1), today + timedelta(days=2)
    rui, sam = site.users["rui"], site.users["sam"]

    ada = new_page(DESKTOP)
    login(ada, site.url, site.users["admin"])
    ada.goto(f"{site.url}/schedules")
    ada.get_by_role("link", name="New schedule").click()
    expect(ada.locator("h1")).to_have_text("New schedule")
    check_a11y(ada, "the new schedule form")
    ada.get_by_label("Name", exact=True).fill("Payments")
    ada.get_by_label("Key (in URLs and the API; empty: made from the name)").fill("payments")
    ada.get_by_label("Layer name").fill("Business hours")
    ada.get_by_label("Rotation", exact=True).select_option("daily")
    ada.get_by_label("Time zone of the rotation").fill("UTC")
    ada.get_by_label("First hand-off, in that time zone (later hand-offs keep its time of day)").fill(
        f"{today:%Y-%m-%d}T09:00")
    ada.get_by_label("Members in order, one email per line (the first takes the first shift)").fill(
        f"{rui.email}\n{sam.email}")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        ada.locator("#new-r0-d" + str(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].index(day) + 1)).check()
    ada.locator("#new-r0-start").fill("09:00")
    ada.locator("#new-r0-end").fill("17:00")
    ada.get_by_role("button", name="Preview").click()

    preview = ada.locator("#preview")
    expect(preview).to_contain_text("not saved yet")
    expect(day_section(ada, "#preview", tomorrow)).to_contain_text("Sam Second")
    expect(day_section(ada, "#preview", tomorrow)).to_contain_text("09:00–17:00")
    expect(day_section(ada, "#preview", later)).to_contain_text("Rui Responder")
    expect(day_section(ada, "#preview", later)).not_to_contain_text("Sam Second")
    expect(ada.get_by_label("Layer name")).to_have_value("Business hours")  # the form keeps what was typed
    check_a11y(ada, "the schedule preview")
    preview.scroll_into_view_if_needed()
    screenshot(ada, "schedule-editor")
    other_tab = ada.context.new_page()
    other_tab.goto(f"{site.url}/schedules")
    expect(other_tab.locator("table")).not_to_contain_text("Payments")  # a preview saves nothing
    other_tab.close()
    ada.get_by_role("button", name="Save").click()
    expect(ada).to_have_url(f"{site.url}/schedules/payments/edit")
    expect(ada.locator(".flash")).to_contain_text("Schedule created")
    expect(ada.locator("#l1-title")).to_have_text("Layer 1: Business hours")
    expect(ada.locator("#l1-form")).to_contain_text("On call only: every day 09:00–17:00")
    check_a11y(ada, "the schedule editor")

    phone = new_page(PHONE)
    login(phone, site.url, site.users["admin"])
    phone.goto(f"{site.url}/schedules/payments/edit")
    check_a11y(phone, "the schedule editor on a phone")
    assert sideways_scroll(phone, "the schedule editor on a phone") is None

    # Rui asks for cover the day after tomorrow, 10:00-12:00, from the schedule page
    rp = new_page(DESKTOP)
    login(rp, site.url, rui)
    rp.goto(f"{site.url}/schedules/payments")
    expect(rp.locator("#layers")).to_contain_text("on call only every day 09:00–17:00")
    form = rp.locator("#swap-form")
    form.get_by_label("From (UTC)").fill(f"{later:%Y-%m-%d}T10:00")
    form.get_by_label("Until (UTC)").fill(f"{later:%Y-%m-%d}T12:00")
    form.get_by_label("Note (optional)").fill("dentist")
    form.get_by_role("button", name="Ask for cover").click()
    expect(rp.locator(".flash")).to_contain_text("Cover requested")
    expect(rp.locator(".swap-list")).to_contain_text("Rui Responder asks for cover on Payments")

    # Sam offers on /shift-swaps
    sp = new_page(DESKTOP)
    login(sp, site.url, sam)
    sp.goto(f"{site.url}/shift-swaps")
    card = sp.locator(".swap-list li.card", has_text="dentist")
    expect(card).to_contain_text("Rui Responder asks for cover on Payments")
    card.get_by_label("Note (optional)").fill("I can take it")
    check_a11y(sp, "the shift swaps page")
    screenshot(sp, "shift-swaps")
    card.get_by_role("button", name="Offer to cover").click()
    expect(sp.locator(".flash")).to_contain_text("Offer sent")

    phone.goto(f"{site.url}/shift-swaps")
    check_a11y(phone, "the shift swaps page on a phone")
    assert sideways_scroll(phone, "the shift swaps page on a phone") is None

    # Rui accepts on /me/shifts; the week view shows Sam's override
    rp.goto(f"{site.url}/me/shifts")
    check_a11y(rp, "my shifts")
    expect(rp.locator("#my-shifts")).to_contain_text("Payments")
    rp.get_by_role("button", name="Accept Sam Second’s offer").click()
    expect(rp.locator(".flash")).to_contain_text("Offer accepted")
    rp.goto(f"{site.url}/schedules/payments?week={later:%Y-%m-%d}")
    that_day = day_section(rp, "#week-view", later)
    expect(that_day.locator("li.shift.override")).to_contain_text("Sam Second")
    expect(that_day.locator("li.shift.override")).to_contain_text("10:00–12:00")
    expect(that_day).to_contain_text("09:00–10:00")
    expect(that_day).to_contain_text("12:00–17:00")
