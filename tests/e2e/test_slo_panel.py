"""The service page's SLO panel in the browser: Ada (admin) adds an availability SLO fed by pushed
counts; after the gateway pushes a bad minute the panel shows the SLI, the budget left as a bar and
the burn rates; she edits the target; a viewer sees the panel without the forms. Passes axe-core at
desktop and phone size and fits a 360 px screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, PHONE, check_a11y, login, sideways_scroll
from tests.harness.site import SERVICE, Site

pytestmark = pytest.mark.slow


def _push(site: Site, slo_name: str, good: int, total: int) -> None:
    """The gateway's push, through the same service the API's POST /slos/{id}/events calls."""
    import sqlalchemy as sa

    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.principal import Principal
    from tocsin.slo import service as slos
    from tocsin.slo.models import Slo

    db = Database(site.database_url)
    try:
        with db.unit_of_work() as s:
            slo = s.execute(sa.select(Slo).where(Slo.name == slo_name)).scalar_one()
            slos.push_events(s, actor=Principal.system("gateway"), now=SystemClock().now(), slo=slo,
                             good=good, total=total)
    finally:
        db.dispose()


def test_an_admin_adds_an_slo_and_reads_its_budget(site: Site, new_page) -> None:  # noqa: ANN001
    page: Page = new_page(DESKTOP)
    login(page, site.url, site.users["admin"])
    page.goto(f"{site.url}/services/{SERVICE}")
    page.locator("#slo-add summary").click()
    page.locator("#slo-name").fill("Checkout requests")
    page.locator("#slo-target").fill("99.9")
    page.locator("#slo-source").select_option("push")
    page.get_by_role("button", name="Add SLO").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("SLO Checkout requests created")
    section = page.locator("section.slo", has_text="Checkout requests")
    expect(section.locator(".slo-sli")).to_have_text("no events yet")
    expect(section.locator(".slo-remaining")).to_have_text("100.0%")

    _push(site, "Checkout requests", 9995, 10000)  # 5 bad of 10 allowed: half the budget
    page.reload()
    expect(section.locator(".slo-sli")).to_have_text("99.950%")
    expect(section.locator(".slo-remaining")).to_have_text("50.0%")
    expect(section.locator("meter")).to_have_attribute("value", "0.5")
    expect(section.locator(".slo-burn td").first).to_have_text("0.50")  # 3d: half the allowed rate
    check_a11y(page, "service page with an SLO")
    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, "service page with an SLO") is None
    check_a11y(page, "service page with an SLO (phone)")

    page.set_viewport_size(DESKTOP)
    section.get_by_role("link", name="Edit Checkout requests").click()
    page.locator("#se-target").fill("99")
    page.get_by_role("button", name="Save SLO").click()
    expect(section.locator(".slo-remaining")).to_have_text("95.0%")  # 5 bad of 100 allowed

    viewer = new_page(DESKTOP)
    login(viewer, site.url, site.users["vic"])
    viewer.goto(f"{site.url}/services/{SERVICE}")
    expect(viewer.locator("section.slo", has_text="Checkout requests")).to_be_visible()
    expect(viewer.locator("#slo-add")).to_have_count(0)
