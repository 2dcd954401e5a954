"""Every console POST is CSRF-checked, and malformed form input never gives a 500."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from fastapi.routing import APIRoute

import tocsin.web.routes as routes_package
from tests.harness.console import csrf, post_form

# every console route module: a new page's forms are checked without anyone listing them here
MY_MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(routes_package.__path__)))
NO_SESSION_YET = {"/login", "/invite/{token}", "/setup/{token}",  # checked by Origin instead (see test_login)
                  "/guest/{token}"}  # (and tests/web/test_guests.py)
SOME_ID = "01900000-0000-7000-8000-000000000000"


def console_posts(app=None) -> list[str]:
    """Every POST route of the console modules, with its path parameters filled in."""
    out = []
    modules = [importlib.import_module(f"tocsin.web.routes.{name}") for name in MY_MODULES]
    routes = [r for m in modules if hasattr(m, "router") for r in m.router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or "POST" not in route.methods:
            continue
        if route.path in NO_SESSION_YET:
            continue
        path = route.path.replace("{key}", "primary").replace("{slug}", "public")
        out.append(re.sub(r"\{[a-z_]+\}", SOME_ID, path))
    return sorted(out)


def test_the_csrf_table_covers_the_console(app):
    posts = console_posts(app)
    assert len(posts) >= 20, posts
    for expected in ("/logout", "/silences", "/me/password", "/users/invite", "/status-pages"):
        assert expected in posts


def test_every_console_post_refuses_missing_or_wrong_csrf(web_client, world, app):
    admin = web_client("admin")
    wrong = "0" * 64
    for path in console_posts(app):
        missing = admin.post(path, data={"name": "x"}, follow_redirects=False)
        assert missing.status_code == 403, (path, missing.status_code)
        bad = admin.post(path, data={"name": "x", "csrf_token": wrong}, follow_redirects=False)
        assert bad.status_code == 403, (path, bad.status_code)
        header = admin.post(path, data={"name": "x"}, headers={"X-CSRF-Token": wrong}, follow_redirects=False)
        assert header.status_code == 403, (path, header.status_code)
        assert "CSRF" in bad.text
    assert admin.get("/", follow_redirects=False).status_code == 200  # still logged in: logout was refused


def test_csrf_header_works_for_fetch(web_client, world):
    client = web_client("responder")
    token = csrf(client, "/silences")
    r = client.post("/silences", data={"matchers": "a=b", "duration": "1h", "reason": "fetch"},
                    headers={"X-CSRF-Token": token, "X-Requested-With": "fetch"}, follow_redirects=False)
    assert r.status_code == 303


MALFORMED = [
    ("/silences", {"matchers": "!!! not a matcher", "duration": "1h", "reason": "x"}, 422),
    ("/silences", {"matchers": "a=b", "duration": "forever", "reason": "x"}, 422),
    ("/silences", {"matchers": "a=b", "duration": "99999999999999999999", "reason": "x"}, 422),
    ("/silences", {"matchers": "a=b", "duration": "1h", "reason": "  "}, 422),
    ("/silences", {"matchers": "", "duration": "1h", "reason": "x"}, 422),
    ("/silences", {"matchers": "a=b", "duration": "1h", "reason": "x", "start": "yesterday-ish"}, 422),
    ("/silences", {"matchers": "a=b", "duration": "1h", "reason": "x", "start": "0001-01-01T00:00"}, 422),
    ("/silences/not-a-uuid/expire", {}, 404),
    (f"/silences/{SOME_ID}/expire", {}, 404),
    ("/schedules/primary/overrides", {"start": "garbage", "end": "2026-01-02T12:00"}, 422),
    ("/schedules/primary/overrides", {"start": "2026-01-02T12:00", "end": "2026-01-02T10:00"}, 422),
    ("/schedules/primary/overrides", {"start": "2026-01-02T10:00", "end": "2026-01-02T12:00", "user": "nobody"}, 404),
    ("/schedules/nope/overrides", {"start": "2026-01-02T10:00", "end": "2026-01-02T12:00"}, 404),
    ("/maintenance-windows", {"service": "nope", "name": "w", "start": "2026-01-02T10:00",
                              "end": "2026-01-02T12:00"}, 422),
    ("/me/profile", {"name": "Me", "time_zone": "Mars/Olympus_Mons"}, 422),
    ("/me/profile", {"name": "", "time_zone": "UTC"}, 422),
    ("/me/password", {"current_password": "x" * 5000, "new_password": "y"}, 422),
    ("/me/contacts", {"type": "pigeon", "address": "roof"}, 422),
    ("/me/contacts", {"type": "sms", "address": "not a phone"}, 422),
    ("/me/tokens", {"name": ""}, 422),
    ("/me/tokens/not-a-uuid/revoke", {}, 404),
    ("/users/invite", {"name": "X", "email": "not an email", "org_role": "viewer"}, 422),
    ("/users/invite", {"name": "X", "email": "x@example.test", "org_role": "emperor"}, 422),
    (f"/users/{SOME_ID}/role", {"org_role": "viewer"}, 404),
    ("/users/not-a-uuid/active", {"active": "false"}, 404),
    ("/alerts/not-a-uuid/acknowledge", {}, 404),
    (f"/alerts/{SOME_ID}/attach", {"incident": "INC-999"}, 404),
    ("/status-pages", {"name": "Bad", "slug": "Not A Slug!"}, 422),
    ("/status-pages/public/components", {"name": "", "group": ""}, 422),
    ("/status-pages/public/components", {"name": "C", "group": "not-a-uuid"}, 404),
    (f"/status-pages/public/components/{SOME_ID}/status", {"status": "operational"}, 404),
    ("/status-pages/nope/maintenance", {"name": "m", "body": "b", "start": "2026-01-02T10:00",
                                        "end": "2026-01-02T12:00"}, 404),
    ("/status-pages/public/maintenance", {"name": "m", "body": "b", "start": "2026-01-02T10:00",
                                          "end": "2026-01-02T09:00"}, 422),
    ("/silences", {"matchers": "a=b\x00", "duration": "1h", "reason": "x"}, 422),
]


@pytest.mark.parametrize("path,data,status", MALFORMED, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(MALFORMED)])
def test_malformed_form_input_is_a_readable_4xx(web_client, world, path, data, status):
    admin = web_client("admin")
    r = post_form(admin, path, data)
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    assert 'class="error" role="alert"' in r.text


@pytest.mark.parametrize("body,ctype", [
    (b"\xff\xfe=\xff", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--", "multipart/form-data; boundary=x"),
    (b'{"matchers": "a=b"}', "application/json"),
])
def test_unreadable_bodies_are_refused_not_crashed(web_client, world, body, ctype):
    admin = web_client("admin")
    r = admin.post("/silences", content=body, headers={"Content-Type": ctype}, follow_redirects=False)
    assert r.status_code in (400, 403, 415, 422), r.status_code
    token = csrf(admin, "/silences")
    r = admin.post("/silences", content=body, headers={"Content-Type": ctype, "X-CSRF-Token": token},
                   follow_redirects=False)
    assert r.status_code in (400, 415, 422), r.status_code


@pytest.mark.parametrize("path,status", [
    ("/alerts?status=bogus&service=nope", 200),
    ("/alerts/not-a-uuid", 404),
    ("/services/nope", 404),
    ("/schedules/primary?week=not-a-date", 422),
    ("/schedules/primary?week=0001-01-01", 422),
    ("/schedules/nope", 404),
    ("/escalation-policies/nope", 404),
    ("/users/not-a-uuid", 404),
    ("/status-pages/nope", 404),
    ("/reports/view?since=whenever", 422),
    ("/reports/view?group_by=planet", 422),
    ("/services/a%00b", 422),
])
def test_malformed_urls_are_readable_4xx(web_client, world, path, status):
    client = web_client("responder")
    r = client.get(path, follow_redirects=False)
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
