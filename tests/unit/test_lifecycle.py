"""The incident lifecycle table: what may follow what, and which times each move stamps."""

import pytest

from tocsin.errors import IllegalTransition
from tocsin.incidents.lifecycle import TRANSITIONS, plan_transition
from tocsin.incidents.types import Status

S = Status
NOTHING_STAMPED = {"acknowledged_at": False, "mitigated_at": False, "resolved_at": False, "closed_at": False}


@pytest.mark.parametrize("current,target", [
    (S.triage, S.investigating), (S.triage, S.declined), (S.triage, S.resolved),
    (S.investigating, S.identified), (S.identified, S.mitigated), (S.mitigated, S.monitoring),
    (S.monitoring, S.resolved), (S.resolved, S.postmortem), (S.postmortem, S.closed),
    (S.resolved, S.closed), (S.resolved, S.investigating), (S.monitoring, S.investigating),
    (S.investigating, S.resolved),
])
def test_allowed_moves(current, target):
    plan = plan_transition(current, target, NOTHING_STAMPED)
    assert (plan.from_status, plan.to_status) == (current, target)


@pytest.mark.parametrize("current,target", [
    (S.investigating, S.declined), (S.investigating, S.closed), (S.investigating, S.triage),
    (S.mitigated, S.closed), (S.resolved, S.triage), (S.postmortem, S.investigating),
    (S.closed, S.investigating), (S.declined, S.investigating), (S.triage, S.postmortem),
])
def test_illegal_moves_name_the_allowed_ones(current, target):
    with pytest.raises(IllegalTransition) as info:
        plan_transition(current, target, NOTHING_STAMPED)
    assert info.value.details["allowed"] == sorted(s.value for s in TRANSITIONS[current].allowed)
    assert current.value in info.value.message


@pytest.mark.parametrize("current,target,stamps", [
    (S.triage, S.investigating, ("acknowledged_at",)),
    (S.investigating, S.mitigated, ("mitigated_at",)),
    (S.investigating, S.resolved, ("mitigated_at", "resolved_at")),
    (S.resolved, S.closed, ("closed_at",)),
    (S.triage, S.declined, ("closed_at",)),
])
def test_entering_a_status_stamps_its_times(current, target, stamps):
    already = {**NOTHING_STAMPED, "acknowledged_at": current != S.triage}
    assert plan_transition(current, target, already).set_now == stamps


def test_moving_back_keeps_the_first_mitigation_time():
    stamped = {**NOTHING_STAMPED, "acknowledged_at": True, "mitigated_at": True}
    assert "mitigated_at" not in plan_transition(S.investigating, S.mitigated, stamped).set_now


def test_reopen_clears_resolved_time():
    plan = plan_transition(S.resolved, S.investigating, {k: True for k in NOTHING_STAMPED})
    assert plan.reopened and plan.clear == ("resolved_at",)


def test_every_status_has_a_rule():
    assert set(TRANSITIONS) == set(Status)
