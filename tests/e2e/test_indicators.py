"""Indicators and affected assets in the incident room (issue 17), in the browser.

Runbook: Rui declares a security incident, records the attacker's IP address (pasted defanged) and
the host it reached in the room's "Indicators and assets" panel, moves the host from suspected to
contained, and downloads the STIX 2.1 bundle, which parses and carries the indicator with its TLP
marking. The room passes axe-core with the panel filled, and fits a 360 px phone.
Screenshot: indicators.
"""

from __future__ import annotations

import pytest
import stix2
from playwright.sync_api import expect

from tests.harness.browser import (
    PHONE,
    ROOM_URL,
    action,
    check_a11y,
    choose,
    entries,
    login,
    screenshot,
    sideways_scroll,
    submit,
)
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def test_record_indicators_and_assets_and_export_stix(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    page = new_page()
    login(page, site.url, site.users["rui"])
    page.locator("#declare-open").click()
    dialog = page.locator("#declare-form")
    dialog.locator('[name="title"]').fill("Stolen deploy token used from abroad")
    choose(dialog.locator('[name="severity"]'), "SEV2")
    choose(dialog.locator("#declare-kind"), "security")
    dialog.get_by_role("button", name="Declare", exact=True).click()
    expect(page, "declaring should land in the new room").to_have_url(ROOM_URL)
    ref = page.url.rsplit("/", 1)[1]

    form = action(page, "#indicator-form")
    choose(form.locator('[name="type"]'), "ipv4")
    form.locator('[name="value"]').fill("203.0.113[.]66")
    choose(form.locator('[name="tlp"]'), "amber+strict")
    form.locator('[name="source"]').fill("VPN logs")
    form.locator('[name="first_seen"]').fill("2026-01-01T09:30")
    submit(form)
    row = page.locator("#indicators li.indicator")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("203.0.113.66")  # stored refanged, in its one spelling
    expect(row).to_contain_text("TLP:AMBER+STRICT")
    expect(row).to_contain_text("seen 2026-01-01 09:30")

    asset = action(page, "#asset-form")
    choose(asset.locator('[name="kind"]'), "host")
    asset.locator('[name="name"]').fill("build-runner-3")
    submit(asset)
    host = page.locator('#assets li.asset')
    expect(host).to_have_attribute("data-state", "suspected")
    choose(host.locator('select[name="state"]'), "contained")
    submit(host.locator("form.asset-state-form"))
    expect(page.locator('#assets li.asset')).to_have_attribute("data-state", "contained")
    expect(entries(page, "asset").last).to_contain_text("build-runner-3 (host): suspected \u2192 contained")
    check_a11y(page, "the incident room with indicators and assets")
    page.locator("#iocs-section").scroll_into_view_if_needed()
    screenshot(page, "indicators")

    with page.expect_download() as download:
        page.locator('#ioc-exports a[href$="/export/stix"]').click()
    assert download.value.suggested_filename == f"{ref}-indicators.stix.json"
    bundle = stix2.parse(open(download.value.path(), encoding="utf-8").read())
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert [i.pattern for i in indicators] == ["[ipv4-addr:value = '203.0.113.66']"]
    assert indicators[0].object_marking_refs == ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]

    phone = new_page(PHONE)
    login(phone, site.url, site.users["rui"])
    phone.goto(f"{site.url}/incidents/{ref}")
    expect(phone.locator("#indicators")).to_contain_text("203.0.113.66")
    assert (problem := sideways_scroll(phone, "the room with indicators on a phone")) is None, problem
    check_a11y(phone, "the room with indicators on a phone")
