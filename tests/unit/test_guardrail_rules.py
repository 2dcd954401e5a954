"""The guardrail rules (guardrails/rules.py), pure: each trips at its threshold and not before, and
stops holding once the mistake is fixed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.guardrails.rules import CHECKS, Facts, Rule, Thresholds, decide

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
T = Thresholds()
# a SEV1 that does everything right
GOOD = Facts(severity="SEV1", active=True, declared_at=T0, commander=True, scribe=True, mitigated=True,
             suggested_severity="SEV1", responders=3, last_activity_at=T0)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_well_run_incident_trips_nothing_even_after_hours() -> None:
    assert decide(replace(GOOD, last_activity_at=m(179)), T, m(180)) == {}


@pytest.mark.parametrize(("rule", "facts", "before", "after"), [
    (Rule.no_commander, replace(GOOD, commander=False), m(4.9), m(5)),
    (Rule.no_containment, replace(GOOD, mitigated=False, notes=5), m(29), m(30)),
    (Rule.severity_mismatch, replace(GOOD, severity="SEV3", severity_settled_at=m(10)), m(24), m(25)),
    (Rule.no_scribe, replace(GOOD, scribe=False), m(9), m(10)),
    (Rule.quiet_timeline, replace(GOOD, last_activity_at=m(20)), m(49), m(50)),
    (Rule.unpublished_postmortem, replace(GOOD, active=False, resolved_at=m(0), postmortem_required=True),
     m(5 * 1440 - 1), m(5 * 1440)),
])
def test_timed_rules_trip_at_their_threshold(rule: Rule, facts: Facts, before: datetime, after: datetime) -> None:
    assert rule not in decide(facts, T, before)
    assert rule in decide(facts, T, after)


def test_no_commander_counts_from_when_the_last_commander_stepped_down() -> None:
    f = replace(GOOD, commander=False, commander_missing_since=m(60))
    assert CHECKS[Rule.no_commander](f, T, m(64)) is None
    assert CHECKS[Rule.no_commander](f, T, m(65)) == "no Incident Commander for 5 min"


def test_containment_needs_notes_piling_up_and_a_major_incident() -> None:
    f = replace(GOOD, mitigated=False, notes=4)
    assert CHECKS[Rule.no_containment](f, T, m(60)) is None
    assert CHECKS[Rule.no_containment](replace(f, notes=5, severity="SEV3"), T, m(60)) is None
    assert CHECKS[Rule.no_containment](replace(f, notes=5), T, m(60)) == \
        "SEV1 not mitigated 60 min after it was declared, with 5 notes"


def test_sprawl_is_over_the_limit_not_at_it() -> None:
    assert CHECKS[Rule.sprawl](replace(GOOD, responders=8), T, m(0)) is None
    assert CHECKS[Rule.sprawl](replace(GOOD, responders=9), T, m(0)) == "9 active responders (limit 8)"


def test_no_scribe_only_on_sev1_and_sev2() -> None:
    assert CHECKS[Rule.no_scribe](replace(GOOD, scribe=False, severity="SEV3"), T, m(60)) is None
    assert CHECKS[Rule.no_scribe](replace(GOOD, scribe=False, severity="SEV2"), T, m(60)) is not None


def test_counted_rules_trip_on_any_finding() -> None:
    assert decide(replace(GOOD, blameful=2), T, m(1)) == {
        Rule.blameful_postmortem: "2 sentences of the postmortem blame people"}
    assert decide(replace(GOOD, overdue_actions=1), T, m(1)) == {Rule.overdue_actions: "1 action item past due"}
    assert decide(replace(GOOD, unpreserved=("web-7",)), T, m(1)) == {
        Rule.evidence_unpreserved: "investigated before it was preserved: web-7"}


def test_a_published_or_waived_postmortem_does_not_trip_nor_one_not_required() -> None:
    f = replace(GOOD, active=False, resolved_at=m(0), postmortem_required=True)
    assert CHECKS[Rule.unpublished_postmortem](replace(f, postmortem_done=True), T, m(10 * 1440)) is None
    assert CHECKS[Rule.unpublished_postmortem](replace(f, postmortem_required=False), T, m(10 * 1440)) is None


def test_incidents_no_longer_active_are_not_held_to_the_response_rules() -> None:
    f = replace(GOOD, active=False, commander=False, scribe=False, mitigated=False, notes=50, responders=40,
                severity="SEV3", last_activity_at=None)
    assert decide(f, T, m(600)) == {}


def test_thresholds_and_turning_rules_off() -> None:
    f = replace(GOOD, commander=False, scribe=False)
    assert set(decide(f, T, m(10))) == {Rule.no_commander, Rule.no_scribe}
    assert set(decide(f, replace(T, off=frozenset({"no_scribe"})), m(10))) == {Rule.no_commander}
    assert decide(f, replace(T, no_commander=timedelta(minutes=20), scribe=timedelta(minutes=20)), m(10)) == {}
