"""Incident metrics checked against hand-computed values.

The fixed data set is built through the services with exact timestamps (the ManualClock is
moved between steps); postmortem, problem link, alert and action item rows are inserted
directly. Every expected figure has its hand computation next to it. Pure edge cases
(percentiles, buckets, the period parser, action item outcomes) follow on plain rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tocsin.actions.models import ActionItem
from tocsin.alerts.models import Alert
from tocsin.audit import service as audit
from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.incidents import roles
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind, ParticipantKind, Role, Status
from tocsin.postmortems.models import Postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.problems.models import Problem, ProblemIncident
from tocsin.reports import incident_metrics as m
from tocsin.reports import service as reports
from tocsin.reports.period import Period, parse_period
from tocsin.services.models import Service
from tocsin.severities import Severity
from tocsin.teams.models import Team
from tocsin.users.models import User
from tocsin.users.service import create_user


def t(text: str) -> datetime:
    """2026-03-02 09:00 -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


MARCH = Period(t("2026-03-01 00:00"), t("2026-04-01 00:00"))
NOW = t("2026-03-20 12:00")  # when the report is taken
SETTINGS = Settings(postmortem_required_severities="SEV1,SEV2", responder_hourly_rate=100.0)


def as_user(user: User) -> Principal:
    return Principal(user_id=user.id, label=user.email, org_role=OrgRole(user.org_role))


@pytest.fixture
def march(db, clock, system, make_team, make_service):
    """The fixed data set (see the module docstring); returns nothing, the database holds it."""
    make_team("payments")
    make_team("platform")
    make_service("checkout", owner_team="payments")
    make_service("db", owner_team="platform")
    make_service("search")
    with db.unit_of_work() as s:
        users = {n: create_user(s, actor=system, now=clock.now(), email=f"{n}@example.test", name=n.title(),
                                org_role=OrgRole.responder) for n in ("alice", "bob", "carol")}
    alice = as_user(users["alice"])

    def step(when: str, fn):
        clock.set(t(when))
        with db.unit_of_work() as s:
            return fn(s, clock.now())

    def declare(actor, **spec):
        def run(s, now):
            return incidents.declare(s, actor=actor, now=now, spec=incidents.Declaration(
                severity_reason="fixed data set", **spec)).id
        return run

    def status(iid, value):  # Alice moves it: MTTA counts a person's acknowledgement, not tocsin's
        def run(s, now):
            inc = s.get(Incident, iid)
            incidents.update_incident(s, incident=inc, actor=alice, now=now, changes={"status": value})
        return run

    # Before the period: not counted.
    step("2026-02-20 10:00", declare(alice, title="February", severity=Severity.SEV2, services=["checkout"]))

    # A: SEV1 on checkout (payments) and db (platform); impact 08:40, detected 08:50, declared
    # (and acknowledged, investigating) 09:00 by Alice, who becomes IC. An alert first seen 08:45
    # was acknowledged 08:55. Bob responds from 09:30. Mitigated 09:50, resolved 10:20.
    a = step("2026-03-02 09:00", declare(
        alice, title="A", severity=Severity.SEV1, services=["checkout", "db"],
        impact={"revenue_at_risk_per_hour": 6000.0},
        impact_started_at=t("2026-03-02 08:40"), detected_at=t("2026-03-02 08:50")))
    step("2026-03-02 09:30", lambda s, now: roles.set_participant(
        s, incident=s.get(Incident, a), user=s.get(User, users["bob"].id),
        kind=ParticipantKind.responder, actor=system, now=now))
    step("2026-03-02 09:50", status(a, "mitigated"))
    step("2026-03-02 10:20", status(a, "resolved"))

    # D: declined; not counted.
    d = step("2026-03-05 10:00", declare(alice, title="D", severity=Severity.SEV4, status=Status.triage))
    step("2026-03-05 10:05", status(d, "declined"))

    # B: SEV2 on checkout, declared 14:00 in triage by the operator (so no IC), detected 13:30.
    # Carol is made IC at 14:10 (10 minutes: late). Investigating (acknowledged) 14:20,
    # resolved 15:00 (which also stamps mitigated). No alert: the first alert is the declaration.
    b = step("2026-03-10 14:00", declare(system, title="B", severity=Severity.SEV2, status=Status.triage,
                                         services=["checkout"], detected_at=t("2026-03-10 13:30")))
    step("2026-03-10 14:10", lambda s, now: roles.assign_role(
        s, incident=s.get(Incident, b), role=Role.incident_commander, user=s.get(User, users["carol"].id),
        actor=system, now=now))
    step("2026-03-10 14:20", status(b, "investigating"))
    step("2026-03-10 15:00", status(b, "resolved"))

    # C: SEV3 on search (no owner team), declared and detected 10:00 by Alice, still open at
    # NOW (12:00), 120 of revenue at risk per hour.
    c = step("2026-03-20 10:00", declare(alice, title="C", severity=Severity.SEV3, services=["search"],
                                         impact={"revenue_at_risk_per_hour": 120.0}))

    clock.set(NOW)
    with db.unit_of_work() as s:
        checkout = s.execute(sa.select(Service).where(Service.slug == "checkout")
                             ).scalar_one()
        s.add(Alert(service_id=checkout.id, incident_id=a, source="events_v2", dedup_key="a", status="resolved",
                    summary="5xx", severity="critical", urgency="high", labels={}, links=[],
                    first_seen_at=t("2026-03-02 08:45"), last_seen_at=t("2026-03-02 08:45"),
                    acknowledged_at=t("2026-03-02 08:55")))
        s.flush()
        # Bob acknowledged it (the audit log is where MTTA learns that a person did)
        alert_id = s.execute(sa.select(Alert.id).where(Alert.incident_id == a)).scalar_one()
        audit.record(s, actor=as_user(users["bob"]), action="alert.acknowledge", target_type="alert",
                     target_id=alert_id, now=t("2026-03-02 08:55"))
        s.add(Postmortem(incident_id=a, title="A", status="published", body="", created_at=NOW, updated_at=NOW,
                         published_at=t("2026-03-04 10:20")))  # 48 h after resolution
        s.add(Postmortem(incident_id=b, title="B", status="draft", body="", created_at=NOW, updated_at=NOW))
        known = Problem(number=1, title="pool exhaustion", status="open", created_at=t("2026-01-01 00:00"),
                        updated_at=NOW)
        s.add(known)
        s.flush()
        s.add(ProblemIncident(problem_id=known.id, incident_id=a, recurrence=True, linked_at=NOW))
        s.add(ProblemIncident(problem_id=known.id, incident_id=c, recurrence=False, linked_at=NOW))

        teams = {tm.slug: tm.id for tm in s.execute(sa.select(Team)).scalars()}
        items = [  # (status, due, completed, team)
            ("done", "2026-03-10 00:00", "2026-03-09 12:00", "payments"),  # on time
            ("done", "2026-03-12 00:00", "2026-03-14 12:00", "payments"),  # late
            ("open", "2026-03-15 00:00", None, "platform"),  # overdue at NOW
            ("in_progress", "2026-03-25 00:00", None, "platform"),  # not due yet
            ("wont_do", "2026-03-18 00:00", "2026-03-17 00:00", None),  # won't do
            ("open", "2026-02-10 00:00", None, "payments"),  # due before March, overdue now: counts
            ("done", "2026-02-10 00:00", "2026-02-09 00:00", "payments"),  # due before March, done: left out
            ("open", None, None, "payments"),  # no due date: left out
        ]
        for n, (st, due, done, team) in enumerate(items, start=1):
            s.add(ActionItem(number=n, title=f"item {n}", type="prevent", priority="high", status=st,
                             team_id=teams[team] if team else None, due_at=t(due) if due else None,
                             completed_at=t(done) if done else None, created_at=NOW, updated_at=NOW))


def report(db, system, **kwargs):
    flt = reports.ReportFilter(**{k: v for k, v in kwargs.items() if k != "group_by"})
    with db.unit_of_work() as s:
        return reports.incident_report(s, principal=system, now=NOW, period=MARCH, flt=flt,
                                       group_by=kwargs.get("group_by", m.GroupBy.none), settings=SETTINGS)


def stats(count, mean, median, p90):
    return {"count": count, "mean_seconds": mean, "median_seconds": median, "p90_seconds": p90}


def test_overall_metrics_match_the_hand_computation(db, system, march):
    o = report(db, system)["overall"]
    assert o["incidents"] == 3  # A, B, C; February and the declined D are left out
    # MTTD: only A has an impact start: 08:40 -> 08:50 = 600 s
    assert o["mttd"] == stats(1, 600.0, 600.0, 600.0)
    # MTTA: A alert 08:45 -> alert ack 08:55 (before the incident's 09:00) = 600; B declared 14:00
    # -> investigating 14:20 = 1200; C declared and acknowledged at 10:00 = 0.
    # Sorted [0, 600, 1200]: mean 600, median 600, p90 at rank 0.9 * 2 = 1.8: 600 + 0.8 * 600 = 1080
    assert o["mtta"] == stats(3, 600.0, 600.0, pytest.approx(1080.0))
    # MTTM: A 08:50 -> 09:50 = 3600; B 13:30 -> 15:00 = 5400; p90 = 3600 + 0.9 * 1800 = 5220
    assert o["mttm"] == stats(2, 4500.0, 4500.0, pytest.approx(5220.0))
    # MTTR: A 08:50 -> 10:20 = 5400; B 13:30 -> 15:00 = 5400
    assert o["mttr"] == stats(2, 5400.0, 5400.0, 5400.0)
    # IC: A and C at declaration (0 min), B after 10 min: 2 of 3
    assert o["ic_within_5_min"] == {"count": 2, "of": 3, "percent": pytest.approx(200 / 3)}
    # Postmortems required for SEV1 A and SEV2 B; A's published 48 h after resolution
    assert o["postmortems"] == {"required": 2, "published": 1, "completion_percent": 50.0,
                                "time_to_publish": stats(1, 172800.0, 172800.0, 172800.0)}
    # Recurrence: A is linked to the known problem as a recurrence; C's link is not one
    assert o["recurrence"] == {"count": 1, "percent": pytest.approx(100 / 3)}
    # Responder hours: A Alice 09:00-10:20 (80 min) + Bob 09:30-10:20 (50) ; B Carol 14:10-15:00 (50);
    # C Alice 10:00-NOW 12:00 (120): 300 min = 5 h x 100 = 500.
    # Revenue at risk: A 6000/h x 08:40-09:50 (70 min) = 7000; C 120/h x 10:00-12:00 = 240.
    assert o["cost"] == {"responder_hours": pytest.approx(5.0), "hourly_rate": 100.0,
                         "responder_cost": pytest.approx(500.0), "revenue_at_risk": pytest.approx(7240.0),
                         "total": pytest.approx(7740.0)}
    assert o["time_to_first_status_update"]["value"] is None
    assert o["time_to_first_status_update"]["note"] == "no incident in this set had a public status-page update"
    # Action items: on time 1, late 1, overdue 2 (March's and February's), not due 1, won't do 1;
    # rate 1 / (1 + 1 + 2) = 25 %
    assert o["action_items"] == {"done_on_time": 1, "done_late": 1, "open_overdue": 2, "open_not_due": 1,
                                 "wont_do": 1, "total": 6, "completion_rate_percent": 25.0}


def test_groups_by_team_count_an_incident_in_each_owner_team(db, system, march):
    groups = {g["key"]: g["metrics"] for g in report(db, system, group_by=m.GroupBy.team)["groups"]}
    assert list(groups) == ["(none)", "payments", "platform"]
    assert {k: g["incidents"] for k, g in groups.items()} == {"(none)": 1, "payments": 2, "platform": 1}
    # payments: A (80 + 50 min, 7000) and B (50 min): 3 h x 100 + 7000 = 7300
    assert groups["payments"]["cost"]["total"] == pytest.approx(7300.0)
    # payments MTTA: A 600, B 1200 -> mean 900
    assert groups["payments"]["mtta"]["mean_seconds"] == 900.0
    assert groups["(none)"]["postmortems"]["required"] == 0
    assert groups["(none)"]["postmortems"]["completion_percent"] is None


@pytest.mark.parametrize("group_by, want", [
    (m.GroupBy.severity, {"SEV1": 1, "SEV2": 1, "SEV3": 1}),
    (m.GroupBy.service, {"checkout": 2, "db": 1, "search": 1}),
    (m.GroupBy.kind, {"operational": 3}),
    (m.GroupBy.month, {"2026-03": 3}),
    # weeks from the Monday before March 1 to the last one before April 1, empty ones included
    (m.GroupBy.week, {"2026-02-23": 0, "2026-03-02": 1, "2026-03-09": 1, "2026-03-16": 1, "2026-03-23": 0,
                      "2026-03-30": 0}),
])
def test_other_groupings(db, system, march, group_by, want):
    got = report(db, system, group_by=group_by)["groups"]
    assert {g["key"]: g["metrics"]["incidents"] for g in got} == want


@pytest.mark.parametrize("flt, refs", [
    ({"team": "payments"}, {"A", "B"}),
    ({"team": "platform"}, {"A"}),
    ({"service": "search"}, {"C"}),
    ({"severity": [Severity.SEV1, Severity.SEV3]}, {"A", "C"}),
    ({"kind": Kind.security}, set()),
])
def test_filters(db, system, march, flt, refs):
    with db.unit_of_work() as s:
        rows = reports.load_incident_rows(s, principal=system, period=MARCH, flt=reports.ReportFilter(**flt))
    names = {"INC-2": "A", "INC-4": "B", "INC-5": "C"}  # INC-1 is February's, INC-3 the declined D
    assert {names[r.ref] for r in rows} == refs


def test_action_items_by_team(db, system, march):
    with db.unit_of_work() as s:
        got = reports.action_item_report(s, principal=system, now=NOW, period=MARCH, team=None)
    by_team = {x["team"]: (x["done_on_time"], x["done_late"], x["open_overdue"], x["open_not_due"], x["wont_do"],
                           x["completion_rate_percent"]) for x in got["teams"]}
    assert by_team == {
        "(none)": (0, 0, 0, 0, 1, None),  # nothing judged: no rate rather than 0 %
        "payments": (1, 1, 1, 0, 0, pytest.approx(100 / 3)),
        "platform": (0, 0, 1, 1, 0, 0.0),
    }


# --- pure edge cases -------------------------------------------------------------------------------

@pytest.mark.parametrize("values, want", [
    ([], (0, None, None, None)),
    ([60.0], (1, 60.0, 60.0, 60.0)),
    ([10.0, 20.0, 30.0, 40.0, 1000.0], (5, 220.0, 30.0, 616.0)),  # p90 rank 3.6: 40 + 0.6 * 960
])
def test_duration_stats(values, want):
    got = m.duration_stats(values)
    assert (got.count, got.mean_seconds, got.median_seconds) == want[:3]
    assert got.p90_seconds == (pytest.approx(want[3]) if want[3] is not None else None)


def row(**kw):
    base = {"ref": "INC-1", "kind": "operational", "severity": "SEV3", "declared_at": t("2026-03-02 10:00"),
            "detected_at": t("2026-03-02 10:00")}
    return m.IncidentRow(**{**base, **kw})


def test_a_back_dated_field_counts_as_zero_not_negative():
    r = row(impact_started_at=t("2026-03-02 10:30"))  # impact "started" after detection
    got = m.incident_metrics([r], now=NOW, required_severities=frozenset(), hourly_rate=0)
    assert got["mttd"]["mean_seconds"] == 0.0


def test_ic_exactly_at_five_minutes_counts_and_never_assigned_does_not():
    rows = [row(first_ic_at=t("2026-03-02 10:05")), row(first_ic_at=t("2026-03-02 10:05:01")), row()]
    got = m.incident_metrics(rows, now=NOW, required_severities=frozenset(), hourly_rate=0)
    assert got["ic_within_5_min"]["count"] == 1 and got["ic_within_5_min"]["of"] == 3


@pytest.mark.parametrize("status, due, done, want", [
    ("done", "2026-03-10 00:00", "2026-03-10 00:00", "done_on_time"),  # on the due instant is on time
    ("done", "2026-03-10 00:00", "2026-03-10 00:01", "done_late"),
    ("open", "2026-03-20 11:59", None, "open_overdue"),
    ("in_progress", "2026-03-20 12:00", None, "open_not_due"),  # due now is not overdue yet
    ("wont_do", "2026-03-01 00:00", None, "wont_do"),
    ("open", None, None, None),
])
def test_action_outcome(status, due, done, want):
    r = m.ActionRow(status=status, due_at=t(due) if due else None, completed_at=t(done) if done else None)
    assert m.action_outcome(r, NOW) == want


def test_month_buckets_cross_the_year():
    assert m.buckets(t("2025-11-15 00:00"), t("2026-02-01 00:00"), m.GroupBy.month) == [
        "2025-11", "2025-12", "2026-01"]


@pytest.mark.parametrize("since, until, want", [
    ("90d", None, (NOW - timedelta(days=90), NOW)),
    ("12w", "24h", (NOW - timedelta(weeks=12), NOW - timedelta(hours=24))),
    ("2026-03-01T00:00:00Z", "2026-03-01T02:00:00+01:00", (t("2026-03-01 00:00"), t("2026-03-01 01:00"))),
    (None, None, (NOW - timedelta(days=90), NOW)),
])
def test_period_parsing(since, until, want):
    p = parse_period(since, until, now=NOW)
    assert (p.since, p.until) == want


@pytest.mark.parametrize("since, until, field", [
    ("90x", None, "since"),
    ("2026-03-01T00:00:00", None, "since"),  # no offset
    ("yesterday", None, "since"),
    ("1d", "2d", "since"),  # since after until
    ("999999w", None, "since"),
    ("30d", "soon", "until"),
    ("0001-01-01T00:00:00+05:00", None, "since"),
    ("9999-12-01T00:00:00Z", "9999-12-31T00:00:00Z", "since"),  # far future: buckets would overflow
    ("30d", "2040-01-01T00:00:00Z", "until"),
])
def test_bad_periods_are_refused_naming_the_field(since, until, field):
    with pytest.raises(InvalidInput) as err:
        parse_period(since, until, now=NOW)
    assert err.value.details["field"] == field


def test_the_page_escapes_names_in_tables_and_charts():
    from tocsin.reports.page import render_page

    evil = "<img src=x onerror=alert(1)> $x$"
    o = m.incident_metrics([], now=NOW, required_severities=frozenset(), hourly_rate=1.0)
    o["action_items"] = m.action_item_metrics([], now=NOW)
    team = {"team": evil, **m.action_item_metrics([m.ActionRow("open", t("2026-03-01 00:00"))], now=NOW)}
    html = render_page(report={"period": MARCH.as_dict(), "filters": {"team": evil}, "group_by": "team",
                               "overall": o, "groups": [{"key": evil, "metrics": o}]},
                       action_items={"teams": [team]}, trends=[], generated_at=NOW)
    assert "<img" not in html
    # once in the filter line, the group table, the action item table, the chart's axis label and
    # the table of the chart's values
    assert html.count("&lt;img src=x onerror=alert(1)&gt; $x$") == 5


def test_trend_metrics_keep_their_str_methods() -> None:
    # A member named `count` (the API value) once hid str.count on every member.
    assert m.TrendMetric("count") is m.TrendMetric.incidents
    assert m.TrendMetric.mtta.count("t") == 2
    assert not [metric.name for metric in m.TrendMetric if hasattr(str, metric.name)]
