"""API shapes for incidents, roles, participants and the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from tocsin.incidents.types import DataSensitivity, Kind, ParticipantKind, Role, Status
from tocsin.schemas import Out, PatchIn, StrictIn, UTCInput
from tocsin.severities import Severity, parse_severity
from tocsin.users.schemas import UserRef


def _severity(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_severity(value)
        except ValueError:
            return value  # let the enum validation produce the error message
    return value


SeverityIn = Annotated[
    Severity, BeforeValidator(_severity),
    Field(description="SEV1 (worst) to SEV4; P0..P3 are accepted as aliases (P0 = SEV1)"),
]


class ImpactIn(StrictIn):
    customers_affected: int | None = Field(None, ge=0, le=2**31 - 1)  # the column is a 32-bit INTEGER
    revenue_at_risk_per_hour: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False)
    data_sensitivity: DataSensitivity | None = None
    customer_facing: bool | None = None


class IncidentIn(StrictIn):
    title: str = Field(min_length=1, max_length=300)
    severity: SeverityIn
    kind: Kind = Kind.operational
    summary: str = Field("", max_length=50_000)
    status: Status = Field(Status.investigating, description="triage or investigating")
    services: list[str] = Field(default_factory=list, max_length=100, description="Service slugs or ids")
    impact: ImpactIn | None = None
    severity_reason: str | None = Field(None, max_length=2000,
                                        description="Required when the severity differs from the one the impact suggests")
    restricted: bool | None = Field(None, description="Need-to-know; default true for security incidents")
    incident_commander: str | None = Field(None, max_length=320, description="User id or email; default: you")
    drill: bool = Field(False, description="An exercise's incident: marked everywhere, pages only its participants, "
                                           "never public, left out of reports (also when a service is a drill)")
    detected_at: UTCInput | None = None
    impact_started_at: UTCInput | None = None
    incident_type: str | None = Field(None, max_length=64, description="An incident type's slug; the kind defaults "
                                                                        "to the type's base kind")
    custom_fields: dict[str, Any] | None = Field(None, description="The type's custom field values")


class IncidentPatch(PatchIn):
    """Omit a field to leave it alone. Fields that always hold a value refuse null: their
    `None` defaults only make them optional, and only the fields sent are applied."""

    clearable: ClassVar[frozenset[str]] = frozenset({"severity_reason", "impact", "detected_at", "impact_started_at",
                                                     "conference_url"})

    title: str | None = Field(None, min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=50_000)
    status: Status | None = Field(None)
    severity: SeverityIn | None = Field(None)
    severity_reason: str | None = Field(None, max_length=2000)
    kind: Kind | None = Field(None)
    restricted: bool | None = Field(None)
    impact: ImpactIn | None = None
    services: list[str] | None = Field(None, max_length=100)
    detected_at: UTCInput | None = None
    impact_started_at: UTCInput | None = None
    postmortem_waived_reason: str | None = Field(None, min_length=1, max_length=2000,
                                          description="Why this incident may close without a published postmortem "
                                                      "(kept on the timeline)")
    conference_url: str | None = Field(None, max_length=2000,
                                       description="Conference bridge or chat link (http or https); null removes it")


class ImpactOut(Out):
    customers_affected: int | None
    revenue_at_risk_per_hour: float | None
    data_sensitivity: DataSensitivity | None
    customer_facing: bool | None


class RoleHolderOut(Out):
    role: Role
    user: UserRef
    assigned_at: datetime


class ServiceRef(Out):
    id: uuid.UUID
    slug: str
    name: str


class IncidentOut(Out):
    id: uuid.UUID
    ref: str
    number: int
    title: str
    summary: str
    kind: Kind
    severity: Severity
    status: Status
    restricted: bool
    drill: bool = Field(False, description="An exercise's incident (drill mode)")
    impact: ImpactOut
    suggested_severity: Severity | None
    severity_reason: str | None
    services: list[ServiceRef]
    roles: list[RoleHolderOut]
    declared_by: UserRef | None
    impact_started_at: datetime | None
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    postmortem_waived_reason: str | None = Field(None, description="Why it may close without a published "
                                                                   "postmortem")
    conference_url: str | None = Field(None, description="Conference bridge or chat link")
    incident_type: str | None = Field(None, description="The incident type's slug")
    custom_fields: dict[str, Any] | None = Field(None, description="The type's custom field values")


class CountsOut(Out):
    total: int
    by_status: dict[str, int]
    by_severity: dict[str, int]


class NoteIn(StrictIn):
    text: str = Field(min_length=1, max_length=20_000)
    occurred_at: UTCInput | None = Field(None, description="Back-date the note (scribe, IC or admin only)")
    key_event: bool = False


class NotePatch(StrictIn):
    text: str | None = Field(None, min_length=1, max_length=20_000)
    key_event: bool | None = None


class TimelineEntryOut(Out):
    id: uuid.UUID
    kind: str
    text: str
    actor: UserRef | None
    occurred_at: datetime
    recorded_at: datetime
    key_event: bool
    edited_at: datetime | None
    revisions: int
    data: dict[str, Any]


class RevisionOut(Out):
    revision: int
    text: str
    edited_by_id: uuid.UUID | None
    edited_at: datetime


class RoleIn(StrictIn):
    role: Role
    user: str | None = Field(max_length=320, description="User id or email; null vacates the role")


class RoleAssignmentOut(Out):
    role: Role
    user: UserRef
    assigned_at: datetime
    ended_at: datetime | None
    assigned_by_id: uuid.UUID | None


class RolesOut(Out):
    current: list[RoleHolderOut]
    history: list[RoleAssignmentOut]


class ParticipantIn(StrictIn):
    user: str | None = Field(None, max_length=320, description="User id or email; default: yourself")
    kind: ParticipantKind = ParticipantKind.responder


class ParticipantOut(Out):
    user: UserRef
    kind: ParticipantKind
    joined_at: datetime
