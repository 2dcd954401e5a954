"""Setting up who answers for what, in the browser (an admin; no API, no curl).

Runbook: Ada opens Teams, creates "Payments", adds Sam to it; opens Services, creates "Payments API"
owned by Payments, tier 1, paged with the "Payments on-call" policy, depending on checkout, with
support hours; the service page shows all of it and links back to the team, whose page lists the
service and the policy. On a phone she changes the service's tier and invites someone, then revokes
the invitation. Every page passes axe-core (desktop, and the phone for the forms) and fits 360 px.
Screenshots: docs/screenshots/team.png and service-form.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, choose, login, screenshot, sideways_scroll
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def _seed_policy(site: Site) -> None:
    """An escalation policy to choose (made through the domain service, as the site's seed is; the
    policy pages are another part of the console)."""
    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.escalation import service as esc
    from tocsin.principal import Principal

    db = Database(site.database_url)
    try:
        with db.unit_of_work() as s:
            if esc.get_policy(s, "payments-oncall") is None:
                esc.create_policy(s, actor=Principal.system("e2e"), now=SystemClock().now(), name="Payments on-call",
                                  slug="payments-oncall", repeat=1, levels=[
                                      {"delay_minutes": 5, "targets": [{"type": "user", "id": str(site.users["sam"].id)}]}])
    finally:
        db.dispose()


def test_an_admin_sets_up_a_team_and_its_service(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    _seed_policy(site)
    page: Page = new_page(DESKTOP)
    login(page, site.url, site.users["admin"])

    # A team, and a member.
    page.goto(f"{site.url}/configure")
    page.get_by_role("link", name="Teams", exact=True).click()
    expect(page.locator("h1")).to_have_text("Teams")
    page.get_by_role("link", name="New team").click()
    expect(page).to_have_url(re.compile(r"/teams/new$"))
    check_a11y(page, "the new team form")
    page.get_by_label("Name", exact=True).fill("Payments")
    page.get_by_label("Description").fill("Takes the money and gives it back")
    page.get_by_role("button", name="Create team").click()
    expect(page).to_have_url(re.compile(r"/teams/payments$"))
    choose(page.get_by_label("Add a member"), "Sam Second")
    page.get_by_role("button", name="Add to team").click()
    expect(page.locator(".flash")).to_contain_text("Sam Second added to the team")
    expect(page.get_by_role("row", name=re.compile("Sam Second"))).to_contain_text("responder")

    # A service owned by the team, paged with a policy.
    page.goto(f"{site.url}/services")
    page.get_by_role("link", name="New service").click()
    form = page.locator("#service-form")
    form.get_by_label("Name", exact=True).fill("Payments API")
    form.get_by_label("Key (empty: made from the name)").fill("payments-api")
    choose(form.get_by_label("Owner team"), "Payments")
    choose(form.get_by_label("Tier"), "1")
    choose(form.get_by_label("Escalation policy"), "Payments on-call")
    form.get_by_label("Runbook URL").fill("https://wiki.example.test/payments")
    form.get_by_label(re.compile(r"^Checkout")).check()
    form.get_by_label(re.compile("Group alerts by labels")).fill("alertname, region")
    form.get_by_label(re.compile("This service has support hours")).check()
    form.get_by_label("Time zone").fill("Europe/Berlin")
    check_a11y(page, "the new service form")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "service-form")
    form.get_by_role("button", name="Create service").click()

    expect(page).to_have_url(re.compile(r"/services/payments-api$"))
    expect(page.locator(".flash")).to_contain_text("Service payments-api created")
    facts = page.locator("#service-facts")
    expect(facts).to_contain_text("Payments on-call")
    expect(facts).to_contain_text("by alertname, region")
    expect(facts).to_contain_text("09:00–17:00 Europe/Berlin, Mon Tue Wed Thu Fri")
    check_a11y(page, "the service page")
    facts.get_by_role("link", name="Payments", exact=True).click()

    expect(page).to_have_url(re.compile(r"/teams/payments$"))
    expect(page.get_by_role("link", name="Payments API")).to_be_visible()
    expect(page.get_by_role("link", name="Payments on-call")).to_be_visible()
    check_a11y(page, "the team page")
    screenshot(page, "team")

    # On a phone: every page fits; the service is changed there, and an invitation is revoked.
    phone: Page = new_page(PHONE)
    login(phone, site.url, site.users["admin"])
    for path in ("/teams", "/teams/payments", "/services/payments-api", "/services/new"):
        phone.goto(f"{site.url}{path}")
        assert sideways_scroll(phone, path) is None, sideways_scroll(phone, path)
    phone.goto(f"{site.url}/services/payments-api/edit")
    check_a11y(phone, "the service edit form on a phone")
    assert sideways_scroll(phone, "the service edit form") is None, sideways_scroll(phone, "the service edit form")
    choose(phone.get_by_label("Tier"), "2")
    phone.get_by_role("button", name="Save service").click()
    expect(phone.locator(".flash")).to_contain_text("Service payments-api saved")
    expect(phone.locator("#service-facts")).to_contain_text("Tier2")

    phone.goto(f"{site.url}/users")
    invite = phone.locator("#invite-form")
    invite.get_by_label("Name", exact=True).fill("Nora New")
    invite.get_by_label("Email", exact=True).fill("nora@example.test")
    invite.get_by_role("button", name="Create invitation link").click()
    expect(phone.locator("#invite-link")).to_contain_text("/invite/")
    phone.goto(f"{site.url}/users")
    check_a11y(phone, "the people page with an open invitation, on a phone")
    assert sideways_scroll(phone, "/users") is None, sideways_scroll(phone, "/users")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Revoke invitation of Nora New").click()
    expect(phone.locator(".flash")).to_contain_text("Invitation for nora@example.test revoked")
    expect(phone.get_by_role("button", name="Revoke invitation of Nora New")).to_have_count(0)
