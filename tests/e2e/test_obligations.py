"""A breach's regulatory deadlines in the browser.

Runbook: a restricted credential-leak incident is open (seeded through the domain service, as the
site's seed is: the console's declare dialog makes operational incidents). Ada (admin, its IC)
opens its room, records in the Obligations panel that personal data of people in Germany is
involved, accepts the suggested EU GDPR regime, sets the aware_at clock to 31 hours ago with why,
and sees the header count down to the Art. 33 notice ("due in 41 h"). She records the filing with
the regulator's reference, sees it filed, and opens the report for counsel. The room and the
report pass axe-core and fit a 360 px phone. Screenshot: docs/screenshots/obligations.png.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.harness.browser import DESKTOP, PHONE, action, check_a11y, login, screenshot, sideways_scroll, submit
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def _seed_breach(site: Site) -> tuple[str, str]:
    """A restricted security incident with Ada as its IC; return its ref and Ada's time zone."""
    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.incidents import service as incidents
    from tocsin.incidents.types import Kind
    from tocsin.principal import Principal
    from tocsin.severities import Severity
    from tocsin.users.service import require_user

    db = Database(site.database_url)
    try:
        with db.unit_of_work() as s:
            admin = require_user(s, site.users["admin"].id)
            incident = incidents.declare(s, actor=Principal.system("e2e"), now=SystemClock().now(),
                                         spec=incidents.Declaration(title="Customer credentials leaked",
                                                                    severity=Severity.SEV2, kind=Kind.security,
                                                                    incident_commander=admin.email))
            return incidents.ref(incident), admin.time_zone or "UTC"
    finally:
        db.dispose()


def test_gdpr_clock_countdown_filing_and_report(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    from tocsin.clock import SystemClock
    from tocsin.localtime import zone

    ref, tz = _seed_breach(site)
    page = new_page(DESKTOP)
    login(page, site.url, site.users["admin"])
    page.goto(f"{site.url}/incidents/{ref}")
    panel = page.locator("#obligations")
    expect(panel).to_contain_text("No regime chosen yet")

    # what it exposes -> the suggestion, with its reasons -> accepted
    exposure = action(page, "#exposure-form")
    exposure.get_by_label("personal").check()
    exposure.get_by_label(re.compile("^Regions")).fill("DE")
    submit(exposure)
    expect(page.locator("#obligations .suggestion").first).to_contain_text("affects DE (the regime covers EU)")
    page.locator("#accept-gdpr").click()
    expect(page.locator("#obligations .regime-chosen")).to_contain_text("EU GDPR")
    expect(page.locator("#obligations-table")).to_contain_text("waiting for its clock")

    # the clock, 31 h ago in Ada's time zone -> the countdown in the header
    aware = (SystemClock().now() - timedelta(hours=31)).astimezone(zone(tz))
    clock = action(page, "#clock-form")
    clock.get_by_label("Clock").select_option("aware_at")
    clock.get_by_label("When (your time)").fill(aware.strftime("%Y-%m-%dT%H:%M"))
    clock.get_by_label("Why this time").fill("The SOC confirmed the credential dump on a paste site")
    submit(clock)
    countdown = page.locator("#room-obligation")
    expect(countdown).to_contain_text("GDPR Art. 33 notice")
    expect(countdown).to_contain_text(re.compile(r"due in 4[01] h"))
    expect(page.locator("#timeline")).to_contain_text("aware_at set to")
    check_a11y(page, "the room of a security incident with its obligations")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "obligations")

    # filed, with the regulator's reference
    row = page.locator("#obligations-table tr.obligation", has_text="GDPR Art. 33 notice")
    page.locator("summary", has_text="File GDPR Art. 33 notice").click()
    filing = page.locator(".obligation-file-form").first
    filing.get_by_label("Regulator's reference").fill("BfDI-2026-0042")
    submit(filing)
    expect(row).to_have_attribute("data-state", "filed")
    expect(row).to_contain_text("ref. BfDI-2026-0042")
    expect(page.locator("#room-obligation")).to_have_count(0)  # Art. 34 has no fixed deadline: no countdown

    # the report for counsel
    page.locator("#obligations-report-link").click()
    expect(page.locator("h1")).to_contain_text(f"Regulatory obligations: {ref}")
    report_row = page.locator("table.obligations-report tr", has_text="GDPR Art. 33 notice")
    expect(report_row).to_contain_text("filed in time")
    expect(report_row).to_contain_text("Regulation (EU) 2016/679")
    check_a11y(page, "the obligations report")

    phone = new_page(PHONE)
    login(phone, site.url, site.users["admin"])
    for path in (f"/incidents/{ref}", f"/incidents/{ref}/obligations/report"):
        phone.goto(site.url + path)
        assert sideways_scroll(phone, path) is None
