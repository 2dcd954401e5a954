"""Console login, logout, session timeouts and the `next` parameter."""

from __future__ import annotations

import pytest

from tests.harness.console import PASSWORD, csrf, login, post_form


def test_login_page_has_labelled_fields_and_no_nav(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
    assert 'id="declare-open"' not in page.text and "<nav" not in page.text
    assert '<meta name="viewport"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-content-type-options"] == "nosniff"


def test_login_success_sets_cookie_and_shows_dashboard(client, make_web_user):
    user = make_web_user("responder")
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "tocsin_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    page = client.get("/")
    assert page.status_code == 200
    assert user.name in page.text


@pytest.mark.parametrize("email,password", [("known", "wrong password"), ("nobody@example.test", PASSWORD),
                                            ("", ""), ("known", "")])
def test_login_failure_is_generic(client, make_web_user, email, password):
    user = make_web_user("responder")
    response = login(client, user.email if email == "known" else email, password)
    assert response.status_code == 400
    assert "Wrong email or password" in response.text
    assert "tocsin_session" not in response.headers.get("set-cookie", "")


def test_logout_revokes_the_session(client, make_web_user):
    user = make_web_user("responder")
    login(client, user.email, PASSWORD)
    cookie = client.cookies.get("tocsin_session")
    response = post_form(client, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.cookies.set("tocsin_session", cookie)  # a stolen copy of the cookie no longer works
    again = client.get("/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_idle_timeout_sends_back_to_login(client, clock, make_web_user):
    user = make_web_user("responder")
    login(client, user.email, PASSWORD)
    clock.advance(minutes=700)
    assert client.get("/", follow_redirects=False).status_code == 200  # activity refreshes the idle timer
    clock.advance(minutes=719)
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=721)
    response = client.get("/services", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/services"


def test_absolute_timeout_ends_an_active_session(client, clock, make_web_user):
    user = make_web_user("responder")
    login(client, user.email, PASSWORD)
    for _ in range(168 // 6):
        clock.advance(hours=6)
        client.get("/")
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_fetch_without_session_gets_401(client):
    response = client.get("/", headers={"X-Requested-With": "fetch"}, follow_redirects=False)
    assert response.status_code == 401
    stream = client.get("/", headers={"Accept": "text/event-stream"}, follow_redirects=False)
    assert stream.status_code == 401


def test_deactivated_user_loses_the_session(client, db, clock, system, make_web_user):
    from tocsin.users.service import require_user, update_user

    user = make_web_user("responder")
    login(client, user.email, PASSWORD)
    with db.unit_of_work() as s:
        update_user(s, actor=system, now=clock.now(), user=require_user(s, user.id), is_active=False)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(client, user.email, PASSWORD).status_code == 400


@pytest.mark.parametrize("next_path,expected", [
    ("/services", "/services"),
    ("/alerts?status=firing", "/alerts?status=firing"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("evil.example", "/"),
    ("/%0d%0aSet-Cookie:x=y", "/%0d%0aSet-Cookie:x=y"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
])
def test_next_accepts_only_local_paths(client, make_web_user, next_path, expected):
    user = make_web_user("responder")
    response = login(client, user.email, PASSWORD, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_login_page_keeps_next_for_the_form(client):
    page = client.get("/login?next=//evil.example")
    assert 'name="next" value="/"' in page.text
    page = client.get("/login?next=/schedules")
    assert 'name="next" value="/schedules"' in page.text


def test_cross_site_login_post_is_refused(client, make_web_user):
    user = make_web_user("responder")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403


def test_csrf_token_is_bound_to_the_session(web_client):
    alice, bob = web_client("responder"), web_client("responder")
    assert csrf(alice) != csrf(bob)
    response = post_form(alice, "/logout", token=csrf(bob))
    assert response.status_code == 403
    assert alice.get("/", follow_redirects=False).status_code == 200
