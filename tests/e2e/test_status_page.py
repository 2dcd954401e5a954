"""From the incident room to the public status page.

Runbook: a responder, in the room of an incident with an alarming internal title, posts a public
update ("identified", a body written for customers, the Checkout component at partial outage).
A customer (an anonymous browser) opening /status/shop sees the public title, the body and the
component's status, and never the internal title or ref; summary.json agrees. Resolving it from
the room takes the component back to operational. On PostgreSQL, the update posted through one
server reaches the OTHER server's status page cache.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.harness.backends import BACKENDS
from tests.harness.browser import PHONE, action, choose, declare, login, reload_until, screenshot, set_field, submit
from tests.harness.processes import poll
from tests.harness.site import SERVICE, Site

pytestmark = pytest.mark.slow

INTERNAL_TITLE = "db-7 primary lost its disk; payments writes failing"
PUBLIC_TITLE = "Some card payments are failing"
PUBLIC_BODY = "We have found the cause of failed card payments and are fixing it."


def need_status_page(site: Site) -> None:
    if site.statuspage_error or not site.components:
        pytest.fail("could not create the status page through tocsin.statuspage.service (STATUSPAGE-CORE): "
                    f"{site.statuspage_error}")


def post_public_update(page: Page, site: Site, *, title: str | None, status: str, body: str,
                       components: dict[str, str]) -> None:
    """Fill and send the room's #public-update-form (title None: keep what the form shows)."""
    form = action(page, "#public-update-form")
    choose(form.locator('[name="page"]'), site.page_slug)
    if title is not None:
        form.locator('[name="title"]').fill(title)
    set_field(form, "status", status)
    form.locator('[name="body"]').fill(body)
    for name, new in components.items():
        choose(form.locator(f'[name="component:{site.components[name]}"]'), new)
    submit(form)


def summary(base: str, slug: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/status/{slug}/api/v2/summary.json", timeout=10, trust_env=False)
    assert r.status_code == 200, f"GET /status/{slug}/api/v2/summary.json: {r.status_code} {r.text[:500]}"
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return r.json()


def component_status(doc: dict[str, Any], name: str) -> str:
    found = [c["status"] for c in doc["components"] if c["name"] == name]
    assert len(found) == 1, f"component {name!r} in summary.json: {doc['components']}"
    return found[0]


def test_public_update_reaches_status_page(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    need_status_page(site)
    page = new_page()
    login(page, site.url, site.users["rui"])
    ref = declare(page, INTERNAL_TITLE, severity="SEV2", service=SERVICE)

    form = action(page, "#public-update-form")
    expect(form.locator('[name="title"]'), "the public title starts empty, never the internal title").to_have_value("")
    post_public_update(page, site, title=PUBLIC_TITLE, status="identified", body=PUBLIC_BODY,
                       components={"Checkout": "partial_outage"})
    expect(page.locator("#timeline"), "the room records the public update").to_contain_text(
        re.compile("status page update", re.I))

    # A customer, not logged in.
    customer = new_page()
    customer.goto(f"{site.url}/status/{site.page_slug}")
    reload_until(customer, lambda: PUBLIC_TITLE in customer.locator("body").inner_text(),
                 what=f"the public title {PUBLIC_TITLE!r}")
    text = customer.locator("body").inner_text()
    assert PUBLIC_BODY in text
    checkout = customer.locator("li, tr, div, section").filter(has_text=re.compile(r"^\s*Checkout\b")).filter(
        has_text=re.compile(r"partial[ _]outage", re.I))
    expect(checkout.first, "the Checkout component should read as partial outage").to_be_visible()
    html = customer.content()
    assert INTERNAL_TITLE not in html, "the internal title leaked onto the public page"
    assert ref not in html, "the internal ref leaked onto the public page"
    screenshot(customer, "status-page-incident-desktop")
    customer.set_viewport_size(PHONE)
    screenshot(customer, "status-page-incident-phone")

    doc = summary(site.url, site.page_slug)
    # Other tests share this page (test_legal_guest publishes "Sign-in trouble"): find ours by name.
    ours = [i for i in doc["incidents"] if i["name"] == PUBLIC_TITLE]
    assert len(ours) == 1, doc["incidents"]
    incident = ours[0]
    assert incident["status"] == "identified"
    assert incident["incident_updates"][0]["body"] == PUBLIC_BODY
    assert component_status(doc, "Checkout") == "partial_outage"
    assert component_status(doc, "Catalogue") == "operational"
    assert doc["status"]["indicator"] != "none", doc["status"]
    assert INTERNAL_TITLE not in json.dumps(doc) and ref not in json.dumps(doc)
    feed = httpx.get(f"{site.url}/status/{site.page_slug}/history.atom", timeout=10, trust_env=False)
    assert feed.status_code == 200 and PUBLIC_TITLE in feed.text, f"history.atom: {feed.status_code} {feed.text[:500]}"
    assert INTERNAL_TITLE not in feed.text and ref not in feed.text, "the internal title leaked into history.atom"

    # Resolved from the room: the form remembers the public title; the component recovers.
    page.reload()
    expect(action(page, "#public-update-form").locator('[name="title"]'),
           "the public title is prefilled from the existing public incident").to_have_value(PUBLIC_TITLE)
    post_public_update(page, site, title=None, status="resolved", body="Card payments work again.", components={})
    def settled() -> dict[str, Any] | None:
        d = summary(site.url, site.page_slug)
        return None if any(i["name"] == PUBLIC_TITLE for i in d["incidents"]) else d

    doc = poll(settled,
               what="summary.json to list no unresolved incident", timeout=10, interval=0.2,
               explain=lambda: json.dumps(summary(site.url, site.page_slug))[:2000])
    assert component_status(doc, "Checkout") == "operational", "resolving returns affected components to operational"
    if not doc["incidents"]:  # another test's public incident on the shared page keeps the indicator up
        assert doc["status"]["indicator"] == "none", doc["status"]


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="postgresql left out by TOCSIN_TEST_BACKENDS")
def test_public_update_reaches_the_other_servers_status_page(pg_site: Site, new_page) -> None:  # noqa: ANN001
    need_status_page(pg_site)
    one, two = pg_site.servers
    page = new_page()
    login(page, one.url, pg_site.users["rui"])
    declare(page, INTERNAL_TITLE, severity="SEV2", service=SERVICE)
    post_public_update(page, pg_site, title=PUBLIC_TITLE, status="identified", body=PUBLIC_BODY,
                       components={"Checkout": "major_outage"})
    expect(page.locator("#timeline")).to_contain_text(re.compile("status page update", re.I))

    def on_server_two() -> dict[str, Any] | None:
        doc = summary(two.url, pg_site.page_slug)
        return doc if any(i["name"] == PUBLIC_TITLE for i in doc["incidents"]) else None

    doc = poll(on_server_two, what="server 2's summary.json to show the update posted through server 1",
               timeout=3, interval=0.1, explain=lambda: json.dumps(summary(two.url, pg_site.page_slug))[:2000])
    assert component_status(doc, "Checkout") == "major_outage"
