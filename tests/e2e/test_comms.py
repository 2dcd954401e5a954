"""The room's Communication panel in the browser (issue 19): a responder declares an incident, fills
an update in from the internal template, posts it to the stakeholders (Vic, subscribed to every
incident) and sees on the timeline that it was sent. The panel passes the accessibility checks and
fits a phone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, choose, declare, entries, login, sideways_scroll

pytestmark = pytest.mark.slow


def test_post_an_update_from_a_template_to_stakeholders(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    from tocsin.comms import stakeholders
    from tocsin.db import Database
    from tocsin.principal import Principal

    db = Database(site.database_url)
    try:
        with db.unit_of_work() as s:
            stakeholders.subscribe(s, actor=Principal.system("e2e"), now=datetime.now(UTC),
                                   user_id=site.users["vic"].id)
    finally:
        db.dispose()
    page = new_page(viewport=PHONE)
    login(page, site.url, site.users["rui"])
    declare(page, "Search results are stale", severity="SEV3")
    panel = page.locator("#comms")
    panel.locator("summary").first.click()
    expect(panel.locator("#comms-due")).to_contain_text("SEV3: every 4 h")
    choose(panel.locator("#comms-template"), "internal-update")
    panel.get_by_role("button", name="Fill in").click()
    expect(page.locator("#comms-text")).to_contain_text("Search results are stale is investigating (SEV3)")
    page.locator("#comms-audience-stakeholders").check()
    page.locator("#comms-update-form").get_by_role("button", name="Post update").click()
    expect(entries(page, "comms")).to_contain_text("Update sent to 1 stakeholder")
    check_a11y(page, "the incident room with its Communication panel on a phone")
    assert sideways_scroll(page, "the Communication panel on a phone") is None
