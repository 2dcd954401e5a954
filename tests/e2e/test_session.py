"""Logging in and out, as a person with a browser sees it.

Runbook: visiting the console logged out leads to the login page; a wrong password (or an
unknown email) gets the same "Wrong email or password"; a deep link to a room survives logging
in; the session cookie is HttpOnly and SameSite=Lax; a form posted without the CSRF token is
refused; after "Log out", / leads to the login page again, and the old cookie no longer works
anywhere (the session is ended on the server, not just forgotten by the browser).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import login
from tests.harness.site import Site

pytestmark = pytest.mark.slow

AT_LOGIN = re.compile(r"/login(\?.*)?$")


def wrong_login(page: Page, email: str, password: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 400, f"a failed login should answer 400, got {answer.value.status}"
    expect(page.locator("body")).to_contain_text("Wrong email or password")


def test_logout_and_session(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    rui = site.users["rui"]
    page = new_page()
    page.goto(f"{site.url}/")
    expect(page, "logged out, / should lead to the login page").to_have_url(AT_LOGIN)

    wrong_login(page, rui.email, "not the password")
    wrong_login(page, "nobody@example.test", rui.password)

    # A deep link survives logging in.
    room = f"/incidents/{site.seeded_incident}"
    page.goto(site.url + room)
    expect(page, "a room link while logged out should lead to /login?next=...").to_have_url(
        re.compile(r"/login\?next=" + re.escape(room).replace("/", "(/|%2F)")))
    login(page, site.url, rui)
    expect(page, "after logging in, the deep link's page").to_have_url(site.url + room)

    [cookie] = [c for c in page.context.cookies() if c["name"] == "tocsin_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/", cookie

    # A form posted from elsewhere (no CSRF token) is refused.
    forged = page.request.post(f"{site.url}/incidents", form={"title": "Forged", "severity": "SEV1"},
                               max_redirects=0)
    assert forged.status == 403, f"POST /incidents without csrf_token: {forged.status} {forged.text()[:300]}"

    # Log out.
    old_cookies = page.context.cookies()
    logout = page.locator('form[action="/logout"]')
    expect(logout, "every page has a log-out form").to_have_count(1)
    logout.locator("button, input[type=submit]").first.click()
    expect(page, "logging out should end on the login page").to_have_url(AT_LOGIN)
    page.goto(f"{site.url}/")
    expect(page).to_have_url(AT_LOGIN)

    # The old cookie is dead on the server too.
    replay = new_page()
    replay.context.add_cookies(old_cookies)
    replay.goto(site.url + room)
    expect(replay, "a logged-out session's cookie must not work again").to_have_url(AT_LOGIN)
