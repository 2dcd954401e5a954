"""Shift swaps ("cover me") and my shifts through the API.

Rui is on call on the weekly `ops` rotation (Rui, then Sam) this week and asks for cover on
Friday; Sam (also on the rotation) offers; Rui accepts, and the final schedule shows Sam on
Friday through an override. Outsiders and viewers cannot offer; only Rui (or an admin) accepts
or cancels; a request whose start has passed reads as expired and can no longer be taken.
Rui's personal calendar feed lists only Rui's shifts, across schedules.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from icalendar import Calendar

pytestmark = pytest.mark.both_backends  # the swap and feed queries, on SQLite and PostgreSQL

API = "/api/v1"
SWAPS = f"{API}/shift-swaps"
# The clock starts on Thursday 2026-01-01 12:00 UTC; the rotation hands off on Mondays at 09:00 UTC.
FRIDAY = {"starts_at": "2026-01-02T09:00:00Z", "ends_at": "2026-01-02T18:00:00Z"}


@pytest.fixture
def team(client, make_person):
    people = {"admin": make_person("admin", name="Ada"), "rui": make_person("responder", name="Rui"),
              "sam": make_person("responder", name="Sam"), "out": make_person("responder", name="Otto"),
              "vic": make_person("viewer", name="Vic")}
    admin = people["admin"].headers
    for slug, members in (("ops", ["rui", "sam"]), ("db", ["rui"])):
        assert client.post(f"{API}/schedules", json={"name": slug.title(), "slug": slug}, headers=admin
                           ).status_code == 201
        r = client.post(f"{API}/schedules/{slug}/layers", headers=admin, json={
            "name": "week", "kind": "weekly", "timezone": "UTC", "start": "2025-12-29T09:00:00Z",
            "members": [people[m].email for m in members]})
        assert r.status_code == 201, r.text
    return people


def ask(client, who, **extra):
    return client.post(SWAPS, json={"schedule": "ops", **FRIDAY, "note": "dentist", **extra}, headers=who.headers)


def test_cover_me_end_to_end(client, team, db):
    rui, sam = team["rui"], team["sam"]
    r = ask(client, rui)
    assert r.status_code == 201, r.text
    swap = r.json()
    assert (swap["state"], swap["requester"]["name"], swap["note"]) == ("open", "Rui", "dentist")
    with db.engine.connect() as conn:  # Sam hears of it by email; Rui does not mail himself
        mails = conn.execute(sa.text("SELECT destination, subject FROM notifications WHERE kind = 'swap'")).all()
    assert [m[0] for m in mails] == [sam.email] and "Cover request: Ops" in mails[0][1]

    listed = client.get(SWAPS, params={"state": "open"}, headers=sam.headers).json()
    assert [x["id"] for x in listed["items"]] == [swap["id"]] and listed["next_cursor"] is None

    r = client.post(f"{SWAPS}/{swap['id']}/offers", json={"note": "happy to"}, headers=sam.headers)
    assert r.status_code == 201, r.text
    offer_id = r.json()["offers"][0]["id"]
    assert client.post(f"{SWAPS}/{swap['id']}/offers", json={}, headers=sam.headers).status_code == 409
    assert client.post(f"{SWAPS}/{swap['id']}/accept", json={"offer_id": offer_id},
                       headers=sam.headers).status_code == 403  # only Rui decides

    r = client.post(f"{SWAPS}/{swap['id']}/accept", json={"offer_id": offer_id}, headers=rui.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["taker"]["name"]) == ("accepted", "Sam")
    shifts = client.get(f"{API}/schedules/ops/shifts", headers=rui.headers,
                        params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-03T00:00:00Z"}).json()["items"]
    assert [(x["user"]["name"], x["start"][11:16], x["end"][11:16], x["source"]) for x in shifts] == [
        ("Rui", "00:00", "09:00", "week"), ("Sam", "09:00", "18:00", "override"), ("Rui", "18:00", "00:00", "week")]
    assert client.post(f"{SWAPS}/{swap['id']}/cancel", headers=rui.headers).status_code == 409
    with db.engine.connect() as conn:
        actions = list(conn.execute(sa.text("SELECT action FROM audit_log WHERE action LIKE 'shift_swap.%' "
                                            "OR action = 'schedule_override.create' ORDER BY seq")).scalars())
    assert actions == ["shift_swap.create", "shift_swap.offer", "schedule_override.create", "shift_swap.accept"]


@pytest.mark.parametrize("who, body, status", [
    pytest.param("vic", {}, 403, id="a-viewer-cannot-ask"),
    pytest.param("sam", {}, 422, id="not-on-call-then"),  # Sam's week starts on Monday
    pytest.param("rui", {"starts_at": "2026-01-01T11:00:00Z"}, 422, id="in-the-past"),
    pytest.param("rui", {"ends_at": "2026-01-02T08:00:00Z"}, 422, id="ends-before-it-starts"),
    pytest.param("rui", {"ends_at": "2026-02-10T00:00:00Z"}, 422, id="longer-than-31-days"),
    pytest.param("rui", {"schedule": "nope"}, 404, id="unknown-schedule"),
    pytest.param("rui", {"starts_at": "friday"}, 422, id="not-a-time"),
])
def test_bad_requests_are_refused(client, team, who, body, status):
    assert ask(client, team[who], **body).status_code == status


def test_who_may_offer_cancel_and_expiry(client, team, clock):
    rui = team["rui"]
    swap = ask(client, rui).json()
    url = f"{SWAPS}/{swap['id']}"
    assert client.post(f"{url}/offers", json={}, headers=team["out"].headers).status_code == 403  # not on ops
    assert client.post(f"{url}/offers", json={}, headers=team["vic"].headers).status_code == 403
    assert client.post(f"{url}/offers", json={}, headers=rui.headers).status_code == 422
    assert client.post(f"{url}/offers", json={}, headers=team["admin"].headers).status_code == 201
    assert client.post(f"{url}/cancel", headers=team["sam"].headers).status_code == 403
    clock.advance(days=1)  # Friday 12:00: the cover has started
    got = client.get(url, headers=rui.headers).json()
    assert got["state"] == "expired"
    offer_id = got["offers"][0]["id"]
    assert client.post(f"{url}/accept", json={"offer_id": offer_id}, headers=rui.headers).status_code == 409
    assert client.get(SWAPS, params={"state": "expired"}, headers=rui.headers).json()["items"][0]["id"] == swap["id"]


def test_cancel(client, team):
    swap = ask(client, team["rui"]).json()
    r = client.post(f"{SWAPS}/{swap['id']}/cancel", headers=team["rui"].headers)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert client.post(f"{SWAPS}/{swap['id']}/offers", json={}, headers=team["sam"].headers).status_code == 409


def test_my_shifts_and_personal_feed(client, team, clock):
    rui = team["rui"]
    mine = client.get(f"{API}/me/shifts", headers=rui.headers,
                      params={"start": "2026-01-01T12:00:00Z", "end": "2026-01-15T00:00:00Z"}).json()["items"]
    # ops: this week and the week after next (Sam has the middle week); db: every week
    assert [(x["schedule"], x["start"][:10], x["end"][:10]) for x in mine] == [
        ("db", "2026-01-01", "2026-01-15"), ("ops", "2026-01-01", "2026-01-05"), ("ops", "2026-01-12", "2026-01-15")]

    r = client.post(f"{API}/me/ical-token", headers=rui.headers)
    assert r.status_code == 200
    url = r.json()["url"]
    feed = client.get(url.replace("http://testserver", ""))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = [e for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert {str(e["summary"]) for e in events} == {"On call: Ops", "On call: Db"}
    assert all("Rui" in str(e["description"]) for e in events)
    # a new URL revokes the old one
    assert client.post(f"{API}/me/ical-token", headers=rui.headers).status_code == 200
    assert client.get(url.replace("http://testserver", "")).status_code == 404
    assert client.get("/ical/users/guess.ics").status_code == 404


def test_a_schedule_a_policy_pages_is_not_deleted(client, team):
    admin = team["admin"].headers
    r = client.post(f"{API}/escalation-policies", headers=admin, json={
        "name": "Default", "levels": [{"delay_minutes": 5, "targets": [{"type": "schedule", "slug": "ops"}]}]})
    assert r.status_code == 201, r.text
    r = client.delete(f"{API}/schedules/ops", headers=admin)
    assert r.status_code == 409 and "Default" in r.json()["error"]["message"]
    assert client.delete(f"{API}/schedules/db", headers=team["rui"].headers).status_code == 403
    assert client.delete(f"{API}/schedules/db", headers=admin).status_code == 204
