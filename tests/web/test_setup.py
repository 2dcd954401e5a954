"""First run: the link `tocsin serve` prints while there are no users creates the first admin in the
browser, once; a wrong link, or any link after the first user exists, is a 404."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin.audit.models import AuditEntry
from tocsin.users.models import User
from tocsin.web.sessions import setup_token

GOOD = {"name": "Ada Admin", "email": "ada@example.test", "password": "first admin pass", "time_zone": "Europe/Berlin"}


def _link(app) -> str:  # noqa: ANN001 (fixture)
    return f"/setup/{setup_token(app.state.settings)}"


def test_the_first_admin_is_created_in_the_browser_once(app, client, db) -> None:  # noqa: ANN001
    link = _link(app)
    page = client.get(link)
    assert page.status_code == 200 and "Create the administrator" in page.text

    short = client.post(link, data={**GOOD, "password": "short"}, follow_redirects=False)
    assert short.status_code == 400 and "password of 8" in short.text
    bad_zone = client.post(link, data={**GOOD, "time_zone": "Mars/Olympus"}, follow_redirects=False)
    assert bad_zone.status_code in (400, 422) and "time zone" in bad_zone.text.lower()

    done = client.post(link, data=GOOD, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/configure"
    assert client.get("/configure").status_code == 200, "the new admin is logged in"
    with db.unit_of_work() as s:
        (user,) = s.execute(sa.select(User)).scalars()
        assert (user.email, user.org_role, user.time_zone) == ("ada@example.test", "admin", "Europe/Berlin")
        actions = [a for (a,) in s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert "user.first_admin" in actions

    # Once a user exists the link is dead: nobody else becomes admin through it.
    assert client.get(link).status_code == 404
    again = client.post(link, data={**GOOD, "email": "eve@example.test"}, follow_redirects=False)
    assert again.status_code == 404
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() == 1


def test_a_wrong_setup_link_is_not_found(app, client) -> None:  # noqa: ANN001
    link = _link(app)
    assert client.get(link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 404
    assert client.get("/setup/" + "x" * 500).status_code == 404
    refused = client.post("/setup/nope", data=GOOD, follow_redirects=False)
    assert refused.status_code == 404


def test_a_cross_site_setup_post_is_refused(app, client) -> None:  # noqa: ANN001
    r = client.post(_link(app), data=GOOD, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403


def test_the_login_page_points_to_the_setup_link_until_someone_exists(client, make_web_user) -> None:  # noqa: ANN001
    assert "has no users yet" in client.get("/login").text
    make_web_user("responder")
    assert "has no users yet" not in client.get("/login").text


def test_a_setup_link_with_non_ascii_characters_is_not_found_not_a_500(client) -> None:  # noqa: ANN001
    assert client.get("/setup/%C3%A9t%C3%A9").status_code == 404
    assert client.post("/setup/%C3%A9", data=GOOD, follow_redirects=False).status_code == 404
