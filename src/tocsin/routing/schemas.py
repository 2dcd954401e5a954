"""API shapes for routing rules, silences, maintenance windows, auto-incident and inhibition rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema

from tocsin.incidents.schemas import SeverityIn
from tocsin.incidents.types import Kind
from tocsin.routing.matchers import MAX_MATCHERS, MAX_PATTERN
from tocsin.schemas import Name, Out, PatchIn, StrictIn, UTCInput

# A matcher is validated by the service (`alerts.matchers.parse_matcher`), not by pydantic: a
# union of `str | Model` would report a bad object as "should be a valid string" first. The
# schema below documents both accepted forms for clients and for the OpenAPI document.
MatcherSpec = Annotated[
    str | dict[str, Any],
    WithJsonSchema({
        "oneOf": [
            {"type": "string", "maxLength": MAX_PATTERN + 256,
             "description": 'name=value, name!=value, name=~"regex" or name!~"regex" (regexes are anchored)',
             "examples": ['severity=~"critical|error"', 'team="payments"']},
            {"type": "object", "additionalProperties": False, "required": ["name"],
             "properties": {"name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.\-]*$"},
                            "op": {"type": "string", "enum": ["=", "!=", "=~", "!~"], "default": "="},
                            "value": {"type": "string", "maxLength": MAX_PATTERN, "default": ""}}},
        ],
    }),
]
Matchers = Annotated[list[MatcherSpec], Field(min_length=1, max_length=MAX_MATCHERS,
                                              description="All must match (AND); at least one")]
Urgency = Literal["high", "low"]
Recurrence = Literal["none", "daily", "weekly"]
Reason = Annotated[str, Field(max_length=10_000)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA name such as Europe/Berlin")]


class MatcherOut(Out):
    name: str
    op: str
    value: str


# --- routing rules -----------------------------------------------------------------------------

class RoutingRuleIn(StrictIn):
    name: Name
    matchers: Matchers
    service: str | None = Field(None, max_length=64, description="Route to this service (slug or id)")
    urgency: Urgency | None = Field(None, description="Set the urgency; default: from the alert's severity")


class RoutingRulePatch(PatchIn):
    """Omit a field to leave it alone; `service` and `urgency` accept null to clear them."""

    clearable: ClassVar[frozenset[str]] = frozenset({"service", "urgency"})

    name: Name | None = Field(None)
    matchers: Matchers | None = Field(None)
    service: str | None = Field(None, max_length=64)
    urgency: Urgency | None = None


class RuleOrderIn(StrictIn):
    ids: list[uuid.UUID] = Field(max_length=10_000, description="Every rule's id, once, in the new order")


class RoutingRuleOut(Out):
    id: uuid.UUID
    position: int = Field(description="Rules are tried in this order; the first match wins")
    name: str
    matchers: list[MatcherOut]
    service_id: uuid.UUID | None
    service: str | None = Field(description="The target service's slug")
    urgency: str | None
    created_at: datetime


# --- silences ----------------------------------------------------------------------------------

class SilenceIn(StrictIn):
    matchers: Matchers
    starts_at: UTCInput | None = Field(None, description="Default now; a time in the past means now")
    ends_at: UTCInput = Field(description="After starts_at, at most one year ahead")
    reason: Annotated[str, Field(min_length=1, max_length=10_000)]


class SilencePatch(PatchIn):
    """Omit a field to leave it alone. A new end or reason changes the silence in place; new matchers
    expire it and create a new silence (answered here, with a new id), so the record of what the old
    one held back stays true."""

    matchers: Matchers | None = Field(None)
    ends_at: UTCInput | None = Field(None, description="In the future, at most one year ahead")
    reason: Annotated[str, Field(min_length=1, max_length=10_000)] | None = Field(None)


class SilenceOut(Out):
    id: uuid.UUID
    matchers: list[MatcherOut]
    starts_at: datetime
    ends_at: datetime
    state: Literal["active", "pending", "expired"]
    author: str
    author_id: uuid.UUID | None
    reason: str
    created_at: datetime


# --- maintenance windows -----------------------------------------------------------------------

class MaintenanceWindowIn(StrictIn):
    service: str = Field(min_length=1, max_length=64, description="Service slug or id")
    name: Name
    starts_at: UTCInput = Field(description="Start of the first occurrence")
    ends_at: UTCInput = Field(description="End of the first occurrence")
    recurrence: Recurrence = "none"
    timezone: TimeZone = Field("UTC", description="IANA name; recurring windows keep their local wall-clock times")
    until: UTCInput | None = Field(None, description="No occurrence starts after this")
    reason: Reason = ""


class MaintenanceWindowPatch(PatchIn):
    """Omit a field to leave it alone; `until` accepts null to clear it."""

    clearable: ClassVar[frozenset[str]] = frozenset({"until"})

    name: Name | None = Field(None)
    starts_at: UTCInput | None = Field(None)
    ends_at: UTCInput | None = Field(None)
    recurrence: Recurrence | None = Field(None)
    timezone: TimeZone | None = Field(None)
    until: UTCInput | None = None
    reason: Reason | None = Field(None)


class MaintenanceWindowOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    service: str
    name: str
    starts_at: datetime
    ends_at: datetime
    recurrence: str
    timezone: str
    until: datetime | None
    reason: str
    author: str
    author_id: uuid.UUID | None
    created_at: datetime
    active: bool = Field(description="In an occurrence now")
    next_change_at: datetime | None = Field(description="When `active` next flips; null if never")


# --- auto-incident rules -----------------------------------------------------------------------

class AutoIncidentRuleIn(StrictIn):
    name: Name
    matchers: Annotated[list[MatcherSpec], Field(
        min_length=1, max_length=MAX_MATCHERS,
        description="Match the alert's labels plus `service` (slug), `tier` (1..4), `severity` "
                    "(critical|error|warning|info) and `source` (events_v2|alertmanager|grafana|generic|email|opsgenie|"
                    "heartbeat|check); the alert's own labels win on a clash")]
    incident_severity: SeverityIn
    incident_kind: Kind = Kind.operational


class AutoIncidentRulePatch(PatchIn):
    """Omit a field to leave it alone."""

    name: Name | None = Field(None)
    matchers: Matchers | None = Field(None)
    incident_severity: SeverityIn | None = Field(None)
    incident_kind: Kind | None = Field(None)


class AutoIncidentRuleOut(Out):
    id: uuid.UUID
    name: str
    matchers: list[MatcherOut]
    incident_severity: str
    incident_kind: str
    created_at: datetime


# --- inhibition rules --------------------------------------------------------------------------

LabelName = Annotated[str, Field(max_length=256, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
EqualLabels = Annotated[list[LabelName], Field(max_length=32, description=(
    "Labels whose values must be the same on the source and the target alert (absent counts as empty)"))]
_MATCHER_DOC = ("the alert's labels plus `service` (slug), `tier`, `severity` and `source`; the alert's own "
                "labels win on a clash")


class InhibitionRuleIn(StrictIn):
    name: Name
    service: str | None = Field(None, max_length=64, description=(
        "Only this service's alerts (slug or id), as sources and targets; omit for every service's"))
    source_matchers: Annotated[list[MatcherSpec], Field(
        min_length=1, max_length=MAX_MATCHERS, description="While an alert matching these fires ... (" +
        _MATCHER_DOC + ")")]
    target_matchers: Annotated[list[MatcherSpec], Field(
        min_length=1, max_length=MAX_MATCHERS, description="... new alerts matching these are held instead of "
                                                           "paging, until it resolves")]
    equal: EqualLabels = Field(default_factory=list)


class InhibitionRulePatch(PatchIn):
    """Omit a field to leave it alone; `service` accepts null to make the rule global."""

    clearable: ClassVar[frozenset[str]] = frozenset({"service"})

    name: Name | None = Field(None)
    service: str | None = Field(None, max_length=64)
    source_matchers: Matchers | None = Field(None)
    target_matchers: Matchers | None = Field(None)
    equal: EqualLabels | None = Field(None)


class InhibitionRuleOut(Out):
    id: uuid.UUID
    name: str
    service_id: uuid.UUID | None
    service: str | None = Field(description="The service's slug; null for a global rule")
    source_matchers: list[MatcherOut]
    target_matchers: list[MatcherOut]
    equal: list[str]
    created_at: datetime
