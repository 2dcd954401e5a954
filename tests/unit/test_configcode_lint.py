"""`tocsin lint` findings (configcode/lint.py), one kind each, and the shipped JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tocsin.configcode.document import json_schema, parse
from tocsin.configcode.lint import lint
from tocsin.configcode.schema import SCHEMA_PATH

NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday
A, B, C = "a@example.com", "b@example.com", "c@example.com"


def layer(**kw):
    return {"name": "L", "rotation": "daily", "time_zone": "UTC", "start": "2026-12-07T00:00:00Z",
            "members": [A, B, C], **kw}


def doc(**sections):
    return parse([{"version": 1, **sections}])


def findings(weeks=1, paged=None, **sections):
    return lint(doc(**sections), now=NOW, weeks=weeks, max_hours=84, paged=paged)


def test_a_covered_schedule_shared_by_three_has_no_findings() -> None:
    assert findings(schedules=[{"slug": "s", "name": "S", "layers": [layer()]}]) == []


def test_business_hours_only_leaves_gaps() -> None:
    restricted = layer(restrictions=[{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}])
    (line,) = findings(schedules=[{"slug": "s", "name": "S", "layers": [restricted]}])
    assert line.startswith("document 1: schedules[0] (s): nobody on call for 128 h over the next 1 weeks, "
                           "first 2026-12-07 00:00Z to 2026-12-07 09:00Z (and 5 more gaps)")


def test_one_person_all_week_is_flagged() -> None:
    (line,) = findings(schedules=[{"slug": "s", "name": "S", "layers": [layer(members=[A])]}])
    assert line == ("document 1: schedules[0] (s): a@example.com is on call 168 h in the week from "
                    "2026-12-07 00:00Z (more than 84)")


def test_policy_reaching_nobody_paged_and_service_without_policy() -> None:
    sections = {"schedules": [{"slug": "s", "name": "S", "layers": [layer()]}],
                "escalation_policies": [{"slug": "p", "name": "P", "levels": [
                    {"delay_minutes": 5, "targets": [{"schedule": "s"}]}]}],
                "services": [{"slug": "x", "name": "X"}]}
    assert findings(paged={"z@example.com"}, **sections) == [
        "document 1: escalation_policies[0] (p): reaches nobody with a verified contact method for high-urgency "
        "pages", "document 1: services[0] (x): no escalation policy: its alerts page nobody"]
    assert findings(paged={B}, **sections) == ["document 1: services[0] (x): no escalation policy: its alerts "
                                               "page nobody"]


def test_rules_that_can_never_match() -> None:
    lines = findings(routing_rules=[
        {"name": "both", "matchers": ['team="a"', 'team="b"'], "urgency": "low"},
        {"name": "contradiction", "matchers": ['env="prod"', 'env!~"prod|stage"'], "urgency": "low"},
        {"name": "catch-all", "matchers": ['alertname=~".*"'], "urgency": "high"},
        {"name": "shadowed", "matchers": ['team="c"'], "urgency": "low"}])
    assert lines == [
        "document 1: routing_rules[0] (both): never matches: label team cannot equal both 'a' and 'b'",
        "document 1: routing_rules[1] (contradiction): never matches: label env='prod' contradicts "
        'env!~"prod|stage"',
        "document 1: routing_rules[3] (shadowed): never matches: document 1: routing_rules[2] (catch-all) matches "
        "every alert it would, first"]


def test_the_shipped_schema_is_the_models_schema() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(json_schema()))
    assert set(shipped["properties"]) >= {"users", "teams", "schedules", "escalation_policies", "services",
                                          "maintenance_windows", "routing_rules"}
