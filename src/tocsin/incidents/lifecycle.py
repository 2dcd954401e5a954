"""The incident lifecycle as one table.

Each status lists the statuses it may move to and the timestamp field that entering
it stamps (only when still empty, so moving back and forth keeps the first time).
Forward jumps are allowed among the active statuses because real incidents skip steps
(a bad deploy rolled back is identified and mitigated at once); moving back is allowed
too (the hypothesis was wrong; monitoring saw it recur). `resolved` can re-open to
`investigating`, which clears `resolved_at`. `closed` and `declined` are final.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.errors import IllegalTransition
from tocsin.incidents.types import Status

S = Status
_ACTIVE = (S.triage, S.investigating, S.identified, S.mitigated, S.monitoring)


@dataclass(frozen=True)
class StatusRule:
    allowed: frozenset[Status]
    stamps: tuple[str, ...]  # timestamp fields set on entry when still empty


TRANSITIONS: dict[Status, StatusRule] = {
    S.triage: StatusRule(frozenset({S.investigating, S.identified, S.mitigated, S.monitoring, S.resolved, S.declined}), ()),
    S.investigating: StatusRule(
        frozenset({S.identified, S.mitigated, S.monitoring, S.resolved}), ("acknowledged_at",)
    ),
    S.identified: StatusRule(frozenset({S.investigating, S.mitigated, S.monitoring, S.resolved}), ("acknowledged_at",)),
    S.mitigated: StatusRule(
        frozenset({S.investigating, S.identified, S.monitoring, S.resolved}), ("acknowledged_at", "mitigated_at")
    ),
    S.monitoring: StatusRule(
        frozenset({S.investigating, S.identified, S.mitigated, S.resolved}), ("acknowledged_at", "mitigated_at")
    ),
    S.resolved: StatusRule(
        frozenset({S.investigating, S.postmortem, S.closed}), ("acknowledged_at", "mitigated_at", "resolved_at")
    ),
    S.postmortem: StatusRule(frozenset({S.closed}), ()),
    S.closed: StatusRule(frozenset(), ("closed_at",)),
    S.declined: StatusRule(frozenset(), ("closed_at",)),
}

ACTIVE_STATUSES = frozenset(_ACTIVE)
OPEN_STATUSES = ACTIVE_STATUSES  # statuses in which the incident still needs responders


@dataclass(frozen=True)
class TransitionPlan:
    """What a transition does: fields to set (name -> "now" or None to clear)."""

    from_status: Status
    to_status: Status
    set_now: tuple[str, ...]
    clear: tuple[str, ...]
    reopened: bool


def plan_transition(current: Status, target: Status, stamped: dict[str, bool]) -> TransitionPlan:
    """Return the plan for moving from `current` to `target`.

    `stamped` says which timestamp fields already hold a value. Raises
    IllegalTransition naming the allowed targets.
    """
    rule = TRANSITIONS[current]
    if target not in rule.allowed:
        allowed = sorted(s.value for s in rule.allowed)
        raise IllegalTransition(
            f"cannot move an incident from {current.value} to {target.value}"
            + (f"; allowed: {', '.join(allowed)}" if allowed else f"; {current.value} is final"),
            details={"from": current.value, "to": target.value, "allowed": allowed},
        )
    reopened = current == S.resolved and target in ACTIVE_STATUSES
    set_now = tuple(f for f in TRANSITIONS[target].stamps if not stamped.get(f))
    clear = ("resolved_at",) if reopened else ()
    return TransitionPlan(current, target, set_now, clear, reopened)


def initial_stamps(status: Status) -> tuple[str, ...]:
    """Timestamp fields an incident declared directly in `status` stamps."""
    return TRANSITIONS[status].stamps
