"""Configuring where alerts come from and what customers read, in the browser.

Runbook (an admin, desktop): on /integrations, "New integration" for Alertmanager on checkout;
the answer shows the key once with a Copy button that copies it, and the receivers: block and a
curl test built from the server's address. Sending that curl request to the real server puts the
alert on /alerts; the integration's own page never shows the key again. A heartbeat shows its
ping URL once (also without JavaScript) and a ping brings it up; a synthetic check on the server's own /readyz gets
results, latency and uptime. A new status page gets a group, two components and a public
incident posted from the console, which an anonymous customer sees on /status/<slug>; resolving
it from the console clears it. Every new page passes axe-core at desktop size, and the lists and
the status page admin fit a 360 px phone.
"""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import PHONE, check_a11y, choose, login, reload_until, screenshot, sideways_scroll
from tests.harness.site import SERVICE, Site

pytestmark = pytest.mark.slow

ALERT_SUMMARY = "A test alert from curl"
PUBLIC_TITLE = "Dashboard loads slowly for some customers"


def on_phone(page: Page, what: str, problems: list[str]) -> None:
    """The page as it is now, at 360 px: axe-core, and no sideways scrolling (collected)."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    if problem := sideways_scroll(page, what):
        problems.append(problem)
    check_a11y(page, f"{what} (phone)")
    page.set_viewport_size(size)


def snippet(page: Page, title: str) -> str:
    block = page.locator("section.snippet").filter(has=page.get_by_role("heading", name=title, exact=True))
    expect(block, f"the snippet {title!r}").to_have_count(1)
    return block.locator("pre").inner_text()


def test_configure_integrations_monitors_and_a_status_page(site: Site, new_page) -> None:  # noqa: ANN001
    too_wide: list[str] = []
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    login(page, site.url, site.users["admin"])

    # --- an integration, its key once, the snippets, and an alert sent with them -------------------
    page.goto(f"{site.url}/integrations")
    check_a11y(page, "integrations list")
    page.get_by_role("link", name="New integration").click()
    expect(page).to_have_url(f"{site.url}/integrations/new")
    check_a11y(page, "new integration form")
    form = page.locator("#integration-form")
    form.get_by_label("Name", exact=True).fill("Prod Alertmanager")
    choose(form.locator('[name="service"]'), SERVICE)
    form.get_by_label("Prometheus Alertmanager (webhook)").check()
    form.get_by_role("button", name="Create integration").click()

    key_box = page.locator("#integration-key")
    expect(key_box).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    key = key_box.inner_text().strip()
    copy = page.locator('button[data-copy="integration-key"]')
    expect(copy, "the Copy button shows once copy.js runs").to_have_text("Copy key")
    copy.click()
    expect(copy, "the button says it copied (for 2 s)").to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").strip() == key, "Copy key should copy the key"
    block = snippet(page, "Alertmanager receivers: block")
    assert f"url: {site.url}/integrations/alertmanager/{key}" in block, block
    check_a11y(page, "integration key page")
    screenshot(page, "integration-new")

    curl = snippet(page, "Test with curl (an Alertmanager version 4 webhook)")
    url = re.search(r"-X POST '([^']+)'", curl).group(1)
    body = json.loads(re.search(r"-d '(.*)'\s*$", curl, re.S).group(1))
    sent = httpx.post(url, json=body, timeout=10, trust_env=False)
    assert sent.status_code == 202, f"the snippet's curl request: {sent.status_code} {sent.text[:300]}"
    page.goto(f"{site.url}/alerts")
    reload_until(page, lambda: ALERT_SUMMARY in page.locator("main").inner_text(), what="the alert sent with curl")

    page.goto(f"{site.url}/integrations")
    page.get_by_role("link", name="Prod Alertmanager").click()
    expect(page.locator("h1")).to_have_text("Prod Alertmanager")
    assert key not in page.content(), "the integration's page must never show the key again"
    expect(page.locator("main")).to_contain_text(key[:4] + "…")
    check_a11y(page, "integration page")
    page.goto(f"{site.url}/integrations")
    reload_until(page, lambda: "never" not in page.locator("tbody tr").filter(has_text="Prod Alertmanager").inner_text(),
                 what="the integration's last alert time")
    on_phone(page, "integrations list", too_wide)

    # --- a generic webhook from a preset: pick the sending tool, get its URL and setup ------------
    page.goto(f"{site.url}/integrations/new")
    form = page.locator("#integration-form")
    form.get_by_label("Name", exact=True).fill("Datadog monitors")
    choose(form.locator('[name="service"]'), SERVICE)
    form.get_by_label("Generic JSON webhook (a preset for your tool, or your own mapping)").check()
    form.get_by_label("Generic webhook only: the tool that sends").select_option(label="Datadog (webhook, default payload)")
    form.get_by_role("button", name="Create integration").click()
    preset_key = page.locator("#integration-key").inner_text().strip()
    expect(page.locator("#integration-url")).to_have_text(f"{site.url}/integrations/generic/{preset_key}")
    assert f"URL:  {site.url}/integrations/generic/{preset_key}" in snippet(page, "Datadog (webhook, default payload): "
                                                                                 "where the URL goes")
    check_a11y(page, "integration key page with a preset")

    # --- a heartbeat (in a browser without JavaScript: plain forms) and a synthetic check ---------
    nojs = new_page(javascript=False)
    login(nojs, site.url, site.users["admin"])
    nojs.goto(f"{site.url}/heartbeats")
    form = nojs.locator("#heartbeat-form")
    form.get_by_label("Name", exact=True).fill("Nightly backup")
    form.get_by_label(re.compile("Expected every")).fill("1h")
    form.get_by_role("button", name="Create heartbeat").click()
    ping = nojs.locator("#ping-url").inner_text().strip()
    assert re.fullmatch(re.escape(site.url) + r"/heartbeats/[0-9a-f]{32}", ping), ping
    expect(nojs.locator("button.copy").first, "without JavaScript a Copy button would do nothing").to_be_hidden()
    page.goto(f"{site.url}/heartbeats")  # (axe-core needs JavaScript: checked in the other browser)
    form = page.locator("#heartbeat-form")
    form.get_by_label("Name", exact=True).fill("Hourly export")
    form.get_by_role("button", name="Create heartbeat").click()
    expect(page.locator('button[data-copy="ping-url"]')).to_be_visible()
    check_a11y(page, "heartbeats page with a new ping URL")
    assert httpx.get(ping, timeout=10, trust_env=False).status_code == 200
    page.goto(f"{site.url}/heartbeats")
    expect(page.locator("tbody tr").filter(has_text="Nightly backup")).to_contain_text("up")
    on_phone(page, "heartbeats list", too_wide)

    page.goto(f"{site.url}/checks")
    page.get_by_role("link", name="New check").click()
    expect(page).to_have_url(re.compile(r"/checks/new$"))
    check_a11y(page, "new check form")
    form = page.locator("#check-form")
    form.get_by_label("Name", exact=True).fill("Server ready")
    form.get_by_label(re.compile(r"^Target")).fill(f"{site.url}/readyz")
    form.get_by_label(re.compile(r"^Every")).fill("10")
    form.get_by_label(re.compile(r"^Timeout")).fill("5")
    form.get_by_role("button", name="Create check").click()
    expect(page.locator("h1")).to_have_text("Server ready")
    reload_until(page, lambda: "pass" in page.locator("main table").last.inner_text(), what="the check's first result",
                 timeout=20)
    expect(page.locator("main")).to_contain_text("100.00 %")
    check_a11y(page, "check page")
    page.goto(f"{site.url}/checks")
    expect(page.locator("tbody tr").filter(has_text="Server ready")).to_contain_text("up")
    check_a11y(page, "checks list")
    screenshot(page, "checks")
    on_phone(page, "checks list", too_wide)

    # --- a status page: group, components, and a public incident of its own ----------------------
    page.goto(f"{site.url}/status-pages")
    form = page.locator("#status-page-form")
    form.get_by_label("Name", exact=True).fill("Acme Cloud status")
    form.get_by_label(re.compile("Address key")).fill("acme-cloud")
    form.get_by_role("button", name="Create status page").click()
    expect(page).to_have_url(f"{site.url}/status-pages/acme-cloud")
    form = page.locator("#component-form")
    form.get_by_label("Name", exact=True).fill("Platform")
    form.get_by_label("This is a group of components").check()
    form.get_by_role("button", name="Add component").click()
    for name in ("API", "Dashboard"):
        form = page.locator("#component-form")
        form.get_by_label("Name", exact=True).fill(name)
        choose(form.locator('[name="group"]'), "Platform")
        form.get_by_role("button", name="Add component").click()
        expect(page.locator("tbody th").filter(has_text=name)).to_have_count(1)

    form = page.locator("#public-incident-form")
    form.get_by_label("Title (public)").fill(PUBLIC_TITLE)
    form.get_by_label("Message (public)").fill("We are investigating slow dashboard loads.")
    choose(form.get_by_label("Dashboard"), "degraded_performance")
    form.get_by_role("button", name="Post public incident").click()
    expect(page.locator(".flash")).to_have_text("Public incident posted")
    check_a11y(page, "status page admin")
    screenshot(page, "status-page-admin")
    on_phone(page, "status page admin", too_wide)

    customer = new_page()
    customer.goto(f"{site.url}/status/acme-cloud")
    reload_until(customer, lambda: PUBLIC_TITLE in customer.locator("body").inner_text(),
                 what="the public incident posted from the console")
    text = customer.locator("body").inner_text()
    assert "We are investigating slow dashboard loads." in text and "API" in text and "Platform" in text
    expect(customer.locator("body")).to_contain_text(re.compile(r"degraded", re.I))

    section = page.locator("section.card").filter(has_text=PUBLIC_TITLE)
    section.get_by_role("button", name=re.compile("^Resolve")).click()
    expect(page.locator(".flash")).to_have_text("Public incident resolved")
    reload_until(customer, lambda: "We are investigating" not in customer.locator("body").inner_text()
                 or "resolved" in customer.locator("body").inner_text().lower(), what="the resolved incident")
    doc = httpx.get(f"{site.url}/status/acme-cloud/api/v2/summary.json", timeout=10, trust_env=False).json()
    assert doc["incidents"] == [] and all(c["status"] == "operational" for c in doc["components"]), \
        html.escape(json.dumps(doc)[:1000])
    assert not too_wide, "\n".join(too_wide)
