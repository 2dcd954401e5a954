"""Checks from many places, in the browser, with a real `tocsin agent` process.

Runbook (an admin): on /agents, register the agent "e2e-west" (its key is shown once, with the
command that starts it); start `TOCSIN_AGENT_KEY=... tocsin agent --url ...` as the page says (plus
--allow-private: the target is on loopback); create a check of the server's own /readyz run from
"server, e2e-west"; the check's page shows both locations up, each with its runs, uptime and
latency, and the quorum line; /agents shows the agent online with one check. Revoking it makes
its key useless. The pages pass axe-core and fit a 360 px phone.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import PHONE, check_a11y, login, reload_until, sideways_scroll
from tests.harness.processes import TOCSIN, terminate
from tests.harness.site import Site

pytestmark = pytest.mark.slow


def phone(page: Page, what: str) -> None:
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    assert sideways_scroll(page, what) is None
    check_a11y(page, f"{what} (phone)")
    page.set_viewport_size(size)


def test_a_check_run_from_the_server_and_an_agent_shows_each_location(site: Site, new_page, tmp_path: Path
                                                                       ) -> None:  # noqa: ANN001
    page = new_page()
    login(page, site.url, site.users["admin"])
    page.goto(f"{site.url}/agents")
    check_a11y(page, "agents page")
    form = page.locator("#agent-form")
    form.get_by_label(re.compile("Location name")).fill("e2e-west")
    form.get_by_role("button", name="Register agent").click()
    key = page.locator("#agent-key").inner_text().strip()
    assert re.fullmatch(r"tca_[0-9a-f]{32}", key), key
    start = page.locator("#agent-start").inner_text().strip()
    assert start == f"TOCSIN_AGENT_KEY={key} tocsin agent --url {site.url}", start
    check_a11y(page, "agents page with a new key")

    log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen([str(TOCSIN), "agent", "--url", site.url, "--key", key, "--interval", "5",
                              "--allow-private"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        page.goto(f"{site.url}/checks/new")
        form = page.locator("#check-form")
        form.get_by_label("Name", exact=True).fill("Ready from two places")
        form.get_by_label(re.compile(r"^Target")).fill(f"{site.url}/readyz")
        form.get_by_label(re.compile(r"^Every")).fill("10")
        form.get_by_label(re.compile(r"^Timeout")).fill("5")
        form.get_by_label(re.compile(r"^Run from")).fill("server, e2e-west")
        form.get_by_role("button", name="Create check").click()
        expect(page.locator("h1")).to_have_text("Ready from two places")
        table = page.locator("#check-locations")

        def both_up() -> bool:
            rows = [table.locator(f'tr[data-location="{loc}"]').inner_text() for loc in ("server", "e2e-west")]
            return all("up" in r and "pass" in r and " ms" in r for r in rows)

        reload_until(page, both_up, what="a passing result from the server and from the agent", timeout=30)
        west = table.locator('tr[data-location="e2e-west"]')
        expect(west).to_contain_text("100.00 %")
        expect(west).to_contain_text(re.compile(r"\d+ ms / \d+ ms"))
        expect(page.locator("main")).to_contain_text("Alerts when 2 of 2 locations fail")
        check_a11y(page, "check page with locations")
        phone(page, "check page with locations")

        page.goto(f"{site.url}/agents")
        row = page.locator('tr[data-agent="e2e-west"]')
        expect(row).to_contain_text("online")
        expect(row.locator("td").nth(2)).to_have_text("1")
        assert key not in page.content(), "the key is shown once only"
        phone(page, "agents page")
        row.get_by_role("button", name="Revoke agent e2e-west").click()
        expect(page.locator('tr[data-agent="e2e-west"]')).to_have_count(0)
        revoked = httpx.get(f"{site.url}/api/v1/agent/checks", headers={"Authorization": f"Bearer {key}"},
                            timeout=10, trust_env=False)
        assert revoked.status_code == 401
    finally:
        terminate(agent)
        log.close()
    assert "Traceback" not in (tmp_path / "agent.log").read_text(), (tmp_path / "agent.log").read_text()
