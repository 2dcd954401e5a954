"""The Opsgenie importer's translation (tocsin.importers.opsgenie): rotations, restrictions,
overrides and escalations, and the on-call it yields against the stand-in's own model of Opsgenie
(tests/harness/opsgenie.py), across a daylight-saving change. Pure: no database, no HTTP."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, time
from typing import Any

import pytest

from tests.harness.opsgenie import account, seed
from tocsin.importers import opsgenie as og
from tocsin.importers.common import on_call_in_timeline, sample_instants
from tocsin.oncall import resolve

# 2026-03-20: Europe/Berlin moves its clocks on 2026-03-29, inside the 30 days compared
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _on_call(doc: dict[str, Any], slugs: list[str], at: datetime) -> frozenset[str]:
    """Who tocsin's resolver puts on call at `at` across `slugs`, from the document alone."""
    people = set()
    for entry in (s for s in doc["schedules"] if s["slug"] in slugs):
        layers = tuple(resolve.Layer(
            name=layer["name"],
            rotation=resolve.Rotation(kind=layer["rotation"], timezone=layer["time_zone"],
                                      start=og.parse_time(layer["start"]), participants=tuple(layer["members"]),
                                      shift_hours=layer.get("shift_hours", 24)),
            restrictions=tuple(resolve.Restriction(frozenset(r["days"]), time.fromisoformat(r["start"]),
                                                   time.fromisoformat(r["end"])) for r in layer["restrictions"]))
            for layer in entry["layers"])
        overrides = [resolve.Override(o["user"], og.parse_time(o["start"]), og.parse_time(o["end"]),
                                      o.get("replaces")) for o in entry["overrides"]]
        shift = resolve.on_call_at(layers, overrides, at)
        if shift is not None:
            people.add(shift.user)
    return frozenset(people)


def _disagreements(raw: dict[str, Any], plan: og.ImportPlan) -> list[tuple[str, datetime]]:
    timelines = og.timelines(raw)
    return [(sid, at) for sid, slugs in plan.schedules.items() for at in sample_instants(NOW)
            if on_call_in_timeline(timelines[sid], at) != _on_call(plan.document, slugs, at)]


def test_the_seeded_account_agrees_with_opsgenie_at_every_sample_across_dst() -> None:
    raw = account(seed(NOW), NOW)
    plan = og.translate(raw, now=NOW)
    assert _disagreements(raw, plan) == []
    # one tocsin schedule per rotation: both rotations of an Opsgenie schedule are on call at once
    assert [len(v) for v in plan.schedules.values()] == [2, 2]


def test_a_wrong_mapping_is_caught_by_the_comparison() -> None:
    raw = account(seed(NOW), NOW)
    plan = og.translate(raw, now=NOW)
    for entry in plan.document["schedules"]:
        for layer in entry["layers"]:
            layer["restrictions"] = []  # forget the time restrictions
    assert len(_disagreements(raw, plan)) > 5


def _rotation(**extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": "r", "type": "weekly", "length": 1,
            "startDate": "2026-03-02T08:00:00Z", "participants": [], **extra}


def _raw(*rotations: dict[str, Any], overrides: list[dict[str, Any]] | None = None,
         escalations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    users = [{"id": f"u{i}", "username": f"p{i}@example.com", "fullName": f"P{i}", "role": {"name": "User"},
              "userContacts": []} for i in range(3)]
    for r in rotations:
        r["participants"] = r["participants"] or [{"type": "user", "id": "u0"}, {"type": "user", "id": "u1"}]
    schedule = {"id": "s1", "name": "Ops", "timezone": "Europe/Berlin", "enabled": True, "rotations": list(rotations)}
    return {"users": users, "teams": [{"id": "t1", "name": "Ops team", "members": []}], "schedules": [schedule],
            "overrides": {"s1": overrides or []}, "escalations": escalations or [], "services": [],
            "integrations": [], "maintenance": [], "heartbeats": []}


@pytest.mark.parametrize(("kind", "length", "rotation", "members", "hours"), [
    ("weekly", 1, "weekly", ["p0", "p1"], None),
    ("weekly", 2, "weekly", ["p0", "p0", "p1", "p1"], None),   # a two-week turn keeps local hand-overs
    ("daily", 3, "daily", ["p0", "p0", "p0", "p1", "p1", "p1"], None),
    ("hourly", 8, "custom", ["p0", "p1"], 8),
])
def test_rotation_kinds(kind: str, length: int, rotation: str, members: list[str], hours: int | None) -> None:
    plan = og.translate(_raw(_rotation(type=kind, length=length)), now=NOW)
    layer = plan.document["schedules"][0]["layers"][0]
    assert layer["rotation"] == rotation
    assert layer["members"] == [f"{m}@example.com" for m in members]
    assert layer.get("shift_hours") == hours
    assert layer["time_zone"] == "Europe/Berlin" and layer["start"] == "2026-03-02T08:00:00Z"


def test_restrictions_are_cut_at_local_midnight_and_may_wrap_the_week() -> None:
    assert og.restrictions({"type": "time-of-day", "restriction": {"startHour": 18, "startMin": 0, "endHour": 8,
                                                                    "endMin": 30}}) == [
        {"days": [1, 2, 3, 4, 5, 6, 7], "start": "18:00", "end": "08:30"}]
    weekend = og.restrictions({"type": "weekday-and-time-of-day", "restrictions": [
        {"startDay": "friday", "startHour": 18, "startMin": 0, "endDay": "monday", "endHour": 8, "endMin": 0}]})
    assert weekend == [{"days": [6, 7], "start": "00:00", "end": "00:00"},
                       {"days": [1], "start": "00:00", "end": "08:00"},
                       {"days": [5], "start": "18:00", "end": "00:00"}]
    with pytest.raises(ValueError, match="startDay"):
        og.restrictions({"type": "weekday-and-time-of-day", "restrictions": [{"startHour": 1, "startMin": 0,
                                                                              "endHour": 2, "endMin": 0}]})


def test_a_bad_restriction_or_participant_is_reported_not_guessed() -> None:
    rot = _rotation(participants=[{"type": "user", "id": "u0"}, {"type": "team", "name": "DBAs"}, {"type": "none"}],
                    timeRestriction={"type": "weekday-and-time-of-day", "restrictions": [{"startDay": "funday"}]})
    plan = og.translate(_raw(rot), now=NOW)
    assert plan.document["schedules"][0]["layers"][0]["members"] == ["p0@example.com"]
    kinds = sorted(u.kind for u in plan.unmapped)
    assert kinds == ["rotation participant", "rotation participant", "time restriction"]


def test_overrides_replace_the_rotation_participants_or_hold_the_whole_schedule() -> None:
    a, b = _rotation(name="a"), _rotation(name="b")
    span = {"startDate": "2026-03-24T08:00:00Z", "endDate": "2026-03-25T08:00:00Z"}
    overrides = [{"alias": "one", "user": {"type": "user", "id": "u2"}, "rotations": [{"id": b["id"]}], **span},
                 {"alias": "all", "user": {"type": "user", "username": "p2@example.com"}, "rotations": [], **span},
                 {"alias": "past", "user": {"type": "user", "id": "u2"}, "startDate": "2026-01-01T00:00:00Z",
                  "endDate": "2026-01-02T00:00:00Z"}]
    plan = og.translate(_raw(a, b, overrides=overrides), now=NOW)
    first, second = plan.document["schedules"]
    t = {"start": "2026-03-24T08:00:00Z", "end": "2026-03-25T08:00:00Z"}
    assert first["overrides"] == [{"user": "p2@example.com", **t}]
    assert second["overrides"] == [{"user": "p2@example.com", "replaces": "p0@example.com", **t},
                                   {"user": "p2@example.com", "replaces": "p1@example.com", **t}] * 2


def test_escalation_rules_become_levels_by_delay() -> None:
    rule = {"condition": "if-not-acked", "notifyType": "default"}
    esc = {"id": "e1", "name": "Ops esc", "repeat": {"waitInterval": 20, "count": 12, "closeAlertAfterAll": True},
           "rules": [{**rule, "delay": {"timeAmount": 0, "timeUnit": "minutes"}, "recipient": {"type": "schedule",
                                                                                               "id": "s1"}},
                     {**rule, "delay": {"timeAmount": 1, "timeUnit": "hours"}, "recipient": {"type": "user",
                                                                                            "id": "u2"}},
                     {**rule, "delay": {"timeAmount": 60, "timeUnit": "minutes"}, "recipient": {"type": "team",
                                                                                               "id": "t1"}},
                     {**rule, "notifyType": "previous", "delay": {"timeAmount": 5, "timeUnit": "minutes"},
                      "recipient": {"type": "schedule", "id": "s1"}},
                     {**rule, "condition": "if-not-closed", "notifyType": "random",
                      "delay": {"timeAmount": 5, "timeUnit": "minutes"}, "recipient": {"type": "team", "id": "t1"}}]}
    plan = og.translate(_raw(_rotation(name="a"), _rotation(name="b"), escalations=[esc]), now=NOW)
    policy = plan.document["escalation_policies"][0]
    assert policy["levels"] == [
        {"delay_minutes": 60, "targets": [{"schedule": "ops-a"}, {"schedule": "ops-b"}]},
        {"delay_minutes": 20, "targets": [{"user": "p2@example.com"}, {"team": "ops-team"}]}]
    assert policy["repeat"] == 9 and policy["source_id"] == "opsgenie:escalation:e1"
    reasons = " | ".join(u.reason for u in plan.unmapped if u.kind.startswith("escalation"))
    for words in ("notifyType previous", "notifyType random", "if-not-closed", "repeats 12 times", "closes the alert",
                  "routing rules"):
        assert words in reasons


def test_every_object_carries_its_opsgenie_source_id() -> None:
    raw = account(seed(NOW), NOW)
    doc = og.translate(raw, now=NOW).document
    keyed = [o for section in ("users", "teams", "schedules", "escalation_policies", "services", "maintenance_windows")
             for o in doc[section]] + [i for s in doc["services"] for i in s["integrations"]]
    assert keyed and all(o["source_id"].startswith("opsgenie:") for o in keyed)
    assert len({o["source_id"] for o in keyed}) == len(keyed)


def test_a_source_change_changes_the_document_not_the_keys() -> None:
    org = seed(NOW)
    before = og.translate(account(org, NOW), now=NOW).document
    changed = copy.deepcopy(org)
    changed.teams[0]["name"] = "Payments and billing"
    changed.teams[0]["members"].append({"user": {"id": changed.user("dave@example.com")["id"]}, "role": "user"})
    after = og.translate(account(changed, NOW), now=NOW).document
    assert after["teams"][0]["source_id"] == before["teams"][0]["source_id"]
    assert after["teams"][0]["name"] == "Payments and billing"
    assert "dave@example.com" in after["teams"][0]["members"]
