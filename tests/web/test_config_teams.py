"""Teams and people set up in the console: an admin creates a team, adds and removes members and
edits it, and manages open invitations (revoke, a new link shown once); everyone else reads."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.harness.console import csrf, post_form


def _actions(db, name):
    from tocsin.audit.service import list_entries

    with db.unit_of_work() as s:
        return [e.details for e in list_entries(s, limit=1000) if e.action == name]


def _members(db, slug):
    from tocsin.teams.service import member_ids, require_team

    with db.unit_of_work() as s:
        return set(member_ids(s, require_team(s, slug).id))


def test_an_admin_creates_a_team_and_manages_its_members(web_client, world, make_web_user, db):
    admin = web_client("admin")
    assert 'href="/teams/new"' in admin.get("/teams").text
    assert admin.get("/teams/new").status_code == 200
    r = post_form(admin, "/teams", {"name": "Payments", "description": "Money in and out"}, page="/teams/new")
    assert r.status_code == 303 and r.headers["location"] == "/teams/payments"
    assert _actions(db, "team.create") == [{"slug": "payments", "is_security": False}]

    pia = make_web_user("responder", name="Pia Payments")
    page = admin.get("/teams/payments").text
    assert "Team payments created" in page and "No members yet." in page
    assert f'<option value="{pia.id}">Pia Payments ({pia.email})</option>' in page

    r = post_form(admin, "/teams/payments/members", {"user": str(pia.id)}, page="/teams/payments")
    assert r.status_code == 303
    assert _members(db, "payments") == {pia.id}
    olga = world["oncaller"]
    post_form(admin, "/teams/payments/members", {"user": str(olga.id)}, page="/teams/payments")
    assert _members(db, "payments") == {pia.id, olga.id}
    page = admin.get("/teams/payments").text
    assert "Olga Oncall added to the team" in page
    assert f'action="/teams/payments/members/{pia.id}/remove"' in page and "<td>responder</td>" in page

    r = post_form(admin, f"/teams/payments/members/{pia.id}/remove", page="/teams/payments")
    assert r.status_code == 303 and _members(db, "payments") == {olga.id}
    assert _actions(db, "team.members")[-1] == {"added": [], "removed": [str(pia.id)]}

    r = post_form(admin, "/teams/payments/edit", {"name": "Payments Team", "description": "", "is_security": "1"},
                  page="/teams/payments")
    assert r.status_code == 303
    page = admin.get("/teams/payments").text
    assert "<h1>Payments Team" in page and "security team" in page
    listing = admin.get("/teams").text
    assert 'href="/teams/payments">Payments Team</a>' in listing


def test_the_team_page_shows_services_schedules_and_policies(web_client, world, db, clock, system, make_team):
    from tocsin.escalation import service as esc
    from tocsin.oncall import service as oncall
    from tocsin.services.service import require_service, update_service
    from tocsin.teams.service import require_team

    make_team("shop")
    with db.unit_of_work() as s:
        update_service(s, actor=system, now=clock.now(), service=require_service(s, "checkout"), owner_team="shop")
        sched = oncall.require_schedule(s, "primary")
        sched.team_id = require_team(s, "shop").id
        esc.create_policy(s, actor=system, now=clock.now(), name="Shop direct", slug="shop-direct", repeat=0,
                          levels=[{"delay_minutes": 5, "targets": [{"type": "team", "id": "shop"}]}])
    page = web_client("viewer").get("/teams/shop")
    assert page.status_code == 200
    text = page.text
    assert 'href="/services/checkout">Checkout</a>' in text
    assert 'href="/schedules/primary">Primary</a>' in text
    assert 'href="/escalation-policies/default">Default</a> —' in text and "used by checkout" in text
    assert 'href="/escalation-policies/shop-direct">' in text and "pages this team" in text
    assert 'id="add-member-form"' not in text and 'id="team-edit-form"' not in text  # read-only for viewers


def test_team_input_errors_are_readable(web_client, world, make_team):
    make_team("platform")
    admin = web_client("admin")
    token = csrf(admin, "/teams/new")
    for data, status, text in [({"name": ""}, 422, "name is required"),
                               ({"name": "Platform"}, 409, "a team with slug platform already exists"),
                               ({"name": "X", "slug": "Not OK"}, 422, "invalid slug"),
                               ({"name": "x" * 201}, 422, "name must have at most 200 characters")]:
        r = post_form(admin, "/teams", data, token=token)
        assert r.status_code == status and text in r.text, (data, r.status_code)
    assert post_form(admin, "/teams/platform/members", {"user": "nobody"}, token=token).status_code == 404
    assert post_form(admin, "/teams/ghosts/members/01900000-0000-7000-8000-000000000000/remove",
                     token=token).status_code == 404
    assert admin.get("/teams/ghosts").status_code == 404


def test_responders_and_viewers_cannot_change_teams(web_client, world, make_team, db):
    make_team("platform")
    for role in ("responder", "viewer"):
        c = web_client(role)
        assert c.get("/teams").status_code == 200 and 'href="/teams/new"' not in c.get("/teams").text
        assert c.get("/teams/new").status_code == 403
        token = csrf(c, "/teams")
        assert post_form(c, "/teams", {"name": "Rogue"}, token=token).status_code == 403
        assert post_form(c, "/teams/platform/edit", {"name": "Mine"}, token=token).status_code == 403
        me = c.user.id
        assert post_form(c, "/teams/platform/members", {"user": str(me)}, token=token).status_code == 403
        assert _members(db, "platform") == set()


# --- invitations -------------------------------------------------------------------------------

def _invite(admin, email="nina@example.test"):
    r = post_form(admin, "/users/invite", {"name": "Nina New", "email": email, "org_role": "responder"},
                  page="/users")
    assert r.status_code == 200
    return "/invite/" + re.search(r'/invite/([A-Za-z0-9_-]+)', r.text).group(1)


def _invite_id(admin):
    return re.search(r'action="/users/invites/([0-9a-f-]+)/revoke"', admin.get("/users").text).group(1)


def test_open_invitations_are_listed_and_can_be_revoked(web_client, app, db):
    admin = web_client("admin")
    link = _invite(admin)
    page = admin.get("/users").text
    assert "<th scope=\"row\">Nina New</th>" in page and "nina@example.test" in page and "in 7 d" in page
    iid = _invite_id(admin)
    r = post_form(admin, f"/users/invites/{iid}/revoke", page="/users")
    assert r.status_code == 303
    page = admin.get("/users").text
    assert "Invitation for nina@example.test revoked" in page and "nina@example.test" not in page.split("revoked")[1]
    assert TestClient(app).get(link).status_code == 404
    assert _actions(db, "user.invite_revoke") == [{"email": "nina@example.test"}]
    again = post_form(admin, f"/users/invites/{iid}/revoke", page="/users")
    assert again.status_code == 404  # no longer open


def test_a_new_link_replaces_the_old_one_and_is_shown_once(web_client, app):
    admin = web_client("admin")
    old = _invite(admin)
    r = post_form(admin, f"/users/invites/{_invite_id(admin)}/resend", page="/users")
    assert r.status_code == 200
    new = "/invite/" + re.search(r'id="invite-link">[^<]*/invite/([A-Za-z0-9_-]+)<', r.text).group(1)
    assert new != old
    guest = TestClient(app, raise_server_exceptions=False)
    assert guest.get(old).status_code == 404 and guest.get(new).status_code == 200
    assert new.rsplit("/", 1)[1] not in admin.get("/users").text  # shown once
    assert admin.get("/users").text.count('action="/users/invites/') == 2  # one open invite: resend + revoke


def test_only_admins_see_and_manage_invitations(web_client, world):
    admin = web_client("admin")
    _invite(admin)
    iid = _invite_id(admin)
    for role in ("responder", "viewer"):
        c = web_client(role)
        assert "nina@example.test" not in c.get("/users").text
        token = csrf(c, "/users")
        assert post_form(c, f"/users/invites/{iid}/revoke", token=token).status_code == 403
        assert post_form(c, f"/users/invites/{iid}/resend", token=token).status_code == 403
    assert post_form(admin, "/users/invites/not-an-id/revoke", page="/users").status_code == 404
    assert iid in admin.get("/users").text  # still open
