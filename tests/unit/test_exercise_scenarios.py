"""Exercise scenarios and their score (issue 19): the schema's errors name the place, the shipped
scenarios are valid, and the score follows the documented formula."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.errors import InvalidInput
from tocsin.exercises.scenario import SHIPPED, parse, parse_duration, shipped
from tocsin.exercises.scoring import Facts, score

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BASE = """
name: t
kind: operational
severity: SEV2
participants: [{email: a@example.com, role: incident_commander}]
injects:
  - {at: 0s, type: alert, summary: down}
  - {at: 5m, type: ic_unavailable}
expect:
  - {type: acknowledged, within: 2m, weight: 2}
  - {type: incident_commander, within: 2m}
  - {type: new_commander, within: 1m, after_inject: 1}
  - {type: step, step: revoke, within: 10m}
"""


def errors(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        parse(text)
    return exc.value.details["errors"]


def test_the_shipped_scenarios_are_valid():
    kinds = {parse(shipped(n)).kind for n in SHIPPED}
    assert len(SHIPPED) == 3 and kinds == {"operational", "security"}


@pytest.mark.parametrize(("change", "expected"), [
    (("at: 5m", "at: 5 minutes"), "injects[1].at: '5 minutes' does not match"),
    (("summary: down", "summry: down"), "injects[0]: 'summary' is a required property"),
    (("severity: SEV2", "severity: SEV5"), "severity: 'SEV5' is not one of"),
    (("step: revoke, ", ""), "expect[3]: 'step' is a required property"),
    (("after_inject: 1", "after_inject: 7"), "expect[2].after_inject: there are only 2 injects"),
    (("a@example.com", "not-an-email"), "participants[0].email: 'not-an-email' does not match"),
    (("type: ic_unavailable", "type: meteor"), "injects[1].type: 'meteor' is not one of"),
])
def test_each_error_names_its_place(change, expected):
    found = errors(BASE.replace(*change))
    assert any(e.startswith(expected) for e in found), found


def test_not_yaml_is_an_error_with_its_line():
    assert errors("name: t\nkind: [unclosed\n")[0].startswith("(yaml) at line 3")


def test_durations():
    assert parse_duration("1h30m") == timedelta(minutes=90) and parse_duration("90s") == timedelta(seconds=90)
    with pytest.raises(ValueError):
        parse_duration("")


def test_the_score_formula():
    sc = parse(BASE)
    at = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    facts = Facts(started_at=T0, fired={0: T0, 1: at(5)}, acknowledged_at=at(1), commanders=(at(3), at(5.5)),
                  steps=((at(4), "Checklist step done: Revoke the key"),), guardrails=("no_scribe",))
    result = score(sc, facts, now=at(20), final=True)
    # ack on time (2 of 2), IC late (0.5 of 1), new IC on time (1), step on time (1): 4.5 / 5 = 90; -10 guardrail
    assert [r.status for r in result.results] == ["met", "late", "met", "met"]
    assert result.expectations == 90 and result.penalty == 10 and result.total == 80 and result.passed
    assert result.times["acknowledge"] == 60 and result.times["commander"] == 180


def test_pending_until_the_deadline_then_missed():
    sc = parse(BASE)
    facts = Facts(started_at=T0, fired={0: T0})
    early = score(sc, facts, now=T0 + timedelta(minutes=1), final=False)
    assert [r.status for r in early.results] == ["pending"] * 4
    late = score(sc, facts, now=T0 + timedelta(minutes=3), final=False)
    assert [r.status for r in late.results][:2] == ["missed", "missed"]
    four_trips = Facts(started_at=T0, guardrails=("a", "b", "c", "d"))
    assert score(sc, four_trips, now=T0, final=True).penalty == 30
