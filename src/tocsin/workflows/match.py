"""Which workflows a trigger starts (pure): the trigger, its status, and the filters (an empty list
matches any value)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TRIGGERS = ("declared", "status_changed")


@dataclass(frozen=True)
class Filters:
    trigger: str
    to_status: str | None
    kinds: Sequence[str]
    severities: Sequence[str]
    incident_types: Sequence[str]


@dataclass(frozen=True)
class Event:
    trigger: str  # declared | status_changed
    kind: str
    severity: str
    incident_type: str | None
    to_status: str | None = None  # status_changed: the new status


def matches(f: Filters, e: Event) -> bool:
    """True when the workflow runs for this event."""
    if f.trigger != e.trigger:
        return False
    if f.trigger == "status_changed" and f.to_status and f.to_status != e.to_status:
        return False
    if f.kinds and e.kind not in f.kinds:
        return False
    if f.severities and e.severity not in f.severities:
        return False
    return not f.incident_types or (e.incident_type is not None and e.incident_type in f.incident_types)
