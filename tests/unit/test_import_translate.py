"""Translation of Grafana OnCall and PagerDuty setups into configcode documents (no database, no HTTP):
restriction windows, group splitting, priority levels, escalation steps, the unmapped report, and who is
on call across a DST change, checked against the stand-ins' own independent final schedules."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.interop import oncall_standin, pagerduty_standin
from tocsin.importers import grafana_oncall, pagerduty
from tocsin.importers.common import ImportPlan, TimelineEntry, on_call_in_timeline, sample_instants
from tocsin.importers.weekly import to_resolve_layers, weekly_restrictions
from tocsin.oncall import resolve

# Mid-March: the next 30 days cross Europe's (28 March 2027) and the US's (14 March 2027) DST changes
OC_NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
PD_NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def oncall_data(now: datetime = OC_NOW, **changes: Any) -> grafana_oncall.OnCallData:
    seed = copy.deepcopy(oncall_standin.seed(now))
    for key, value in changes.items():
        seed[key] = value
    return grafana_oncall.OnCallData(
        users=seed["users"], teams=seed["teams"], schedules=seed["schedules"],
        shifts={s["id"]: [x for x in seed["on_call_shifts"] if x["id"] in s.get("shifts", [])]
                for s in seed["schedules"]},
        chains=seed["escalation_chains"], policies=seed["escalation_policies"], integrations=seed["integrations"],
        routes=seed["routes"])


def pd_data(now: datetime = PD_NOW) -> pagerduty.PagerDutyData:
    seed = copy.deepcopy(pagerduty_standin.seed(now))
    return pagerduty.PagerDutyData(
        users=seed["users"], contact_methods=seed["contact_methods"], teams=seed["teams"], members=seed["members"],
        schedules=seed["schedules"], overrides=seed["overrides"], escalation_policies=seed["escalation_policies"],
        services=seed["services"], maintenance_windows=seed["maintenance_windows"])


def tocsin_people(plan: ImportPlan, slugs: list[str], at: datetime) -> frozenset[str]:
    """Who the document's schedules put on call at `at`, resolved by tocsin's own on-call rules."""
    docs = {s["slug"]: s for s in plan.document["schedules"]}
    people = set()
    for slug in slugs:
        overrides = [resolve.Override(o["user"], datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]))
                     for o in docs[slug].get("overrides", [])]
        shift = resolve.on_call_at(to_resolve_layers(docs[slug]["layers"]), overrides, at)
        if shift is not None:
            people.add(shift.user)
    return frozenset(people)


def disagreements(plan: ImportPlan, timelines: dict[str, list[TimelineEntry]], now: datetime) -> list[datetime]:
    return [at for source, slugs in plan.schedules.items() for at in sample_instants(now)
            if on_call_in_timeline(timelines[source], at) != tocsin_people(plan, slugs, at)]


def oncall_timeline(now: datetime, data: grafana_oncall.OnCallData) -> dict[str, list[TimelineEntry]]:
    emails = {u["id"]: u["email"] for u in data.users}
    rows = oncall_standin.final_shifts(data.shifts["SPAYMENTS"], emails, now.date(), (now + timedelta(days=31)).date())
    return {"grafana-oncall:schedule:SPAYMENTS": [
        TimelineEntry(r["user_email"], datetime.fromisoformat(r["shift_start"]), datetime.fromisoformat(r["shift_end"]))
        for r in rows]}


# --- restriction windows -----------------------------------------------------------------------

def test_weekly_windows_become_restrictions_crossing_midnight_and_days() -> None:
    day = 86400
    # weekdays 09:00-17:00
    assert weekly_restrictions([(d * day + 9 * 3600, 8 * 3600) for d in range(5)]) == [
        {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}]
    # every night 20:00 to 08:00: one window crossing midnight
    assert weekly_restrictions([(d * day + 20 * 3600, 12 * 3600) for d in range(7)]) == [
        {"days": [1, 2, 3, 4, 5, 6, 7], "start": "20:00", "end": "08:00"}]
    # the weekend, Friday 18:00 to Monday 09:00: cut into days (full days are 00:00-00:00)
    assert weekly_restrictions([(4 * day + 18 * 3600, 2 * day + 15 * 3600)]) == [
        {"days": [6, 7], "start": "00:00", "end": "00:00"},
        {"days": [1], "start": "00:00", "end": "09:00"},
        {"days": [5], "start": "18:00", "end": "00:00"}]
    assert weekly_restrictions([(0, 7 * day)]) == []  # always on: no restriction
    assert weekly_restrictions([(d * day, day) for d in range(7)]) == []
    assert weekly_restrictions([(9 * 3600 + 30, 3600)]) is None  # not on a whole minute


# --- Grafana OnCall ----------------------------------------------------------------------------

def test_oncall_groups_split_into_schedules_ordered_by_level_and_escalations_target_all() -> None:
    plan = grafana_oncall.translate(oncall_data(), now=OC_NOW)
    assert plan.schedules == {"grafana-oncall:schedule:SPAYMENTS": ["payments-primary", "payments-primary-2"]}
    first, second = plan.document["schedules"]
    # level 0 (weekly) first, level 1 (weekday daytime) last: the later tocsin layer wins, as the higher level does
    assert [la["name"] for la in first["layers"]] == ["Weekly 24x7", "Weekday daytime"]
    assert first["layers"][0]["members"] == ["alice@example.com", "bob@example.com", "carol@example.com"]
    # pairs [dave, erin], [frank, grace]: the first of each pair on the first schedule, the second on the other
    assert first["layers"][1]["members"] == ["dave@example.com", "frank@example.com"]
    assert second["layers"] == [{**first["layers"][1], "members": ["erin@example.com", "grace@example.com"]}]
    assert first["layers"][1]["restrictions"] == [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}]
    assert first["layers"][1]["start"] == "2026-11-02T09:00:00+01:00"
    assert (first["source_id"], second["source_id"]) == ("grafana-oncall:schedule:SPAYMENTS",
                                                         "grafana-oncall:schedule:SPAYMENTS#2")
    [payments, low] = plan.document["escalation_policies"]
    assert payments == {
        "slug": "payments", "name": "Payments", "repeat": 5, "source_id": "grafana-oncall:escalation_chain:FPAY",
        "levels": [
            {"delay_minutes": 5, "targets": [{"schedule": "payments-primary"}, {"schedule": "payments-primary-2"}]},
            {"delay_minutes": 15, "targets": [{"user": "alice@example.com"}, {"user": "bob@example.com"}]},
            {"delay_minutes": 5, "targets": [{"team": "payments"}]}]}
    assert low["levels"] == [{"delay_minutes": 5, "targets": [{"user": "carol@example.com"}]}]
    kinds = {s["slug"]: s["integrations"][0]["type"] for s in plan.document["services"]}
    assert kinds == {"prometheus": "alertmanager", "grafana-alerts": "grafana", "uptime-checks": "generic"}
    assert all(s["escalation_policy"] == "payments" for s in plan.document["services"])
    assert sorted(plan.invites) == [f"{p}@example.com" for p in ("alice", "bob", "carol", "dave", "erin", "frank",
                                                                  "grace")]
    assert {u["email"]: u["role"] for u in plan.document["users"]}["grace@example.com"] == "viewer"


def test_oncall_unmapped_report_says_what_and_why() -> None:
    data = oncall_data()
    data.shifts["SPAYMENTS"] += [
        {"id": "OMONTH", "name": "Monthly DB duty", "type": "rolling_users", "time_zone": "UTC", "level": 3,
         "start": "2026-11-01T00:00:00", "duration": 86400, "frequency": "monthly", "interval": 1,
         "rolling_users": [["UALICE"]]},
        {"id": "OBIWEEK", "name": "Fortnightly", "type": "rolling_users", "time_zone": "UTC", "level": 3,
         "start": "2026-11-01T00:00:00", "duration": 604800, "frequency": "weekly", "interval": 2,
         "week_start": "MO", "rolling_users": [["UBOB"]]},
        {"id": "OONEOFF", "name": "Launch cover", "type": "single_event", "time_zone": "UTC", "level": 3,
         "start": "2027-04-01T00:00:00", "duration": 3600, "users": ["UCAROL"]},
    ]
    plan = grafana_oncall.translate(data, now=OC_NOW)
    report = {(u.kind, u.name): u.reason for u in plan.unmapped}
    assert "monthly" in report[("shift", "Payments primary / Monthly DB duty")]
    assert "every 2 weekly periods" in report[("shift", "Payments primary / Fortnightly")]
    assert "override" in report[("shift", "Payments primary / Launch cover")]
    assert "iCal" in report[("schedule", "Holidays (iCal)")]
    assert "Slack user groups" in report[("escalation step", "Payments / step 4 (notify_user_group)")]
    assert "routing rules" in report[("route", "Prometheus / severity=warning")]
    assert "inbound_email" in report[("integration", "Vendor mail")]
    # what could not map is left out, not half-imported; the past single event is not reported at all
    assert [la["name"] for la in plan.document["schedules"][0]["layers"]] == ["Weekly 24x7", "Weekday daytime"]
    assert not any("Old stint" in u.name for u in plan.unmapped)


def test_oncall_import_agrees_with_oncall_final_schedule_across_dst_and_can_disagree() -> None:
    data = oncall_data()
    plan = grafana_oncall.translate(data, now=OC_NOW)
    timelines = oncall_timeline(OC_NOW, data)
    # the weekday daytime pair (week 21 of the rotation: the second pair) is on at 09:30 Berlin after the
    # clocks moved, 07:30 UTC on Monday 29 March (08:30 UTC the week before)
    at = datetime(2027, 3, 29, 7, 30, tzinfo=UTC)
    slugs = plan.schedules["grafana-oncall:schedule:SPAYMENTS"]
    assert on_call_in_timeline(timelines["grafana-oncall:schedule:SPAYMENTS"], at) == tocsin_people(plan, slugs, at) \
        == {"frank@example.com", "grace@example.com"}
    assert disagreements(plan, timelines, OC_NOW) == []
    # the comparison is not vacuous: levels the wrong way round disagree on weekdays
    wrong = copy.deepcopy(plan)
    wrong.document["schedules"][0]["layers"].reverse()
    assert len(disagreements(wrong, timelines, OC_NOW)) > 5


# --- PagerDuty ---------------------------------------------------------------------------------

def test_pagerduty_translation_keeps_layers_restrictions_contacts_and_windows() -> None:
    plan = pagerduty.translate(pd_data(), now=PD_NOW)
    [schedule] = plan.document["schedules"]
    assert plan.schedules == {"pagerduty:schedule:PSCHED1": ["platform-primary"]}
    assert [(la["name"], la["rotation"]) for la in schedule["layers"]] == [("Weekly", "weekly"),
                                                                          ("Weekday daytime", "daily")]
    assert schedule["layers"][1]["restrictions"] == [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}]
    assert schedule["layers"][0]["time_zone"] == "America/New_York"
    [override] = schedule["overrides"]
    assert override["user"] == "erin@example.com"
    alice = next(u for u in plan.document["users"] if u["email"] == "alice@example.com")
    assert {"type": "sms", "address": "+15550100000", "label": "Mobile"} in alice["contact_methods"]
    assert plan.invites == ["erin@example.com"]  # the only one without a phone number
    [policy] = plan.document["escalation_policies"]
    assert policy["repeat"] == 2 and policy["levels"] == [
        {"delay_minutes": 15, "targets": [{"schedule": "platform-primary"}]},
        {"delay_minutes": 30, "targets": [{"user": "alice@example.com"}, {"user": "erin@example.com"}]}]
    [service] = plan.document["services"]
    assert [(i["name"], i["type"]) for i in service["integrations"]] == [("Prometheus", "events_v2"),
                                                                       ("Datadog", "events_v2")]
    assert service["escalation_policy"] == "platform" and service["team"] == "platform"
    [window] = plan.document["maintenance_windows"]
    assert window["service"] == "checkout-api" and window["name"] == "Database upgrade"
    assert [(u.kind, u.name) for u in plan.unmapped] == [("integration", "Checkout API / Vendor mail")]


def test_pagerduty_import_agrees_with_pagerduty_final_schedule_across_dst() -> None:
    data = pd_data()
    plan = pagerduty.translate(data, now=PD_NOW)
    emails = pagerduty.emails_of(data)
    entries = pagerduty_standin.final_entries(data.schedules[0], data.overrides["PSCHED1"], PD_NOW,
                                              PD_NOW + timedelta(days=31))
    timelines = {"pagerduty:schedule:PSCHED1": [
        TimelineEntry(emails[e["user"]["id"]], datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
        for e in entries]}
    # 09:30 New York on Monday 15 March, the day after the clocks moved: 13:30 UTC (it was 14:30 a week before)
    at = datetime(2027, 3, 15, 13, 30, tzinfo=UTC)
    assert on_call_in_timeline(timelines["pagerduty:schedule:PSCHED1"], at) == tocsin_people(
        plan, ["platform-primary"], at)
    assert tocsin_people(plan, ["platform-primary"], at) & {"dave@example.com", "erin@example.com"}
    assert disagreements(plan, timelines, PD_NOW) == []
    wrong = copy.deepcopy(plan)
    wrong.document["schedules"][0]["layers"][1]["restrictions"] = []
    assert disagreements(wrong, timelines, PD_NOW)


def test_pagerduty_turn_lengths_tocsin_cannot_keep_are_reported() -> None:
    data = pd_data()
    layer = data.schedules[0]["schedule_layers"][1]
    layer["rotation_turn_length_seconds"] = 2 * 86400 + 3600
    plan = pagerduty.translate(data, now=PD_NOW)
    assert [la["name"] for la in plan.document["schedules"][0]["layers"]] == ["Weekly"]
    assert any(u.name == "Platform primary / Weekday daytime" and "176400 seconds" in u.reason for u in plan.unmapped)
    # a date far enough back that the old layer has ended: nothing about it is imported or reported
    assert not any("Old layer" in u.name for u in plan.unmapped)
    assert date(2026, 6, 1) < PD_NOW.date()


def test_pagerduty_layers_listed_highest_first_are_put_back_in_order_by_the_final_schedule() -> None:
    data = pd_data()
    emails = pagerduty.emails_of(data)
    entries = pagerduty_standin.final_entries(data.schedules[0], data.overrides["PSCHED1"], PD_NOW,
                                              PD_NOW + timedelta(days=31))
    timelines = {"pagerduty:schedule:PSCHED1": [
        TimelineEntry(emails[e["user"]["id"]], datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
        for e in entries]}
    data.schedules[0]["schedule_layers"].reverse()  # as older PagerDuty answered GET /schedules/{id}
    plan = pagerduty.translate(data, now=PD_NOW)
    assert [la["name"] for la in plan.document["schedules"][0]["layers"]] == ["Weekday daytime", "Weekly"]
    assert disagreements(plan, timelines, PD_NOW)  # taken as listed, the weekly layer would hide the daytime one
    pagerduty.settle_layer_order(plan, timelines, now=PD_NOW)
    assert [la["name"] for la in plan.document["schedules"][0]["layers"]] == ["Weekly", "Weekday daytime"]
    assert disagreements(plan, timelines, PD_NOW) == []
    pagerduty.settle_layer_order(plan, timelines, now=PD_NOW)  # the right order stays
    assert [la["name"] for la in plan.document["schedules"][0]["layers"]] == ["Weekly", "Weekday daytime"]
