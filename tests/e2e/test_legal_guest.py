"""Security incidents in the browser: the legal gate and an outside responder.

Runbook: Ada (admin) declares a security incident, makes Sam its Legal role holder and posts a
public update from the room: the room says it is held for Legal, and the "Waiting for Legal" panel
lists it. Sam opens the room, edits the text and approves; the public status page then shows the
approved words (and never the draft's). Ada invites an outside IR responder with a link shown once;
the responder opens it on a phone, chooses a password and lands in that incident's room, and sees no
other incident and no list. Each page passes axe-core; the guest's room fits a 360 px screen.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.harness.browser import (
    DESKTOP,
    PHONE,
    action,
    check_a11y,
    choose,
    entries,
    login,
    reload_until,
    set_field,
    sideways_scroll,
    submit,
)
from tests.harness.site import Site

pytestmark = pytest.mark.slow

DRAFT = "We are looking at unusual sign-ins."
APPROVED = "We are investigating unusual sign-in activity and will update within the hour."


def test_legal_approves_a_held_update_and_a_guest_sees_only_the_incident(site: Site, new_page) -> None:  # noqa: ANN001
    assert site.statuspage_error is None, site.statuspage_error
    ada, sam = site.users["admin"], site.users["sam"]
    page = new_page(DESKTOP)
    login(page, site.url, ada)

    # Declare a security incident (restricted by default) from the dialog.
    page.locator("#declare-open").click()
    form = page.locator("#declare-form")
    form.locator('[name="title"]').fill("Credential stuffing on login")
    choose(form.locator('[name="severity"]'), "SEV2")
    choose(form.locator('[name="kind"]'), "security")
    form.get_by_role("button", name="Declare", exact=True).click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d+$"))
    ref = page.url.rsplit("/", 1)[1]

    roles = action(page, "#role-form")
    set_field(roles, "role", "legal", "Legal")
    set_field(roles, "user", str(sam.id), sam.name)
    submit(roles)
    expect(entries(page, "role_assigned").last).to_contain_text(sam.name)

    public = action(page, "#public-update-form")
    choose(public.locator('[name="page"]'), site.page_slug)
    public.locator('[name="title"]').fill("Sign-in trouble")
    set_field(public, "status", "investigating")
    public.locator('[name="body"]').fill(DRAFT)
    submit(public)
    expect(page.locator(".flash")).to_contain_text("Held for Legal")
    expect(page.locator("#legal-pending")).to_contain_text("Status update: investigating")
    expect(entries(page, "legal").last).to_contain_text("held for Legal review")
    check_a11y(page, "incident room with an update waiting for Legal")

    # Sam, the Legal role holder, edits and approves.
    legal = new_page(DESKTOP)
    login(legal, site.url, sam, next_path=f"/incidents/{ref}")
    legal.goto(f"{site.url}/incidents/{ref}")
    held = legal.locator("#legal-pending li.legal-draft").first
    held.locator("textarea").fill(APPROVED)
    held.get_by_role("button", name="Approve and publish").click()
    expect(legal.locator(".flash")).to_contain_text("Approved and published")
    expect(entries(legal, "legal").last).to_contain_text(APPROVED)

    customer = new_page()
    customer.goto(f"{site.url}/status/{site.page_slug}")
    reload_until(customer, lambda: APPROVED in customer.locator("body").inner_text(), what="the approved update")
    assert DRAFT not in customer.locator("body").inner_text(), "the unapproved draft reached the public page"

    # An outside responder, invited for two days.
    page.goto(f"{site.url}/incidents/{ref}")
    invite = action(page, "#guest-form")
    invite.locator('[name="email"]').fill("ivy@irfirm.example")
    invite.locator('[name="name"]').fill("Ivy Investigator")
    invite.locator('[name="organisation"]').fill("IR Firm")
    invite.locator('[name="duration"]').fill("2d")
    submit(invite)
    expect(page.locator("h1")).to_have_text("Outside responder invited")
    check_a11y(page, "the guest invitation link page")
    link = page.locator("#guest-link").input_value()

    guest = new_page(PHONE)
    guest.goto(link)
    guest.locator("#guest-password").fill("a long enough pass phrase")
    guest.get_by_role("button", name="Open the incident").click()
    expect(guest).to_have_url(re.compile(rf"/incidents/{ref}$"))
    expect(guest.locator("h1")).to_contain_text("Credential stuffing on login")
    expect(guest.locator("body")).to_contain_text("outside responder")
    check_a11y(guest, "the guest's incident room")
    assert sideways_scroll(guest, "the guest's incident room") is None
    for elsewhere in (f"/incidents/{site.seeded_incident}", "/incidents", "/schedules"):
        guest.goto(f"{site.url}{elsewhere}")
        expect(guest.locator("h1")).to_have_text("Not found")
    page.goto(f"{site.url}/incidents/{ref}")
    expect(page.locator("#guest-list li.guest[data-state='active']")).to_contain_text("Ivy Investigator")
    check_a11y(page, "incident room listing an outside responder")
