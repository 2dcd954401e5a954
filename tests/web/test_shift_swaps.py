"""Shift swaps and my shifts in the console.

Rui (on call on `ops` this week) asks for cover on Friday from the schedule page; Sam (next on the
rotation) sees the request on /shift-swaps and offers; Rui accepts from /me/shifts, and the week
view shows Sam's override on Friday. People off the schedule and viewers cannot offer; a request
whose start has passed shows as expired and cannot be accepted. /me/shifts lists Rui's shifts and
makes a personal calendar address, shown once.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from tests.harness.console import csrf, post_form

# The clock starts on Thursday 2026-01-01 12:00 UTC; every viewer's zone is UTC.
FRIDAY = {"start": "2026-01-02T09:00", "end": "2026-01-02T18:00"}


@pytest.fixture
def ops(db, clock, system, make_web_user):
    from tocsin.oncall import service as oncall

    crew = {"rui": make_web_user("responder", name="Rui"), "sam": make_web_user("responder", name="Sam"),
            "otto": make_web_user("responder", name="Otto")}
    with db.unit_of_work() as s:
        schedule = oncall.create_schedule(s, actor=system, now=clock.now(), name="Ops", slug="ops")
        oncall.create_layer(s, actor=system, now=clock.now(), schedule=schedule, name="week", kind="weekly",
                            timezone="UTC", start=clock.now().replace(month=1, day=1, year=2026, hour=9) - timedelta(days=3),
                            members=[crew["rui"].email, crew["sam"].email])
    return crew


def ask(c, back="/schedules/ops", **extra):
    return post_form(c, "/shift-swaps", {"schedule": "ops", **FRIDAY, "note": "dentist", "back": back, **extra},
                     page="/shift-swaps")


def swap_id(html: str) -> str:
    return re.search(r'id="swap-([0-9a-f-]{36})"', html).group(1)


def test_cover_me_from_request_to_override(web_client, ops, db):
    rui, sam = web_client(ops["rui"]), web_client(ops["sam"])
    page = rui.get("/schedules/ops").text
    assert 'id="swap-form"' in page and "No open requests." in page
    r = ask(rui)
    assert r.status_code == 303 and r.headers["location"] == "/schedules/ops"
    page = rui.get("/schedules/ops").text
    assert "Rui asks for cover" in page and "dentist" in page and "Offer to cover" not in page  # not to himself
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT destination FROM notifications WHERE kind = 'swap'")).scalars().all() \
            == [ops["sam"].email]

    listing = sam.get("/shift-swaps").text
    sid = swap_id(listing)
    assert "Offer to cover" in listing
    r = post_form(sam, f"/shift-swaps/{sid}/offer", {"note": "sure", "back": "/shift-swaps"}, page="/shift-swaps")
    assert r.status_code == 303
    assert "You have offered." in sam.get("/shift-swaps").text

    mine = rui.get("/me/shifts").text
    assert "Accept Sam’s offer" in mine and "sure" in mine
    offer_id = re.search(r'name="offer_id" value="([0-9a-f-]{36})"', mine).group(1)
    r = post_form(rui, f"/shift-swaps/{sid}/accept", {"offer_id": offer_id, "back": "/me/shifts"}, page="/me/shifts")
    assert r.status_code == 303 and r.headers["location"] == "/me/shifts"
    week = rui.get("/schedules/ops?week=2025-12-29").text
    friday = week[week.index('aria-label="Fri 02 Jan"'):week.index('aria-label="Sat 03 Jan"')]
    assert re.findall(r"<strong>(\w+)</strong><br>([\d:–]+)", friday) == [
        ("Rui", "00:00–09:00"), ("Sam", "09:00–18:00"), ("Rui", "18:00–24:00")]
    assert "override" in friday
    assert "covered by Sam" in rui.get("/shift-swaps").text


def test_who_may_do_what(web_client, ops):
    rui, otto, viewer = web_client(ops["rui"]), web_client(ops["otto"]), web_client("viewer")
    ask(rui)
    sid = swap_id(rui.get("/shift-swaps").text)
    assert "Offer to cover" not in otto.get("/shift-swaps").text
    r = post_form(otto, f"/shift-swaps/{sid}/offer", {}, page="/shift-swaps")
    assert r.status_code == 403 and "only people on Ops" in r.text
    assert post_form(otto, f"/shift-swaps/{sid}/cancel", {}, page="/shift-swaps").status_code == 403
    assert 'id="swap-form"' not in viewer.get("/shift-swaps").text
    assert ask(viewer).status_code == 403
    assert ask(otto).status_code == 422  # Otto has no shifts to give away
    admin = web_client("admin")
    assert post_form(admin, f"/shift-swaps/{sid}/offer", {}, page="/shift-swaps").status_code == 303


@pytest.mark.parametrize("change, status, message", [
    pytest.param({"start": "2026-01-01T09:00"}, 422, "in the future", id="started-already"),
    pytest.param({"end": "2026-01-02T08:00"}, 422, "after", id="ends-before-start"),
    pytest.param({"start": "friday"}, 422, "not a date and time", id="not-a-time"),
    pytest.param({"schedule": "nope"}, 404, "", id="unknown-schedule"),
    pytest.param({"start": "2026-01-06T09:00", "end": "2026-01-06T18:00"}, 422, "not on call", id="sams-week"),
])
def test_bad_requests_get_a_clear_page(web_client, ops, change, status, message):
    r = ask(web_client(ops["rui"]), **change)
    assert r.status_code == status and message in r.text


def test_unknown_ids_and_offers_are_404(web_client, ops):
    rui = web_client(ops["rui"])
    ask(rui)
    sid = swap_id(rui.get("/shift-swaps").text)
    token = csrf(rui, "/shift-swaps")
    assert post_form(rui, "/shift-swaps/not-an-id/cancel", {}, token=token).status_code == 404
    assert post_form(rui, f"/shift-swaps/{sid}/accept", {"offer_id": "x"}, token=token).status_code == 404
    assert post_form(rui, f"/shift-swaps/{sid}/accept", {"offer_id": sid}, token=token).status_code == 404


def test_expired_and_cancelled(web_client, ops, clock):
    rui, sam = web_client(ops["rui"]), web_client(ops["sam"])
    ask(rui)
    ask(rui, start="2026-01-02T19:00", end="2026-01-02T21:00", note="dinner")
    first, second = re.findall(r'id="swap-([0-9a-f-]{36})"', rui.get("/shift-swaps").text)
    post_form(sam, f"/shift-swaps/{first}/offer", {}, page="/shift-swaps")
    r = post_form(rui, f"/shift-swaps/{second}/cancel", {"back": "//evil.example/"}, page="/shift-swaps")
    assert r.status_code == 303 and r.headers["location"] == "/shift-swaps"  # only local paths
    for _ in range(2):  # to Friday 10:00, the first request's time has started (a session idles out in 12 h)
        clock.advance(hours=11)
        rui.get("/me/shifts")
    page = rui.get("/shift-swaps").text
    recent = page[page.index("Recent requests"):]
    assert "No open requests." in page and "expired" in recent and "cancelled" in recent
    offer_id = "00000000-0000-7000-8000-000000000000"
    assert post_form(rui, f"/shift-swaps/{first}/cancel", {}, page="/shift-swaps").status_code == 409
    assert post_form(rui, f"/shift-swaps/{first}/accept", {"offer_id": offer_id},
                     page="/shift-swaps").status_code == 409


def test_my_shifts_and_calendar_address(web_client, ops, client):
    rui = web_client(ops["rui"])
    page = rui.get("/me/shifts").text
    rows = re.findall(r'<th scope="row"><a href="/schedules/ops">Ops</a></th>\s*<td>([^<]+)</td><td>([^<]+)</td>', page)
    assert [(a[:10], b[:10]) for a, b in rows] == [("2026-01-01", "2026-01-05"), ("2026-01-12", "2026-01-19"),
                                                   ("2026-01-26", "2026-01-29")]
    assert 'id="feed-url"' not in page
    r = post_form(rui, "/me/shifts/feed", {}, page="/me/shifts")
    assert r.status_code == 200
    url = re.search(r'id="feed-url">([^<]+)<', r.text).group(1)
    assert re.fullmatch(r"http://testserver/ical/users/[\w-]+\.ics", url)
    feed = client.get(url.removeprefix("http://testserver"))
    assert feed.status_code == 200
    assert {str(e["summary"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")} == {"On call: Ops"}
    again = rui.get("/me/shifts").text
    assert url not in again and "Make a new calendar address" in again  # shown once
    post_form(rui, "/me/shifts/feed", {}, page="/me/shifts")
    assert client.get(url.removeprefix("http://testserver")).status_code == 404  # the new one revokes it
