"""Reports through the API: what a manager asks (how fast do we respond, is it getting better),
what a viewer may see (need-to-know holds in every figure) and what bad queries get."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from tests.harness.incidents import declare
from tocsin.actions.models import ActionItem

INC = "/api/v1/incidents"
REP = "/api/v1/reports"


@pytest.fixture
def people(make_person, make_team, make_service):
    make_team("payments")
    make_service("checkout", owner_team="payments")
    return {"bob": make_person("responder", teams=["payments"], name="Bob"),
            "vera": make_person("viewer", name="Vera"),
            "admin": make_person("admin", name="Ada")}


def move(client, who, ref, status):
    r = client.patch(f"{INC}/{ref}", json={"status": status}, headers=who.headers)
    assert r.status_code == 200, r.text


def get(client, who, path, **params):
    r = client.get(path, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r


def add_action_item(db, clock, *, incident_id=None, status="open", due_in=timedelta(days=-1), team_id=None):
    with db.unit_of_work() as s:
        number = 1 + len(s.query(ActionItem).all())
        s.add(ActionItem(number=number, title=f"item {number}", type="prevent", priority="high", status=status,
                         incident_id=uuid.UUID(incident_id) if incident_id else None, team_id=team_id,
                         due_at=clock.now() + due_in, created_at=clock.now(), updated_at=clock.now()))


def test_a_manager_sees_response_times_per_week_and_whether_they_improve(client, people, clock):
    # Runbook: two incidents a week apart, the second handled faster → the report shows both,
    # medians next to means, and a chart of MTTR per week.
    bob, vera = people["bob"], people["vera"]
    first = declare(client, bob, severity="SEV1", services=["checkout"], status="triage",
                    severity_reason="drill")
    clock.advance(minutes=10)
    move(client, bob, first["ref"], "investigating")  # acknowledged after 10 min
    clock.advance(minutes=50)
    move(client, bob, first["ref"], "resolved")  # resolved 60 min after detection
    clock.advance(days=7)
    second = declare(client, bob, severity="SEV3", services=["checkout"], status="triage")
    clock.advance(minutes=2)
    move(client, bob, second["ref"], "investigating")
    clock.advance(minutes=18)
    move(client, bob, second["ref"], "resolved")  # 20 min

    rep = get(client, vera, f"{REP}/incidents", since="30d", group_by="severity").json()
    o = rep["overall"]
    assert o["incidents"] == 2
    assert o["mtta"]["mean_seconds"] == 360.0 and o["mtta"]["median_seconds"] == 360.0  # (600 + 120) / 2
    assert o["mttr"] == {"count": 2, "mean_seconds": 2400.0, "median_seconds": 2400.0,
                         "p90_seconds": pytest.approx(3360.0)}  # 1200 + 0.9 * 2400
    assert o["postmortems"]["required"] == 1 and o["postmortems"]["published"] == 0  # the SEV1
    assert {g["key"]: g["metrics"]["incidents"] for g in rep["groups"]} == {"SEV1": 1, "SEV3": 1}
    assert rep["period"]["until"] == clock.now().isoformat()
    assert o["time_to_first_status_update"] == {"value": None, "note": o["time_to_first_status_update"]["note"]}

    weekly = get(client, vera, f"{REP}/incidents", since="21d", group_by="week").json()["groups"]
    mttr = [g["metrics"]["mttr"]["median_seconds"] for g in weekly if g["metrics"]["incidents"]]
    assert mttr == [3600.0, 1200.0], "response got faster"
    assert len(weekly) in (3, 4) and sum(g["metrics"]["incidents"] for g in weekly) == 2

    svg = get(client, vera, f"{REP}/incidents/chart.svg", since="21d", metric="mttr")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"MTTR per week" in svg.content
    png = get(client, vera, f"{REP}/incidents/chart.png", since="90d", metric="count", by="month")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_reports_page_is_one_self_contained_html_document(client, people, clock, db):
    bob = people["bob"]
    declare(client, bob, severity="SEV2", services=["checkout"])
    add_action_item(db, clock, status="open", due_in=timedelta(days=-2))
    clock.advance(minutes=1)  # the period is [since, until): until is now, after the declaration
    r = get(client, people["vera"], f"{REP}/page", since="30d")
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    html = r.text
    assert html.count("<svg") == 4  # incidents by severity, MTTA, MTTR, action items by team
    assert "Incidents per week by severity" in html and "Action items done on time, by team" in html
    assert re.search(r"<th>Incidents</th><td class=\"num\">1</td>", html)
    assert "payments" in html  # the group table, by owner team
    # nothing to load: no script, and no reference other than to a fragment of the page itself
    assert "<script" not in html.lower() and not re.search(r"(src|href)\s*=\s*[\"'](?!#)", html, re.I)
    assert re.search(r"href=\"#", html), "the charts' internal references are what the pattern sees"
    assert "no incident in this set had a public status-page update" in html


def test_need_to_know_holds_in_every_figure(client, people, clock, db, make_person):
    bob, vera, admin = people["bob"], people["vera"], people["admin"]
    declare(client, bob, title="Public", severity="SEV3")
    secret = declare(client, bob, title="Zebra breach", severity="SEV1", kind="security", severity_reason="x")
    assert secret["restricted"]
    add_action_item(db, clock, incident_id=secret["id"])
    add_action_item(db, clock)  # on no incident: everyone sees it
    clock.advance(minutes=1)

    for who, incidents, items in ((vera, 1, 1), (admin, 2, 2), (bob, 2, 2)):  # bob is a participant (the IC)
        o = get(client, who, f"{REP}/incidents").json()["overall"]
        assert (o["incidents"], o["action_items"]["total"]) == (incidents, items), who.name
        assert get(client, who, f"{REP}/action-items").json()["overall"]["open_overdue"] == items
    assert get(client, vera, f"{REP}/incidents", severity="SEV1").json()["overall"]["incidents"] == 0
    for who, incidents in ((vera, 1), (admin, 2)):
        page = get(client, who, f"{REP}/page").text
        assert f'<tr><th>Incidents</th><td class="num">{incidents}</td>' in page, who.name
    assert get(client, admin, f"{REP}/incidents", kind="security").json()["overall"]["incidents"] == 1


def test_action_items_report_by_team(client, people, clock, db, make_team):
    ops = make_team("ops")
    add_action_item(db, clock, status="done", due_in=timedelta(days=-3), team_id=ops)  # no completed_at: late
    add_action_item(db, clock, status="open", due_in=timedelta(days=5), team_id=ops)
    add_action_item(db, clock, status="open", due_in=timedelta(days=-1))
    rep = get(client, people["vera"], f"{REP}/action-items", since="30d").json()
    assert rep["overall"]["total"] == 2  # the one due in 5 days lies beyond the period (until = now)
    only_ops = get(client, people["vera"], f"{REP}/action-items", team="ops", since="30d",
                   until=(clock.now() + timedelta(days=10)).isoformat()).json()
    assert [(t["team"], t["done_late"], t["open_not_due"], t["completion_rate_percent"])
            for t in only_ops["teams"]] == [("ops", 1, 1, 0.0)]


@pytest.mark.parametrize("path, params, status, field", [
    ("/incidents", {"since": "ninety days"}, 422, "since"),
    ("/incidents", {"since": "2026-01-01T00:00:00"}, 422, "since"),  # no offset
    ("/incidents", {"since": "1d", "until": "7d"}, 422, "since"),  # ends before it starts
    ("/incidents", {"until": "tomorrow"}, 422, "until"),
    ("/incidents", {"severity": "SEV9"}, 422, "severity"),
    ("/incidents", {"group_by": "planet"}, 422, "group_by"),
    ("/incidents/chart.svg", {"metric": "happiness"}, 422, "metric"),
    ("/incidents/chart.png", {"by": "team"}, 422, "by"),
    ("/action-items", {"since": "-5d"}, 422, "since"),
    ("/page", {"since": "0001-01-01T00:00:00+05:00"}, 422, "since"),
    # weekly and monthly buckets would step past year 9999
    ("/incidents/chart.svg", {"since": "9999-12-01T00:00:00Z", "until": "9999-12-31T00:00:00Z"}, 422, "since"),
    ("/incidents", {"since": "9999-11-01T00:00:00Z", "until": "9999-12-31T00:00:00Z", "group_by": "month"},
     422, "since"),
])
def test_bad_queries_get_a_clear_4xx(client, people, path, params, status, field):
    r = client.get(REP + path, params=params, headers=people["vera"].headers)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert field in (err["details"].get("field"), *map(str, err["details"].values())) or field in err["message"], err


@pytest.mark.parametrize("params", [{"team": "nope"}, {"service": "nope"}])
def test_unknown_team_or_service_is_a_404(client, people, params):
    r = client.get(f"{REP}/incidents", params=params, headers=people["vera"].headers)
    assert r.status_code == 404 and "nope" in r.json()["error"]["message"]


def test_reports_need_a_token(client):
    for path in ("/incidents", "/action-items", "/incidents/chart.svg", "/incidents/chart.png", "/page"):
        assert client.get(REP + path).status_code == 401


def test_empty_period_gives_zeros_and_nulls_not_errors(client, people):
    o = get(client, people["vera"], f"{REP}/incidents").json()["overall"]
    assert o["incidents"] == 0 and o["mtta"]["mean_seconds"] is None and o["ic_within_5_min"]["percent"] is None
    assert get(client, people["vera"], f"{REP}/incidents/chart.svg", metric="mtta").content.count(b"<svg") == 1



def test_guardrails_tripped_are_counted_per_rule_without_drills_and_with_need_to_know(client, people, clock, db):
    from tocsin.guardrails.models import GuardrailTrip
    from tocsin.incidents.models import Incident

    bob, vera, admin = people["bob"], people["vera"], people["admin"]
    public = declare(client, bob, title="Public", severity="SEV3")
    secret = declare(client, bob, title="Zebra breach", severity="SEV1", kind="security", severity_reason="x")
    drill = declare(client, bob, title="Game day", severity="SEV2")
    with db.unit_of_work() as s:
        s.get(Incident, uuid.UUID(drill["id"])).drill = True
        for inc, rule in ((public, "no_scribe"), (public, "sprawl"), (secret, "no_scribe"), (drill, "no_scribe")):
            s.add(GuardrailTrip(incident_id=uuid.UUID(inc["id"]), rule=rule, tripped_at=clock.now(), detail="x"))
    clock.advance(minutes=1)

    for who, scribe in ((vera, 1), (admin, 2)):
        counts = {g["rule"]: g["count"] for g in get(client, who, f"{REP}/incidents").json()["guardrails"]}
        assert (counts["no_scribe"], counts["sprawl"], counts["no_commander"]) == (scribe, 1, 0), who.name
    page = get(client, vera, f"{REP}/page").text
    assert '<tr><td>No scribe</td><td class="num">1</td></tr>' in page
    assert "Zebra" not in page and "Game day" not in page
