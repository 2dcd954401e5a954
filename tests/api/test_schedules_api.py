"""On-call schedules through the API.

What a team lead does: set up a daily rotation of three people in Berlin, ask who is on call
(at the exact handoff, and across the night the clocks go forward), look at the next week, add a
business-hours layer that lower layers show through outside of, let someone cover a shift, and
subscribe to the schedule from a calendar app. Bad input is refused with a clear 422 and writes
nothing; the roles decide who may change what.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

API = "/api/v1"
SCHEDULES = f"{API}/schedules"
TABLES = ("schedules", "schedule_layers", "schedule_layer_members", "schedule_overrides", "audit_log")
# Europe/Berlin moves from CET (+01:00) to CEST (+02:00) at 2026-03-29 02:00 local (01:00 UTC).
START = "2026-03-27T09:00:00+01:00"  # a Friday; the first handoff, to Alice, at 08:00 UTC


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def created(r) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def counts(db) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in TABLES}


def audit_actions(db) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT action FROM audit_log ORDER BY seq")).scalars())


@pytest.fixture
def people(make_person):
    return {"admin": make_person("admin", name="Ada"), "viewer": make_person("viewer", name="Vic"),
            "alice": make_person("responder", name="Alice"), "bob": make_person("responder", name="Bob"),
            "carol": make_person("responder", name="Carol"), "dave": make_person("responder", name="Dave")}


def daily_layer(people, **extra) -> dict:
    body = {"name": "primary", "kind": "daily", "timezone": "Europe/Berlin", "start": START,
            "members": [people["alice"].email, str(people["bob"].id), people["carol"].email]}
    return {**body, **extra}


@pytest.fixture
def schedule(client, people) -> dict:
    """The `ops` schedule: a daily rotation Alice -> Bob -> Carol handing off at 09:00 Berlin time."""
    admin = people["admin"].headers
    created(client.post(SCHEDULES, json={"name": "Ops", "timezone": "Europe/Berlin"}, headers=admin))
    created(client.post(f"{SCHEDULES}/ops/layers", json=daily_layer(people), headers=admin))
    return client.get(f"{SCHEDULES}/ops", headers=admin).json()


def who(client, people, at: str, key: str = "ops"):
    r = client.get(f"{SCHEDULES}/{key}/oncall", params={"at": at}, headers=people["viewer"].headers)
    assert r.status_code == 200, r.text
    shift = r.json()["on_call"]
    return None if shift is None else (shift["user"]["name"], z(shift["start"]), z(shift["end"]), shift["source"])


# --- who is on call ----------------------------------------------------------------------------

@pytest.mark.parametrize("at, name, start, end", [
    pytest.param("2026-03-27T07:59:59Z", None, None, None, id="before-the-rotation-starts"),
    pytest.param("2026-03-27T08:00:00Z", "Alice", "2026-03-27T08:00Z", "2026-03-28T08:00Z", id="first-handoff"),
    pytest.param("2026-03-28T07:59:59Z", "Alice", "2026-03-27T08:00Z", "2026-03-28T08:00Z", id="last-second"),
    pytest.param("2026-03-28T08:00:00Z", "Bob", "2026-03-28T08:00Z", "2026-03-29T07:00Z", id="exact-handoff"),
    # the clocks go forward in Bob's shift: it is 23 real hours, and the handoff stays at 09:00 local
    pytest.param("2026-03-29T01:30:00Z", "Bob", "2026-03-28T08:00Z", "2026-03-29T07:00Z", id="in-the-dst-change"),
    pytest.param("2026-03-29T08:59:59+02:00", "Bob", "2026-03-28T08:00Z", "2026-03-29T07:00Z",
                 id="before-handoff-after-dst"),
    pytest.param("2026-03-29T09:00:00+02:00", "Carol", "2026-03-29T07:00Z", "2026-03-30T07:00Z",
                 id="handoff-after-dst-local-offset"),
    pytest.param("2026-03-30T07:00:00Z", "Alice", "2026-03-30T07:00Z", "2026-03-31T07:00Z", id="round-again"),
])
def test_who_is_on_call(client, people, schedule, at, name, start, end):
    got = who(client, people, at)
    if name is None:
        assert got is None
    else:
        assert got == (name, z(start), z(end), "primary")


def test_on_call_defaults_to_now(client, people, schedule, clock):
    clock.set(z("2026-03-28T12:00:00Z"))
    r = client.get(f"{SCHEDULES}/{schedule['id']}/oncall", headers=people["viewer"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["schedule"], body["schedule_name"], z(body["at"])) == ("ops", "Ops", z("2026-03-28T12:00:00Z"))
    assert body["on_call"]["user"] == {"id": str(people["bob"].id), "name": "Bob", "email": people["bob"].email}


def test_a_week_of_shifts(client, people, schedule):
    r = client.get(f"{SCHEDULES}/ops/shifts", params={"start": "2026-03-27T08:00:00Z", "end": "2026-04-03T08:00:00Z"},
                   headers=people["viewer"].headers)
    assert r.status_code == 200, r.text
    got = [(s["user"]["name"], z(s["start"]), z(s["end"])) for s in r.json()["items"]]
    names = ["Alice", "Bob", "Carol", "Alice", "Bob", "Carol", "Alice", "Bob"]
    bounds = [z("2026-03-27T08:00Z"), z("2026-03-28T08:00Z")] + \
             [z(f"2026-{d}T07:00Z") for d in ("03-29", "03-30", "03-31", "04-01", "04-02", "04-03")] + \
             [z("2026-04-03T08:00Z")]
    assert got == list(zip(names, bounds[:-1], bounds[1:], strict=True))
    assert [s["end"] for s in r.json()["items"]][:-1] == [s["start"] for s in r.json()["items"]][1:]  # nobody dropped or doubled
    assert bounds[2] - bounds[1] == timedelta(hours=23)
    # the range defaults to the next 7 days
    r = client.get(f"{SCHEDULES}/ops/shifts", params={"start": "2026-03-27T08:00:00Z"}, headers=people["viewer"].headers)
    assert [(s["user"]["name"], z(s["start"]), z(s["end"])) for s in r.json()["items"]] == got


def test_a_restricted_layer_wins_inside_its_hours_and_the_rotation_shows_through_outside(client, people, schedule):
    admin = people["admin"].headers
    layer = created(client.post(f"{SCHEDULES}/ops/layers", headers=admin, json={
        "name": "business hours", "kind": "weekly", "timezone": "Europe/Berlin", "start": "2026-03-23T00:00:00+01:00",
        "members": [people["dave"].email],
        "restrictions": [{"days": [5, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]}))
    assert (layer["position"], layer["restrictions"]) == (1, [{"days": [1, 2, 3, 4, 5], "start": "09:00",
                                                              "end": "17:00"}])
    assert [m["name"] for m in layer["members"]] == ["Dave"]
    # Monday 2026-03-30 (CEST): Dave from 09:00 to 17:00 local, Alice's daily shift around it
    assert who(client, people, "2026-03-30T10:00:00+02:00") == (
        "Dave", z("2026-03-30T07:00Z"), z("2026-03-30T15:00Z"), "business hours")
    assert who(client, people, "2026-03-30T17:00:00+02:00") == (
        "Alice", z("2026-03-30T15:00Z"), z("2026-03-31T07:00Z"), "primary")
    # Saturday: nobody in the upper layer, so the rotation shows through all day
    assert who(client, people, "2026-04-04T12:00:00+02:00")[0] == "Carol"
    r = client.get(f"{SCHEDULES}/ops/shifts", headers=admin,
                   params={"start": "2026-03-30T00:00:00+02:00", "end": "2026-03-31T00:00:00+02:00"})
    assert [(s["user"]["name"], s["source"]) for s in r.json()["items"]] == [
        ("Carol", "primary"), ("Dave", "business hours"), ("Alice", "primary")]  # both hand off at 09:00

    # the layer can be changed and removed; the rotation alone remains
    r = client.patch(f"{SCHEDULES}/ops/layers/{layer['id']}", headers=admin,
                     json={"restrictions": [{"days": [1], "start": "22:00", "end": "06:00"}]})
    assert r.status_code == 200, r.text
    assert who(client, people, "2026-03-31T05:00:00+02:00")[0] == "Dave"  # crosses midnight from Monday
    assert who(client, people, "2026-03-30T10:00:00+02:00")[0] == "Alice"
    assert client.delete(f"{SCHEDULES}/ops/layers/{layer['id']}", headers=admin).status_code == 204
    assert who(client, people, "2026-03-31T05:00:00+02:00")[0] == "Alice"
    assert client.delete(f"{SCHEDULES}/ops/layers/{layer['id']}", headers=admin).status_code == 404


def test_overrides(client, db, people, schedule):
    admin, bob, carol = people["admin"].headers, people["bob"].headers, people["carol"].headers
    url = f"{SCHEDULES}/ops/overrides"
    # an admin puts Carol on for two hours of Alice's shift, whoever is on
    cover = created(client.post(url, headers=admin, json={
        "user": people["carol"].email, "starts_at": "2026-03-27T12:00:00Z", "ends_at": "2026-03-27T14:00:00Z"}))
    assert cover["user"]["name"] == "Carol" and cover["replaces"] is None
    assert who(client, people, "2026-03-27T13:00:00Z") == (
        "Carol", z("2026-03-27T12:00Z"), z("2026-03-27T14:00Z"), "override")
    assert who(client, people, "2026-03-27T14:00:00Z")[0] == "Alice"
    # Bob takes Alice's shifts on Monday and Tuesday (himself, no user given) ...
    swap = created(client.post(url, headers=bob, json={
        "starts_at": "2026-03-30T00:00:00Z", "ends_at": "2026-04-01T00:00:00Z", "replaces": people["alice"].email}))
    assert (swap["user"]["name"], swap["replaces"]["name"]) == ("Bob", "Alice")
    assert who(client, people, "2026-03-30T12:00:00Z") == (
        "Bob", z("2026-03-30T07:00Z"), z("2026-03-31T07:00Z"), "override")
    # ... and where Alice is not on call, `replaces` changes nothing (Carol's shift stays hers)
    assert who(client, people, "2026-03-30T05:00:00Z")[0] == "Carol"
    listed = client.get(url, headers=people["viewer"].headers).json()["items"]
    assert [o["id"] for o in listed] == [cover["id"], swap["id"]]

    # responders may override only for themselves; viewers not at all
    before = counts(db)
    r = client.post(url, headers=carol, json={"user": people["bob"].email, "starts_at": "2026-03-27T12:00:00Z",
                                              "ends_at": "2026-03-27T14:00:00Z"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), r.text
    r = client.post(url, headers=people["viewer"].headers,
                    json={"starts_at": "2026-03-27T12:00:00Z", "ends_at": "2026-03-27T14:00:00Z"})
    assert r.status_code == 403, r.text
    # and may delete only their own
    assert client.delete(f"{url}/{cover['id']}", headers=bob).status_code == 403
    assert counts(db) == before
    assert client.delete(f"{url}/{swap['id']}", headers=bob).status_code == 204
    assert client.delete(f"{url}/{cover['id']}", headers=admin).status_code == 204
    assert client.delete(f"{url}/{cover['id']}", headers=admin).status_code == 404
    assert who(client, people, "2026-03-30T12:00:00Z")[0] == "Alice"
    assert [a for a in audit_actions(db) if a.startswith("schedule_override.")] == [
        "schedule_override.create", "schedule_override.create", "schedule_override.delete",
        "schedule_override.delete"]


def test_past_overrides_are_listed_on_request(client, people, schedule, clock):
    url = f"{SCHEDULES}/ops/overrides"
    created(client.post(url, headers=people["alice"].headers,
                        json={"starts_at": "2026-01-01T12:00:00Z", "ends_at": "2026-01-01T13:00:00Z"}))
    clock.advance(hours=2)
    assert client.get(url, headers=people["admin"].headers).json()["items"] == []
    assert len(client.get(url, params={"include_past": "true"}, headers=people["admin"].headers).json()["items"]) == 1


# --- schedules: lifecycle and roles -------------------------------------------------------------

def test_schedule_lifecycle(client, db, people, make_team, schedule):
    admin = people["admin"].headers
    make_team("platform")
    assert schedule["slug"] == "ops" and schedule["ical_feed"] is False and schedule["team"] is None
    assert [m["name"] for m in schedule["layers"][0]["members"]] == ["Alice", "Bob", "Carol"]
    assert [s["slug"] for s in client.get(SCHEDULES, headers=people["viewer"].headers).json()["items"]] == ["ops"]
    r = client.patch(f"{SCHEDULES}/ops", headers=admin, json={"name": "Operations", "team": "platform"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["team"], r.json()["slug"]) == ("Operations", "platform", "ops")
    assert client.get(f"{SCHEDULES}/{schedule['id']}", headers=admin).json() == r.json()
    # members in a new order
    layer_id = schedule["layers"][0]["id"]
    r = client.patch(f"{SCHEDULES}/ops/layers/{layer_id}", headers=admin,
                     json={"members": [people["carol"].email, people["alice"].email]})
    assert [m["name"] for m in r.json()["members"]] == ["Carol", "Alice"]
    assert who(client, people, "2026-03-28T12:00:00Z")[0] == "Alice"
    r = client.post(SCHEDULES, json={"name": "Other", "slug": "ops"}, headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    created(client.post(f"{SCHEDULES}/ops/overrides", headers=admin, json={
        "user": people["bob"].email, "starts_at": "2026-03-27T12:00:00Z", "ends_at": "2026-03-27T14:00:00Z"}))
    assert client.delete(f"{SCHEDULES}/ops", headers=admin).status_code == 204
    assert {t: n for t, n in counts(db).items() if t != "audit_log"} == dict.fromkeys(TABLES[:-1], 0)
    assert client.get(f"{SCHEDULES}/ops", headers=admin).status_code == 404
    assert [a for a in audit_actions(db) if a.startswith("schedule")] == [
        "schedule.create", "schedule_layer.create", "schedule.update", "schedule_layer.update",
        "schedule_override.create", "schedule.delete"]


@pytest.mark.parametrize("role", ["viewer", "alice"])
def test_only_admins_change_schedules(client, db, people, schedule, role):
    me = people[role].headers
    layer_id = schedule["layers"][0]["id"]
    before = counts(db)
    attempts = [
        ("POST", SCHEDULES, {"name": "Mine"}),
        ("PATCH", f"{SCHEDULES}/ops", {"name": "Mine"}),
        ("DELETE", f"{SCHEDULES}/ops", None),
        ("POST", f"{SCHEDULES}/ops/layers", daily_layer(people)),
        ("PATCH", f"{SCHEDULES}/ops/layers/{layer_id}", {"name": "x"}),
        ("DELETE", f"{SCHEDULES}/ops/layers/{layer_id}", None),
        ("POST", f"{SCHEDULES}/ops/ical-token", None),
    ]
    for method, path, body in attempts:
        r = client.request(method, path, json=body, headers=me)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), f"{method} {path}: {r.text}"
    assert counts(db) == before
    assert client.get(f"{SCHEDULES}/ops", headers=me).json() == schedule


# --- bad input: 422, a clear message, nothing written ------------------------------------------

BAD = [
    pytest.param(SCHEDULES, {"name": "Mars", "timezone": "Mars/Olympus_Mons"}, "unknown time zone",
                 id="schedule-unknown-time-zone"),
    pytest.param(SCHEDULES, {"name": "   "}, "name must not be empty", id="schedule-blank-name"),
    pytest.param(SCHEDULES, {"name": "x", "team": "nope"}, "no team", id="schedule-unknown-team"),
    pytest.param("layers", {"timezone": "Europe/Atlantis"}, "unknown time zone", id="layer-unknown-time-zone"),
    pytest.param("layers", {"name": ""}, "name", id="layer-empty-name"),
    pytest.param("layers", {"name": "  "}, "name must not be empty", id="layer-blank-name"),
    pytest.param("layers", {"members": ["nobody@example.test"]}, "no user 'nobody@example.test'",
                 id="layer-unknown-member"),
    pytest.param("layers", {"members": []}, "members", id="layer-no-members"),
    pytest.param("layers", {"start": "2026-03-27T09:00:00"}, "timezone", id="layer-naive-start"),
    pytest.param("layers", {"start": "2046-03-27T09:00:00Z"}, "within 10 years", id="layer-start-far-off"),
    pytest.param("layers", {"kind": "monthly"}, "kind", id="layer-unknown-kind"),
    pytest.param("layers", {"kind": "custom", "shift_hours": 0}, "shift_hours", id="layer-zero-shift"),
    pytest.param("layers", {"restrictions": [{"days": [1], "start": "25:00", "end": "06:00"}]},
                 "restrictions[0].start: '25:00' is not a time of day", id="restriction-hour-25"),
    pytest.param("layers", {"restrictions": [{"days": [1], "start": "9:00", "end": "17:00"}]},
                 "use HH:MM", id="restriction-not-hh-mm"),
    pytest.param("layers", {"restrictions": [{"days": [8], "start": "09:00", "end": "17:00"}]},
                 "days", id="restriction-day-8"),
    pytest.param("layers", {"restrictions": [{"days": [], "start": "09:00", "end": "17:00"}]},
                 "days", id="restriction-no-days"),
    pytest.param("overrides", {"starts_at": "2026-03-27T12:00:00", "ends_at": "2026-03-27T14:00:00Z"},
                 "timezone", id="override-naive"),
    pytest.param("overrides", {"starts_at": "2026-03-27T14:00:00Z", "ends_at": "2026-03-27T12:00:00Z"},
                 "after starts_at", id="override-backwards"),
    pytest.param("overrides", {"starts_at": "2025-12-01T00:00:00Z", "ends_at": "2025-12-02T00:00:00Z"},
                 "already have ended", id="override-in-the-past"),
    pytest.param("overrides", {"starts_at": "2026-03-27T12:00:00Z", "ends_at": "2026-03-27T14:00:00Z",
                               "user": "nobody@example.test"}, "no user", id="override-unknown-user"),
    pytest.param("overrides", {"starts_at": "2026-03-27T12:00:00Z", "ends_at": "2026-03-27T14:00:00Z",
                               "replaces": "admin1@example.test"}, "cannot take their own", id="override-self"),
]


@pytest.mark.parametrize("path, change, message", BAD)
def test_bad_input_is_refused_and_writes_nothing(client, db, people, schedule, path, change, message):
    admin = people["admin"].headers
    if path == "layers":
        path, body = f"{SCHEDULES}/ops/layers", {**daily_layer(people), **change}
    elif path == "overrides":
        path, body = f"{SCHEDULES}/ops/overrides", change
    else:
        body = change
    before = counts(db)
    r = client.post(path, json=body, headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), r.text
    assert message in r.text, r.text
    assert counts(db) == before
    if "layers" in path:  # the same checks apply to a change
        r = client.patch(f"{path}/{schedule['layers'][0]['id']}", json=change, headers=admin)
        assert r.status_code == 422, r.text
        assert counts(db) == before
        assert client.get(f"{SCHEDULES}/ops", headers=admin).json() == schedule


@pytest.mark.parametrize("path, params, message", [
    pytest.param("shifts", {"start": "2026-03-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}, "90 days",
                 id="range-over-90-days"),
    pytest.param("shifts", {"start": "2026-03-01T00:00:00", "end": "2026-03-02T00:00:00Z"}, "timezone",
                 id="naive-start"),
    pytest.param("shifts", {"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "after start",
                 id="backwards"),
    pytest.param("shifts", {"start": "2036-03-01T00:00:00Z"}, "within 10 years", id="far-off-start"),
    pytest.param("oncall", {"at": "2026-03-28T12:00:00"}, "timezone", id="naive-at"),
    pytest.param("oncall", {"at": "9999-12-31T23:59:59Z"}, "within 10 years", id="far-off-at"),
])
def test_bad_queries(client, people, schedule, path, params, message):
    r = client.get(f"{SCHEDULES}/ops/{path}", params=params, headers=people["viewer"].headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), r.text
    assert message in r.text, r.text


def test_unknown_schedule_is_404(client, people):
    for path in ("nope", "nope/oncall", "nope/overrides"):
        r = client.get(f"{SCHEDULES}/{path}", headers=people["viewer"].headers)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.text


# --- the iCalendar feed ------------------------------------------------------------------------

def feed_path(url: str) -> str:
    assert url.startswith("http://testserver/ical/schedules/") and url.endswith(".ics"), url
    return url.removeprefix("http://testserver")


def test_ical_feed(client, db, people, schedule, clock):
    clock.set(z("2026-03-26T12:00:00Z"))
    admin = people["admin"].headers
    r = client.post(f"{SCHEDULES}/ops/ical-token", headers=admin)
    assert r.status_code == 200, r.text
    path = feed_path(r.json()["url"])
    assert client.get(f"{SCHEDULES}/ops", headers=admin).json()["ical_feed"] is True

    first = client.get(path)  # no bearer token: the URL is the credential
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/calendar")
    raw = first.content
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line endings only
    cal = Calendar.from_ical(raw)
    events = cal.walk("VEVENT")
    # from the first handoff (2026-03-27) to at least 60 days from now, one whole shift a day: the window
    # ends on the weekly grid (Monday 2026-06-01 00:00 UTC), and the shift across it is kept whole
    starts = [e.decoded("dtstart") for e in events]
    assert len(events) == 66 and starts[-1] == z("2026-05-31T07:00:00Z")
    assert events[-1].decoded("dtend") == z("2026-06-01T07:00:00Z")
    assert all(s.utcoffset() == timedelta(0) for s in starts)
    assert all(line.endswith(b"Z") for line in raw.split(b"\r\n") if line.startswith((b"DTSTART", b"DTEND")))
    assert starts[0] == z("2026-03-27T08:00:00Z") and events[0].decoded("dtend") == z("2026-03-28T08:00:00Z")
    assert str(events[0]["summary"]) == "On call: Alice (Ops)"
    assert str(events[1]["summary"]) == "On call: Bob (Ops)"
    assert events[1].decoded("dtend") - events[1].decoded("dtstart") == timedelta(hours=23)  # DST night
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids) and all(u.endswith("@tocsin") for u in uids)

    clock.advance(hours=1)
    again = Calendar.from_ical(client.get(path).content).walk("VEVENT")
    assert {str(e["uid"]): e.decoded("dtstart") for e in again} == dict(zip(uids, starts, strict=True))

    unknown = client.get("/ical/schedules/0123456789abcdef0123456789abcdef.ics")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")

    # a new token: the old URL stops working
    r = client.post(f"{SCHEDULES}/ops/ical-token", headers=admin)
    new_path = feed_path(r.json()["url"])
    assert new_path != path
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert audit_actions(db).count("schedule.ical_token_rotate") == 2
    assert r.json()["token"] not in str(client.get("/api/v1/audit", headers=admin).json()["items"])


def _events(client, path: str) -> dict[str, tuple[datetime, datetime, str]]:
    cal = Calendar.from_ical(client.get(path).content)
    return {str(e["uid"]): (e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in cal.walk("VEVENT")}


@pytest.mark.parametrize("later", [timedelta(hours=5), timedelta(days=3), timedelta(days=9)],
                         ids=["5 hours", "3 days", "9 days (the window moved a week)"])
def test_ical_feed_shows_the_same_shifts_on_every_fetch(client, people, schedule, clock, later):
    """A calendar app polls the feed; a shift it saw before must keep its UID and times, or the app shows
    it twice. Shifts cut by the feed's window edges used to get a new start or end on every fetch."""
    clock.set(z("2026-04-20T13:17:00Z"))  # the rotation began weeks ago: the window's first shift is mid-way
    path = feed_path(client.post(f"{SCHEDULES}/ops/ical-token", headers=people["admin"].headers).json()["url"])
    before = _events(client, path)
    clock.advance(seconds=later.total_seconds())
    after = _events(client, path)
    # every shift seen in both fetches has the same UID and times...
    shared = before.keys() & after.keys()
    assert len(shared) >= 50
    assert all(before[u] == after[u] for u in shared)
    # ...and no shift shows twice: between the two fetches' events, two different UIDs never overlap
    union = sorted({**before, **after}.items(), key=lambda kv: kv[1][0])
    for (u1, (_s1, e1, _)), (u2, (s2, _e2, _)) in zip(union, union[1:], strict=False):
        assert e1 <= s2, f"{u1} and {u2} overlap: the same shift twice"
    # every shift is whole: a day long (23 or 25 hours across a clock change), at the 09:00 Berlin hand-over
    for start, end, _ in after.values():
        assert end - start in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))
        assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 9


def test_feed_urls_use_the_public_url(app, client, people, schedule):
    """Behind a reverse proxy the feed URL handed out is under TOCSIN_PUBLIC_URL, not the Host the request came with."""
    app.state.settings.public_url = "https://oncall.example.com/"
    r = client.post(f"{SCHEDULES}/ops/ical-token", headers=people["admin"].headers)
    url = r.json()["url"]
    assert url.startswith("https://oncall.example.com/ical/schedules/") and url.endswith(".ics"), url
    mine = client.post(f"{API}/me/ical-token", headers=people["alice"].headers)
    assert mine.json()["url"].startswith("https://oncall.example.com/ical/users/"), mine.text
    assert client.get(url.removeprefix("https://oncall.example.com")).status_code == 200
