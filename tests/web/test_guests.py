"""Outside (guest) responders: invited by the commander to one restricted incident, they see its room
and nothing else; their access ends at its expiry or at once when revoked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import Viewer, csrf, login, post_form, served
from tocsin.users.service import create_token, get_user_by_email

API = "/api/v1"
PASSWORD = "a long enough password"


@pytest.fixture
def scene(client, make_web_user, web_client):
    """A restricted security incident with Ida as its commander, and another restricted incident."""
    ada, ida = make_web_user("admin", name="Ada"), make_web_user("responder", name="Ida")
    ref = client.post(f"{API}/incidents", json={"title": "Leaked key", "severity": "SEV2", "kind": "security"},
                      headers=ada.headers).json()["ref"]
    other = client.post(f"{API}/incidents", json={"title": "Other secret", "severity": "SEV2", "restricted": True},
                        headers=ada.headers).json()["ref"]
    client.post(f"{API}/incidents/{ref}/roles", json={"role": "incident_commander", "user": ida.email},
                headers=ada.headers)
    return {"ada": ada, "ida": ida, "ref": ref, "other": other, "ic": web_client(ida)}


def _invite(web, ref, **fields):
    data = {"email": "ivy@irfirm.example", "name": "Ivy IR", "organisation": "IR Firm", "duration": "2d", **fields}
    return post_form(web, f"/incidents/{ref}/guests", data, page=f"/incidents/{ref}")


def _join(app, link):
    guest = TestClient(app, raise_server_exceptions=False)
    path = link.split("example", 1)[-1] if "://" in link else link
    path = path[path.index("/guest/"):]
    assert "Your access ends" in guest.get(path).text
    r = guest.post(path, data={"name": "Ivy", "password": PASSWORD}, follow_redirects=False)
    return guest, r


def test_a_guest_sees_the_one_incident_and_nothing_else(app, client, db, clock, system, scene):
    ref = scene["ref"]
    invited = _invite(scene["ic"], ref)
    assert invited.status_code == 201 and "shown only this once" in invited.text
    link = re.search(r'value="(http[^"]+/guest/[^"]+)"', invited.text).group(1)
    guest, joined = _join(app, link)
    assert joined.status_code == 303 and joined.headers["location"] == f"/incidents/{ref}"
    room = guest.get(f"/incidents/{ref}")
    assert room.status_code == 200 and "Leaked key" in room.text and "outside responder" in room.text
    assert 'href="/schedules"' not in room.text  # no navigation to places they cannot go
    assert guest.get("/", follow_redirects=False).headers["location"] == f"/incidents/{ref}"
    for path in (f"/incidents/{scene['other']}", "/incidents", "/schedules", "/services", "/users", "/reports",
                 "/me", "/me/shifts", "/status-pages", "/audit", f"/incidents/{ref}/postmortem",
                 "/postmortems", "/alerts", "/configure"):
        r = guest.get(path, follow_redirects=False)
        assert r.status_code == 404 and "Other secret" not in r.text, path
    assert post_form(guest, f"/incidents/{ref}/note", {"text": "hi"}, token=csrf(guest, f"/incidents/{ref}")
                     ).status_code == 404
    with db.unit_of_work() as s:  # even with an API token (an admin made one), the API refuses a guest
        token = create_token(s, actor=system, now=clock.now(), user=get_user_by_email(s, "ivy@irfirm.example"),
                             name="t")[1]
    r = client.get(f"{API}/incidents/{ref}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "Leaked key" not in r.text
    # the room is the need-to-know circle's: the guest's visit is on the audit chain
    audit = client.get(f"{API}/audit?limit=200", headers=scene["ada"].headers).json()["items"]
    assert any(e["action"] == "guest.view" and e["details"]["incident"] == ref for e in audit)
    assert any(e["action"] == "incident.guest_accept" for e in audit)
    # the commander sees the guest with the expiry, and the timeline says who came in
    ic_room = scene["ic"].get(f"/incidents/{ref}").text
    assert "Ivy IR" in ic_room and "IR Firm" in ic_room and 'data-state="active"' in ic_room


def test_access_ends_at_expiry_and_at_once_on_revocation(app, client, clock, scene):
    ref = scene["ref"]
    link = re.search(r'value="(http[^"]+/guest/[^"]+)"', _invite(scene["ic"], ref, duration="2h").text).group(1)
    guest, _ = _join(app, link)
    assert guest.get(f"/incidents/{ref}").status_code == 200
    clock.advance(hours=2)  # no job runs: the next request finds the grant over
    r = guest.get(f"/incidents/{ref}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    relogin = login(guest, "ivy@irfirm.example", PASSWORD)  # the password is right, but the access is over
    assert relogin.status_code != 303 and "Wrong email or password" in relogin.text
    # invited again (a new link: a guest of before gives their password again), then revoked by an admin
    again = _invite(scene["ic"], ref, duration="1d")
    guest2, joined = _join(app, re.search(r'value="(http[^"]+/guest/[^"]+)"', again.text).group(1))
    assert joined.status_code == 303 and guest2.get(f"/incidents/{ref}").status_code == 200
    admin = TestClient(app, raise_server_exceptions=False)
    login(admin, scene["ada"].email, scene["ada"].password)
    grant = re.findall(r"/guests/([0-9a-f-]+)/revoke", admin.get(f"/incidents/{ref}").text)
    assert len(grant) == 1  # only the live grant can be revoked
    assert post_form(admin, f"/incidents/{ref}/guests/{grant[0]}/revoke", page=f"/incidents/{ref}"
                     ).status_code == 303
    assert guest2.get(f"/incidents/{ref}", follow_redirects=False).status_code == 303  # its session ended
    audit = client.get(f"{API}/audit?limit=200", headers=scene["ada"].headers).json()["items"]
    revoked = next(e for e in audit if e["action"] == "incident.guest_revoke")
    assert revoked["details"]["sessions_ended"] == 2  # both of the guest's sessions, the expired grant's too


INVITE_REFUSALS = [  # (form fields, status, message)
    ({"duration": "31d"}, 422, "from 1 hour to 30 days"),
    ({"duration": "0h"}, 422, "from 1 hour"),
    ({"duration": "soon"}, 422, "hours (12h) or days (3d)"),
    ({"duration": ""}, 422, "hours (12h) or days (3d)"),
    ({"email": "ada"}, 422, "not an email address"),
    ({"name": ""}, 422, "give the guest&#39;s name"),
    ({"email": "STAFF"}, 409, "already has a tocsin account"),
]


def test_who_may_invite_whom_and_for_how_long(client, web_client, scene):
    for fields, status, message in INVITE_REFUSALS:
        fields = {**fields, "email": scene["ada"].email} if fields.get("email") == "STAFF" else fields
        r = _invite(scene["ic"], scene["ref"], **fields)
        assert r.status_code == status and message in r.text, (fields, r.status_code)
    ada = scene["ada"].headers
    responder = web_client("responder")  # takes part, does not command
    client.post(f"{API}/incidents/{scene['ref']}/participants", json={"user": responder.user.email,
                                                                       "kind": "responder"}, headers=ada)
    r = _invite(responder, scene["ref"])
    assert r.status_code == 403 and "admins and the incident commander" in r.text
    # an incident that is not restricted takes no guests, even from an admin
    open_ref = client.post(f"{API}/incidents", json={"title": "Slow", "severity": "SEV3"}, headers=ada).json()["ref"]
    r = _invite(web_client(scene["ada"]), open_ref)
    assert r.status_code == 422 and "restricted (need-to-know) incidents only" in r.text
    # guest accounts come only from an invitation: never by choosing the role
    r = client.post(f"{API}/users", json={"email": "g@example.test", "name": "G", "org_role": "guest"}, headers=ada)
    assert r.status_code == 422 and "inviting an outside responder" in r.text
    assert client.patch(f"{API}/users/{scene['ida'].email}", json={"org_role": "guest"}, headers=ada).status_code == 422


def test_the_link_refuses_a_cross_site_post_and_dies_after_use(app, scene):
    link = re.search(r'value="(http[^"]+/guest/[^"]+)"', _invite(scene["ic"], scene["ref"]).text).group(1)
    path = link[link.index("/guest/"):]
    other = TestClient(app, raise_server_exceptions=False)
    forged = other.post(path, data={"name": "X", "password": PASSWORD}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    _join(app, link)
    assert other.get(path).status_code == 404
    assert other.post(path, data={"name": "X", "password": PASSWORD}).status_code == 404


def test_a_guests_live_room_follows_the_incident_and_stops_at_expiry(app, client, db, clock, system, scene):
    from tocsin.incidents import guests
    from tocsin.incidents.access import require_incident

    with db.unit_of_work() as s:
        _grant, token = guests.invite(s, actor=system, now=clock.now(), incident=require_incident(s, system, scene["ref"]),
                                      email="ivy@irfirm.example", name="Ivy", duration=timedelta(hours=1), max_days=30)
        guests.accept(s, now=clock.now(), token=token, name="Ivy", password=PASSWORD)
    ada = scene["ada"].headers
    with served(app) as base:
        viewer = Viewer(base, "ivy@irfirm.example", PASSWORD).open(scene["ref"])
        try:
            assert viewer.status == 200
            client.post(f"{API}/incidents/{scene['ref']}/notes", json={"text": "rotating the key now"}, headers=ada)
            viewer.wait_for("rotating the key now")
            clock.advance(hours=1)
            client.post(f"{API}/incidents/{scene['ref']}/notes", json={"text": "after the expiry"}, headers=ada)
            assert viewer.next_timeline() is None  # the stream ended instead of showing it
        finally:
            viewer.close()
