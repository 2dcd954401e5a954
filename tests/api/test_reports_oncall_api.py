"""On-call load and fairness through the API: GET /api/v1/reports/oncall.

What a team lead does after a hard week: ask how many hours each person was on call, how often
they were paged, how many of those pages came off hours or woke them at night, and how evenly the
schedule spread the load. The week is the one of tests/unit/test_oncall_load.py: a daily Berlin
rotation Alice, Bob, ... handing off at 09:00 local, over the week the clocks go forward (167
hours), with Carol covering six hours of Alice's Wednesday. Carol also holds the `db` schedule
alone all week. Alice lives in New York (EDT, -04:00, since Mar 8), Bob in UTC.

Pages are outbox rows as the engine leaves them (a step per escalation, epoch and person, one
row per channel); the last test pages for real through the escalation and delivery engine.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tocsin.escalation.models import Notification

REPORT = "/api/v1/reports/oncall"
WEEK = {"since": "2026-03-23T08:00:00Z", "until": "2026-03-30T07:00:00Z"}


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def world(client, clock, make_person, make_team):
    clock.set(z("2026-03-20T12:00:00Z"))
    make_team("ops")
    people = {"admin": make_person("admin", name="Ada"), "viewer": make_person("viewer", name="Vic"),
              "alice": make_person("responder", teams=["ops"], name="Alice"),
              "bob": make_person("responder", teams=["ops"], name="Bob"),
              "carol": make_person("responder", name="Carol"),
              "dave": make_person("responder", teams=["ops"], name="Dave")}  # in the team, never on call
    admin = people["admin"].headers
    ok(client.patch(f"/api/v1/users/{people['alice'].email}", json={"time_zone": "America/New_York"}, headers=admin))
    ok(client.post("/api/v1/schedules", json={"name": "Ops", "team": "ops"}, headers=admin), 201)
    ok(client.post("/api/v1/schedules/ops/layers", headers=admin, json={
        "name": "primary", "kind": "daily", "timezone": "Europe/Berlin", "start": "2026-03-23T09:00:00+01:00",
        "members": [people["alice"].email, people["bob"].email]}), 201)
    ok(client.post("/api/v1/schedules/ops/overrides", headers=admin, json={
        "user": people["carol"].email, "replaces": people["alice"].email,
        "starts_at": "2026-03-25T12:00:00Z", "ends_at": "2026-03-25T18:00:00Z"}), 201)
    ok(client.post("/api/v1/schedules", json={"name": "DB"}, headers=admin), 201)
    ok(client.post("/api/v1/schedules/db/layers", headers=admin, json={
        "name": "all", "kind": "weekly", "timezone": "UTC", "start": "2026-03-16T08:00:00Z",
        "members": [people["carol"].email]}), 201)
    clock.set(z("2026-04-01T12:00:00Z"))
    return people


def outbox(db, person, key: str, at: str | None, *, status: str = "sent", kind: str = "page",
           channel: str = "sms") -> None:
    """An outbox row as the engine leaves it; `at` is when it went out (None: never)."""
    sent = z(at) if at else None
    with db.unit_of_work() as s:
        s.add(Notification(id=uuid.uuid4(), user_id=person.id, channel=channel, destination="x", kind=kind,
                           subject="s", body="b", idempotency_key=key, status=status,
                           created_at=sent or z("2026-03-24T00:00:00Z"), send_after=sent or z("2026-03-24T00:00:00Z"),
                           sent_at=sent))


@pytest.fixture
def pages(db, world):
    alice, bob = world["alice"], world["bob"]
    e1, e2, e3, e4 = (uuid.uuid4() for _ in range(4))
    # Mon 23 22:30 EDT, on call: by SMS, and by email a minute later: one page, one night (the 23rd)
    outbox(db, alice, f"{e1}:0:{alice.id}:aaaa", "2026-03-24T02:30:00Z")
    outbox(db, alice, f"{e1}:0:{alice.id}:bbbb", "2026-03-24T02:31:00Z", channel="email")
    # Tue 10:00 EDT, working hours, Bob's day (not on call in ops)
    outbox(db, alice, f"{e2}:0:{alice.id}:aaaa", "2026-03-24T14:00:00Z")
    # Wed 25 23:00 EDT, an Incident Commander page, on call again after Carol's cover ended
    outbox(db, alice, f"{e3}:0:{alice.id}:aaaa", "2026-03-26T03:00:00Z", kind="incident")
    # not pages: never went out, a verification code, before the period
    outbox(db, alice, f"{e3}:1:{alice.id}:aaaa", None, status="failed")
    outbox(db, alice, f"{e3}:2:{alice.id}:aaaa", None, status="queued")
    outbox(db, alice, f"verify:{uuid.uuid4()}", "2026-03-24T03:00:00Z", kind="verify")
    outbox(db, alice, f"{e4}:0:{alice.id}:aaaa", "2026-03-23T07:59:00Z")
    # Sun 06:00 UTC, the last hour of Bob's 23-hour Saturday shift: the night of the 28th
    outbox(db, bob, f"{e4}:0:{bob.id}:aaaa", "2026-03-29T06:00:00Z", status="delivered")
    # Ada is in no schedule (a policy names her directly): Sat 12:00 UTC, weekend daytime
    ada = world["admin"]
    outbox(db, ada, f"{e4}:0:{ada.id}:aaaa", "2026-03-28T12:00:00Z", channel="email")
    return world


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {r["user"]["name"]: {k: v for k, v in r.items() if k != "user"} for r in rows}


def test_the_week_per_person_and_per_schedule(client, pages):
    report = ok(client.get(REPORT, params=WEEK, headers=pages["viewer"].headers))  # a viewer may read it
    assert report["period"] == {"since": "2026-03-23T08:00:00Z", "until": "2026-03-30T07:00:00Z", "hours": 167.0}
    # most hours first; Ada, paged but in no schedule, too; Dave (in the team, never on call or
    # paged) shows only when the team is asked for
    assert [p["user"]["name"] for p in report["people"]] == ["Carol", "Alice", "Bob", "Ada"]
    assert by_name(report["people"]) == {
        "Carol": {"hours_on_call": 173.0, "pages": 0, "off_hours_pages": 0, "nights_interrupted": 0},
        "Alice": {"hours_on_call": 90.0, "pages": 3, "off_hours_pages": 2, "nights_interrupted": 2},
        "Bob": {"hours_on_call": 71.0, "pages": 1, "off_hours_pages": 1, "nights_interrupted": 1},
        "Ada": {"hours_on_call": 0.0, "pages": 1, "off_hours_pages": 1, "nights_interrupted": 0},
    }
    assert report["people"][1]["user"]["email"] == pages["alice"].email

    db_schedule, ops = report["schedules"]
    assert (db_schedule["schedule"], ops["schedule"]) == ("db", "ops")
    assert by_name(db_schedule["members"]) == {"Carol": {"hours_on_call": 167.0, "pages": 0}}
    assert (db_schedule["hours_cv"], db_schedule["hours"]["max_min_ratio"]) == (0.0, 1.0)
    assert by_name(ops["members"]) == {"Alice": {"hours_on_call": 90.0, "pages": 2},
                                       "Bob": {"hours_on_call": 71.0, "pages": 1},
                                       "Carol": {"hours_on_call": 6.0, "pages": 0}}
    assert ops["hours"] == {"min": 6.0, "max": 90.0, "max_min_ratio": 15.0, "cv": 0.646}
    assert ops["pages"] == {"min": 0.0, "max": 2.0, "max_min_ratio": None, "cv": 0.816}
    assert (ops["hours_cv"], ops["pages_cv"]) == (0.646, 0.816)


@pytest.mark.parametrize(("params", "people", "schedules"), [
    ({"schedule": "ops"}, {"Alice": 90.0, "Bob": 71.0, "Carol": 6.0}, ["ops"]),  # Carol's db hours left out
    ({"schedule": "db"}, {"Carol": 167.0}, ["db"]),
    ({"team": "ops"}, {"Alice": 90.0, "Bob": 71.0, "Carol": 6.0, "Dave": 0.0}, ["ops"]),
    ({"team": "ops", "schedule": "db"}, {"Alice": 0.0, "Bob": 0.0, "Dave": 0.0}, []),  # db is not ops's
])
def test_filters(client, pages, params, people, schedules):
    report = ok(client.get(REPORT, params={**WEEK, **params}, headers=pages["viewer"].headers))
    assert {p["user"]["name"]: p["hours_on_call"] for p in report["people"]} == people
    assert [s["schedule"] for s in report["schedules"]] == schedules


def test_a_shorter_period_counts_only_what_falls_in_it(client, pages):
    # Tue 09:00 CET to Wed 09:00 CET: Bob's Tuesday; of Alice's pages only the 10:00 EDT one falls in it
    report = ok(client.get(REPORT, params={"since": "2026-03-24T08:00:00Z", "until": "2026-03-25T08:00:00Z"},
                           headers=pages["viewer"].headers))
    got = by_name(report["people"])
    assert (got["Bob"]["hours_on_call"], got["Alice"]["hours_on_call"], got["Carol"]["hours_on_call"]) == (
        24.0, 0.0, 24.0)
    assert (got["Alice"]["pages"], got["Alice"]["off_hours_pages"]) == (1, 0)


def test_default_period_is_the_last_90_days(client, pages, clock):
    report = ok(client.get(REPORT, headers=pages["viewer"].headers))
    assert report["period"]["until"] == "2026-04-01T12:00:00Z"
    assert z(report["period"]["since"]) == clock.now() - timedelta(days=90)
    assert by_name(report["people"])["Alice"]["pages"] == 4  # the page before the week now counts too


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "last tuesday"}, "since"),
    ({"since": "2026-03-23T08:00:00"}, "since"),  # no offset
    ({"since": "2026-03-30T00:00:00Z", "until": "2026-03-23T00:00:00Z"}, "since"),
    ({"since": "400d"}, "since"),
])
def test_bad_periods_are_422_naming_the_field(client, world, params, field):
    r = client.get(REPORT, params=params, headers=world["viewer"].headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize("params", [{"schedule": "nope"}, {"team": "nope"}, {"schedule": str(uuid.uuid4())}])
def test_unknown_schedule_or_team_is_404(client, world, params):
    r = client.get(REPORT, params=params, headers=world["viewer"].headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.text


def test_pages_sent_by_the_engine_are_counted_once_per_step(client, db, clock, world, make_service):
    # Runbook: Monday 23:00 in New York, Alice is on call in ops → an alert pages her by email →
    # nobody acknowledges, the policy runs again 5 minutes later and pages her again → the report
    # shows two pages, both off hours, in one interrupted night.
    from tests.harness.smtp import SmtpFixture
    from tocsin.config import Settings
    from tocsin.engine.runner import Engine
    from tocsin.escalation.deliver import deliver
    from tocsin.escalation.steps import escalations
    from tocsin.inbound.types import Action, AlertSeverity, Event
    from tocsin.pipeline.ingest import Incoming, ingest

    admin = world["admin"].headers
    service_id = make_service("checkout")
    level = {"delay_minutes": 5, "targets": [{"type": "schedule", "slug": "ops"}]}
    ok(client.post("/api/v1/escalation-policies", headers=admin, json={"name": "Ops", "repeat": 1, "levels": [level]}),
       201)
    ok(client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "ops"}, headers=admin))
    clock.set(z("2026-03-24T03:00:00Z"))
    with SmtpFixture() as smtp:
        engine = Engine(db, clock, settings=Settings(smtp_url=smtp.url, secret_key="x"),
                        modules=[("escalations", escalations), ("deliver", deliver)])
        with db.unit_of_work() as s:
            ev = Event(action=Action.trigger, dedup_key="5xx", summary="Checkout 5xx", severity=AlertSeverity.critical,
                       source="prometheus")
            ingest(s, [Incoming(ev, service_id, None, "events_v2")], now=clock.now())
        for _ in range(3):
            engine.tick()
            clock.advance(minutes=5)
        assert len([m for m in smtp.handler.received if world["alice"].email in m.rcpt_tos]) == 2
    report = ok(client.get(REPORT, params={"since": "2026-03-24T00:00:00Z", "until": "2026-03-25T00:00:00Z"},
                           headers=world["viewer"].headers))
    # her Monday shift runs to Tue 09:00 CET (08:00Z): 8 hours of this day
    assert by_name(report["people"])["Alice"] == {"hours_on_call": 8.0, "pages": 2, "off_hours_pages": 2,
                                                  "nights_interrupted": 1}
