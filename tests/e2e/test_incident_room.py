"""Running an incident from the browser, and two responders in one room on two servers.

Runbook 1: a responder logs in, declares from the "Declare incident" button, lands in the room
and runs the incident with the room's forms: note, hand the IC role over, raise the severity,
resolve. Each action shows up in the timeline (newest last) and survives a reload. Paged for an
incident an alert opened (triage, no IC), one click on Acknowledge takes it on. With JavaScript
off, the forms still work (plain POST, back to the room).

Runbook 2: two responders on two `tocsin serve` processes sharing PostgreSQL watch the same
room; a note one writes appears in the other's timeline without a reload, both ways, once.

Runbook 3 (issue 16): a responder pages a colleague into a running incident ("add responders")
with a message; the colleague acknowledges from the link in their page and the reply shows in the
room. The room posts a public update, then one click on Resolve (the "post resolved to the status
page" box ticked by default) resolves both, and the public status page says resolved.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, expect

from tests.harness.backends import BACKENDS
from tests.harness.browser import DESKTOP, action, check_a11y, declare, entries, login, screenshot, set_field, submit
from tests.harness.site import SECRET_KEY, SERVICE

pytestmark = pytest.mark.slow

LIVE_TIMEOUT = 3_000  # ms: the issue asks for "within a second"; 3 s leaves room for a loaded machine


def test_login_declare_and_run_incident(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    rui, sam = site.users["rui"], site.users["sam"]
    page = new_page()
    login(page, site.url, rui)

    ref = declare(page, "Card payments declined at checkout", severity="SEV3", service=SERVICE)
    assert re.fullmatch(r"INC-\d+", ref)
    expect(page.locator("h1")).to_contain_text(ref)
    expect(entries(page, "declared"), "the room opens with the declaration in #timeline").to_have_count(1)

    # Forms that reloaded the page. Notes (and acknowledging) post with fetch and keep the page, so a
    # responder typing in the room loses nothing; status, severity and role forms reload on purpose,
    # because the choices they offer next depend on the state they just changed.
    reloaded: list[str] = []

    def send(selector: str, shows: Locator, text: str | re.Pattern[str]) -> None:
        """Submit the form, wait for the timeline to show `text`, then note whether the page reloaded."""
        page.evaluate("window.e2eNotReloaded = true")
        submit(page.locator(selector))
        expect(shows).to_contain_text(text)
        if not page.evaluate("window.e2eNotReloaded === true"):
            reloaded.append(selector)

    # A note, typed in the note box.
    note = "Declines all from one acquirer; switching traffic to the backup acquirer."
    page.locator("#note-text").fill(note)
    send("#note-form", entries(page, "note").last, note)

    # Hand the IC role (the declarer holds it at first) to Sam.
    roles = action(page, "#role-form")
    set_field(roles, "role", "incident_commander", "Incident commander")
    set_field(roles, "user", str(sam.id), sam.email, sam.name)
    send("#role-form", entries(page, "role_assigned").last, sam.name)

    # Raise the severity.
    severity = action(page, "#severity-form")
    set_field(severity, "severity", "SEV1")
    send("#severity-form", entries(page, "severity_changed").last, "SEV1")

    # Resolve.
    status = action(page, "#status-form")
    set_field(status, "status", "resolved")
    send("#status-form", entries(page, "status_changed").last, re.compile("resolved", re.I))
    expect(entries(page).last, "the newest entry is shown last").to_contain_text(re.compile("resolved", re.I))

    # Everything was stored: a reload shows the same story.
    page.reload()
    expect(page.locator("h1")).to_contain_text("Card payments declined at checkout")
    expect(entries(page, "note")).to_contain_text([note])
    expect(entries(page, "role_assigned").last).to_contain_text(sam.name)
    expect(entries(page, "severity_changed").last).to_contain_text("SEV1")
    expect(entries(page, "status_changed").last).to_contain_text(re.compile("resolved", re.I))

    assert "#note-form" not in reloaded, "with JS on, adding a note reloaded the page instead of posting with fetch"
    assert set(reloaded) <= {"#role-form", "#severity-form", "#status-form"}, reloaded


def test_acknowledge_a_triaged_incident(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    """Paged for an incident an alert opened (triage, no IC): one click acknowledges it and takes command."""
    rui = site.users["rui"]
    page = new_page()
    login(page, site.url, rui)
    page.goto(f"{site.url}/incidents/{site.triage_incident}")
    expect(page.locator("h1")).to_contain_text(site.triage_incident)

    submit(action(page, "#ack-form"))
    expect(entries(page, "status_changed").last, "acknowledging moves it out of triage").to_contain_text(
        re.compile("investigating", re.I))
    expect(entries(page, "role_assigned").last, "the acknowledger takes command").to_contain_text(rui.name)
    page.reload()
    expect(page.locator("#ack-form"), "nothing left to acknowledge").to_have_count(0)


def test_room_forms_work_without_javascript(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    """With JavaScript off, the room's forms are plain POSTs that land back in the room."""
    rui = site.users["rui"]
    page = new_page(javascript=False)
    login(page, site.url, rui)
    page.goto(f"{site.url}/incidents/{site.nojs_incident}")
    note = "Posted from a browser without JavaScript."
    page.locator("#note-text").fill(note)
    submit(page.locator("#note-form"))
    expect(page).to_have_url(re.compile(rf"/incidents/{site.nojs_incident}(\?.*)?$"))
    expect(entries(page, "note").filter(has_text=note)).to_have_count(1)

    severity = action(page, "#severity-form")
    set_field(severity, "severity", "SEV2")
    submit(severity)
    expect(page).to_have_url(re.compile(rf"/incidents/{site.nojs_incident}(\?.*)?$"))
    expect(entries(page, "severity_changed").last).to_contain_text("SEV2")


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="postgresql left out by TOCSIN_TEST_BACKENDS")
def test_second_browser_sees_note_live(pg_site, new_page) -> None:  # noqa: ANN001 (fixtures)
    one, two = pg_site.servers
    rui, sam = pg_site.users["rui"], pg_site.users["sam"]

    a = new_page()
    login(a, one.url, rui)
    ref = declare(a, "Order queue backlog growing", severity="SEV2", service=SERVICE)

    b = new_page()
    login(b, two.url, sam)
    b.goto(f"{two.url}/incidents/{ref}")
    expect(b.locator("h1")).to_contain_text("Order queue backlog growing")
    b.evaluate("window.e2eNotReloaded = true")  # gone if the page reloads
    a.evaluate("window.e2eNotReloaded = true")

    # Rui writes on server 1; Sam's room on server 2 shows it live, once.
    note = "Consumers are stuck on a poison message; skipping it."
    a.locator("#note-text").fill(note)
    submit(a.locator("#note-form"))
    expect(entries(a, "note").filter(has_text=note)).to_have_count(1)
    expect(b.locator("#timeline"), "server 2's viewer should get server 1's note live").to_contain_text(
        note, timeout=LIVE_TIMEOUT)
    assert a.evaluate("window.e2eNotReloaded === true"), "sending a note reloaded the writer's page"
    expect(entries(b, "note").filter(has_text=note), "the live note appears exactly once").to_have_count(1)

    # And back: Sam writes on server 2, Rui sees it on server 1.
    reply = "Poison message skipped; backlog draining."
    b.locator("#note-text").fill(reply)
    submit(b.locator("#note-form"))
    expect(a.locator("#timeline"), "server 1's viewer should get server 2's note live").to_contain_text(
        reply, timeout=LIVE_TIMEOUT)
    expect(entries(a, "note").filter(has_text=reply)).to_have_count(1)
    assert a.evaluate("window.e2eNotReloaded === true"), "the first browser reloaded instead of updating live"

    # A severity change made on server 1 reaches server 2 too (not only notes).
    severity = action(a, "#severity-form")
    set_field(severity, "severity", "SEV1")
    submit(severity)
    expect(entries(b, "severity_changed"), "a severity change should reach server 2's viewer live").to_have_count(
        1, timeout=LIVE_TIMEOUT)

    assert b.evaluate("window.e2eNotReloaded === true"), "the second browser reloaded instead of updating live"


def _responder_page_id(database_url: str, ref: str, user_id: object) -> object:
    """The id of the page asking `user_id` to join `ref` (the outbox row its email link names)."""
    import sqlalchemy as sa

    from tocsin.db import Database
    from tocsin.escalation.models import Notification
    from tocsin.incidents.models import Incident

    db = Database(database_url)
    try:
        with db.unit_of_work() as s:
            number = int(ref.removeprefix("INC-"))
            return s.execute(sa.select(Notification.id).join(Incident, Incident.id == Notification.incident_id).where(
                Incident.number == number, Notification.user_id == user_id, Notification.kind == "responder")
            ).scalars().first()
    finally:
        db.dispose()


def test_add_responders_then_resolve_with_the_public_incident(site, new_page) -> None:  # noqa: ANN001 (fixtures)
    from datetime import UTC, datetime

    from tocsin.notify import links

    rui, sam = site.users["rui"], site.users["sam"]
    page = new_page(DESKTOP)
    login(page, site.url, rui)
    ref = declare(page, "Search returns no results", severity="SEV2", service=SERVICE)

    # Add responders: page Sam, with a message.
    ask = action(page, "#responders-form")
    set_field(ask, "target", f"user:{sam.id}", sam.name)
    ask.locator('[name="message"]').fill("Need someone who knows the search index")
    submit(ask)
    expect(page.locator("#responder-requests li").filter(has_text=sam.name)).to_contain_text("no answer yet")
    expect(entries(page, "responders").last).to_contain_text("Need someone who knows the search index")
    check_a11y(page, "incident room with a responder paged")

    # Sam acknowledges from the link in the page (signed like the one in the email).
    page_id = _responder_page_id(site.database_url, ref, sam.id)
    assert page_id is not None, "no page was queued for Sam"
    token = links.make_token(SECRET_KEY, page_id, "ack", datetime.now(UTC))
    phone = new_page()
    phone.goto(f"{site.url}/n/{token}")
    phone.locator("button").click()
    expect(phone.locator("body")).to_contain_text(f"You joined {ref} as a responder")

    # The reply reaches Rui's room live (the timeline), and the panel after a reload.
    expect(entries(page, "responders").last).to_contain_text(f"{sam.name} acknowledged", timeout=LIVE_TIMEOUT)
    page.reload()
    expect(page.locator('#responder-requests li[data-status="acknowledged"]')).to_contain_text(sam.name)
    expect(page.locator(".participants")).to_contain_text(f"{sam.name} (responder)")

    # A public update, then one click on Resolve posts "resolved" to the status page too.
    public = action(page, "#public-update-form")
    set_field(public, "title", "Search is degraded")
    set_field(public, "status", "investigating")
    public.locator('[name="body"]').fill("Some searches return no results; we are on it.")
    submit(public)
    expect(page.locator(".room-public")).to_contain_text("investigating")
    expect(page.locator("#resolve-post-public"), "posting the resolved update is the default").to_be_checked()
    screenshot(page, "incident-room-actions")
    submit(page.locator("#resolve-form"))
    expect(page.locator("#room-status")).to_have_text("resolved")
    expect(page.locator(".room-public")).to_contain_text("resolved")
    expect(page.locator(".flash")).to_contain_text("the resolved update is on the status page")

    page.goto(f"{site.url}/status/{site.page_slug}")
    expect(page.locator("body")).to_contain_text("Search is degraded")
    expect(page.locator("body")).to_contain_text("This incident has been resolved.")
