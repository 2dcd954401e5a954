"""Login and invite acceptance: slow work off the event loop, constant work for unknown emails,
cross-site posts refused, and no password-less accounts from an invite."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.harness.console import PASSWORD, login, post_form


def test_wrong_password_logins_do_not_stall_the_status_page(app, db, clock, system, production_password_hashing,
                                                           make_web_user):
    """argon2 (at production cost) and the database run in worker threads, so the event loop keeps
    serving the in-memory status page while several logins are being checked."""
    from tocsin.statuspage import service as sp

    user = make_web_user("responder")
    with db.unit_of_work() as s:
        sp.create_page(s, actor=system, now=clock.now(), slug="public", name="Public status")
    cache = app.state.status_cache
    cache.start()
    try:
        assert cache.wait_idle() and "public" in cache.sites

        async def scenario() -> list[tuple[str, int]]:
            done: list[tuple[str, int]] = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                async def wrong_login(i: int) -> None:
                    r = await c.post("/login", data={"email": user.email, "password": f"wrong password {i}"})
                    done.append(("login", r.status_code))

                async def status() -> None:
                    await asyncio.sleep(0)  # the logins are under way first
                    r = await c.get("/status/public/api/v2/status.json")
                    done.append(("status", r.status_code))

                # five: the sixth wrong password from one address would wait (login throttling)
                await asyncio.gather(*[wrong_login(i) for i in range(5)], status())
            return done

        done = asyncio.run(scenario())
    finally:
        cache.stop()
    assert sorted(done) == [("login", 400)] * 5 + [("status", 200)]
    assert done[0] == ("status", 200), done  # answered while the password checks were still running


# --- constant work for unknown emails ----------------------------------------------------------------

@pytest.mark.parametrize("who", ["wrong password", "unknown email", "deactivated", "no password"])
def test_every_failed_login_costs_one_password_verification(client, db, clock, system, make_person,
                                                             make_web_user, verifications, who):
    """Unknown, deactivated and password-less users cost the same argon2 work as a wrong password,
    so the answer's timing does not reveal which emails have accounts."""
    from tocsin.users.service import require_user, update_user

    email = make_web_user("responder").email
    if who == "unknown email":
        email = "nobody-here@example.test"
    elif who == "deactivated":
        with db.unit_of_work() as s:
            update_user(s, actor=system, now=clock.now(), user=require_user(s, email), is_active=False)
    elif who == "no password":
        email = make_person("responder").email  # created without a password
    password = PASSWORD if who != "wrong password" else "not the password"
    response = login(client, email, password)
    assert response.status_code == 400 and "Wrong email or password" in response.text
    assert len(verifications) == 1
    assert "tocsin_session" not in response.headers.get("set-cookie", "")


def test_a_right_password_still_logs_in_with_one_verification(client, make_web_user, verifications):
    user = make_web_user("responder")
    assert login(client, user.email, PASSWORD).status_code == 303
    assert len(verifications) == 1


# --- cross-site posts --------------------------------------------------------------------------------

CROSS_SITE = [
    {"Origin": "null"},
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "http://["},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_or_opaque_login_posts_are_refused(client, make_web_user, headers):
    user = make_web_user("responder")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 403 and "CSRF" in response.text
    assert "tocsin_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("headers", [
    {},  # an old client or curl: no Origin at all
    {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "http://testserver"},
    {"Sec-Fetch-Site": "none"},  # typed into the address bar / a bookmark
    "public",  # behind a proxy that rewrites Host: the public address is the page's origin
])
def test_same_origin_login_posts_are_accepted(app, client, make_web_user, headers):
    user = make_web_user("responder")
    if headers == "public":
        headers = {"Origin": app.state.settings.resolved_public_url(), "Host": "backend.internal:9000",
                   "Sec-Fetch-Site": "same-origin"}
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "tocsin_session=" in response.headers["set-cookie"]


def _invite(web_client, email: str) -> str:
    admin = web_client("admin")
    r = post_form(admin, "/users/invite", {"name": "Nina New", "email": email, "org_role": "responder"},
                  page="/users")
    assert r.status_code == 200, r.text
    return "/invite/" + re.search(r"/invite/([A-Za-z0-9_-]+)", r.text).group(1)


@pytest.mark.parametrize("headers", CROSS_SITE[:3])
def test_cross_site_invite_accept_is_refused_and_the_invite_stays_usable(app, web_client, headers):
    from fastapi.testclient import TestClient

    path = _invite(web_client, "nina@example.test")
    guest = TestClient(app, raise_server_exceptions=False)
    r = guest.post(path, data={"name": "Nina", "password": "attacker chosen pw"}, headers=headers,
                   follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert guest.get(path).status_code == 200
    r = guest.post(path, data={"name": "Nina", "password": "nina's own password"},
                   headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
    assert r.status_code == 303
    assert login(TestClient(app), "nina@example.test", "attacker chosen pw").status_code == 400


# --- invites need a password -------------------------------------------------------------------------

@pytest.mark.parametrize("password,message", [("", "choose a password of 8 to 1024 characters"),
                                              ("x" * 1025, "choose a password of 8 to 1024 characters"),
                                              ("short", "8")])
def test_invite_needs_a_password_and_stays_usable(app, db, web_client, password, message):
    from fastapi.testclient import TestClient

    from tocsin.users.service import get_user_by_email

    path = _invite(web_client, "pat@example.test")
    guest = TestClient(app, raise_server_exceptions=False)
    r = guest.post(path, data={"name": "Pat", "password": password}, follow_redirects=False)
    assert r.status_code == 400 and message in r.text
    assert 'id="password"' in r.text  # the form again, to try once more
    assert "tocsin_session" not in r.headers.get("set-cookie", "")
    with db.unit_of_work() as s:
        assert get_user_by_email(s, "pat@example.test") is None  # no account without a password
    r = guest.post(path, data={"name": "Pat", "password": "a good long password"}, follow_redirects=False)
    assert r.status_code == 303
    assert login(TestClient(app), "pat@example.test", "a good long password").status_code == 303
