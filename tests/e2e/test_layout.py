"""On a phone, and for everyone: layout, keyboard and accessibility basics of the key pages.

Runbook (phone, 360x740): the login page, the dashboard, an incident room and the status page
fit the screen without sideways scrolling; the "Declare incident" button and the note box are
reachable and work. Keyboard: the first Tab lands on the skip link; `d` opens the declare
dialog (but not while typing a note).

Every key page (login, dashboard, room, alerts, a schedule's week view, the status page), at
desktop and phone size: <html lang>, exactly one <h1>, a label for every field. The run saves
the screenshots in docs/screenshots/<page>-<desktop|phone>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import (
    DESKTOP,
    PHONE,
    check_a11y,
    entries,
    login,
    nav_href,
    screenshot,
    sideways_scroll,
    submit,
)
from tests.harness.site import SCHEDULE, Site

pytestmark = pytest.mark.slow


def status_page_problem(site: Site) -> str | None:
    if site.statuspage_error or not site.components:
        return f"the status page could not be seeded (STATUSPAGE-CORE): {site.statuspage_error}"
    return None


def test_phone_layout(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    too_wide: list[str] = []  # collected, so that one run reports every page that does not fit

    def fits(what: str) -> None:
        if problem := sideways_scroll(page, what):
            too_wide.append(problem)

    page = new_page(PHONE)
    page.goto(f"{site.url}/login")
    fits("the login page")
    login(page, site.url, site.users["rui"])

    page.goto(f"{site.url}/")
    fits("the dashboard")
    # The header's links fold behind a Menu button (aria-expanded), which opens and closes them.
    menu = page.locator("#menu-toggle")
    expect(menu, "a phone gets a Menu button").to_be_visible()
    expect(page.locator("#main-nav"), "the links are folded away").to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav").get_by_role("link", name="Incidents")).to_be_visible()
    fits("the dashboard with the menu open")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#main-nav")).to_be_hidden()
    declare_button = page.locator("#declare-open")
    declare_button.scroll_into_view_if_needed()
    expect(declare_button, '"Declare incident" should be reachable on a phone').to_be_in_viewport()

    # Keyboard: the first Tab reaches the skip link; `d` opens the declare dialog.
    page.goto(f"{site.url}/")
    page.keyboard.press("Tab")
    first = page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName, href: e.getAttribute('href') || '', text: e.textContent.trim()}; }""")
    assert first["tag"] == "A" and first["href"].startswith("#") and re.search("skip", first["text"], re.I), \
        f"the first Tab should focus a skip link (<a href=\"#...\">Skip ...</a>), it focused {first}"
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("d")
    expect(page.locator("#declare-dialog"), "pressing d should open #declare-dialog").to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#declare-dialog")).to_be_hidden()

    # The room: fits, and the note box is reachable and works.
    page.goto(f"{site.url}/incidents/{site.seeded_incident}")
    expect(page.locator("h1")).to_contain_text(site.seeded_incident)
    fits("the incident room")
    # On a phone the one-click actions and the note box come before the long timeline.
    timeline_top = page.locator("#timeline").bounding_box()["y"]
    for first in ("#resolve-form", "#note-text"):
        assert page.locator(first).bounding_box()["y"] < timeline_top, f"{first} should come before the timeline"
    check_a11y(page, "room-phone")
    screenshot(page, "room-phone")
    note_box = page.locator("#note-text")
    note_box.scroll_into_view_if_needed()
    expect(note_box, "the note box should be reachable on a phone").to_be_in_viewport()
    note_box.click()
    page.keyboard.type("d marks the spot")  # typing `d` in the note box must not open the dialog
    expect(page.locator("#declare-dialog")).to_be_hidden()
    submit(page.locator("#note-form"))
    expect(entries(page, "note").filter(has_text="d marks the spot")).to_have_count(1)
    fits("the incident room after a note")

    problem = status_page_problem(site)
    assert problem is None, problem
    page.goto(f"{site.url}/status/{site.page_slug}")
    expect(page.locator("h1")).to_have_count(1)
    fits("the status page")
    assert not too_wide, "pages wider than a 360 px phone:\n" + "\n".join(too_wide)


def visit(page: Page, url: str, name: str, size: str) -> None:
    page.goto(url)
    check_a11y(page, name)
    screenshot(page, f"{name}-{size}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_key_pages_accessible(site: Site, new_page, size: str) -> None:  # noqa: ANN001 (fixture)
    page = new_page(DESKTOP if size == "desktop" else PHONE)
    visit(page, f"{site.url}/login", "login", size)
    login(page, site.url, site.users["rui"])
    visit(page, f"{site.url}/", "dashboard", size)

    visit(page, f"{site.url}/incidents/{site.seeded_incident}", "incident-room", size)
    expect(page.locator("#timeline")).to_contain_text(site.seeded_note)

    visit(page, site.url + nav_href(page, "Alerts").removeprefix(site.url), "alerts", size)
    expect(page.locator("body"), "the alerts page lists the firing alert").to_contain_text("Checkout 5xx rate")

    page.goto(site.url + nav_href(page, "Schedules").removeprefix(site.url))
    check_a11y(page, "schedules")
    link = page.locator("a").filter(has_text=SCHEDULE)
    expect(link.first, f"the schedules page links to {SCHEDULE!r}").to_be_attached()
    visit(page, site.url + (link.first.get_attribute("href") or "").removeprefix(site.url), "schedule-week", size)
    expect(page.locator("body"), "the week view names who is on call").to_contain_text(
        re.compile("Rui Responder|Sam Second"))

    problem = status_page_problem(site)
    assert problem is None, problem
    visit(page, f"{site.url}/status/{site.page_slug}", "status-page", size)
    expect(page.locator("body")).to_contain_text("Example Shop Status")
