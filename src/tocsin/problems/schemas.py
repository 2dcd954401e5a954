"""API shapes for problem records, their linked incidents and recurrence suggestions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from tocsin.schemas import Out, PatchIn, StrictIn, check_strings
from tocsin.users.schemas import UserRef

ProblemStatus = Literal["open", "known_error", "resolved"]
Title = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(max_length=20_000)]
IncidentKey = Annotated[str, Field(min_length=1, max_length=64, description="Incident ref (INC-42) or id")]
DedupKey = Annotated[str, Field(min_length=1, max_length=300)]
Term = Annotated[str, Field(min_length=1, max_length=100)]
LabelName = Annotated[str, Field(min_length=1, max_length=200)]
LabelValue = Annotated[str, Field(max_length=1000)]


class MatchIn(StrictIn):
    """What a recurrence looks like. Keys and labels need the problem's `service`."""

    dedup_keys: list[DedupKey] = Field(default_factory=list, max_length=50,
                                       description="An alert on the problem's service with one of these keys matches")
    labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict, max_length=50,
        description="An alert on the problem's service with all of these labels (equal values) matches")
    terms: list[Term] = Field(default_factory=list, max_length=20,
                              description="A title or alert summary holding all of these words or phrases matches")

    @field_validator("labels", mode="after")
    @classmethod
    def _storable_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            check_strings(name)
            check_strings(text)
        return value


class ProblemIn(StrictIn):
    title: Title
    description: LongText = ""
    root_cause: LongText = ""
    known_error: LongText = Field("", description="What is known about the error")
    workaround: LongText = Field("", description="Shown to responders of incidents linked to or matching this problem")
    status: ProblemStatus = "open"
    service: str | None = Field(None, min_length=1, max_length=64, description="Service slug or id")
    match: MatchIn | None = None
    incidents: list[IncidentKey] = Field(default_factory=list, max_length=100,
                                         description="Incidents to link at once (refs or ids)")


class ProblemPatch(PatchIn):
    """Omit a field to leave it alone; `service` accepts null to clear it; `match` replaces the whole spec."""

    clearable: ClassVar[frozenset[str]] = frozenset({"service"})

    title: Title | None = Field(None)
    description: LongText | None = Field(None)
    root_cause: LongText | None = Field(None)
    known_error: LongText | None = Field(None)
    workaround: LongText | None = Field(None)
    status: ProblemStatus | None = Field(None, description="open -> known_error -> resolved; resolved -> open (recurred)")
    service: str | None = Field(None, min_length=1, max_length=64)
    match: MatchIn | None = Field(None)


class LinkIn(StrictIn):
    incident: IncidentKey


class MatchOut(Out):
    dedup_keys: list[str]
    labels: dict[str, Any]
    terms: list[str]


class ServiceRef(Out):
    id: uuid.UUID
    slug: str
    name: str


class ProblemSummaryOut(Out):
    id: uuid.UUID
    ref: str = Field(description="PRB-3")
    number: int
    title: str
    status: ProblemStatus
    known_error: str
    workaround: str
    service: ServiceRef | None


class ProblemOut(ProblemSummaryOut):
    description: str
    root_cause: str
    match: MatchOut
    created_by: UserRef | None
    created_at: datetime
    updated_at: datetime
    known_error_at: datetime | None
    resolved_at: datetime | None
    incident_count: int = Field(description="Linked incidents you may see")


class LinkedIncidentOut(Out):
    id: uuid.UUID
    ref: str
    title: str
    status: str
    severity: str
    declared_at: datetime
    recurrence: bool = Field(description="Declared after the problem was recorded")
    linked_at: datetime
    linked_by: UserRef | None


class ActionItemRef(Out):
    id: uuid.UUID
    ref: str = Field(description="ACT-12")
    title: str
    status: str
    due_at: datetime | None


class ProblemDetailOut(ProblemOut):
    incidents: list[LinkedIncidentOut]
    action_items: list[ActionItemRef]


class IncidentProblemOut(ProblemSummaryOut):
    """A problem an incident is linked to, with what responders need from it."""

    root_cause: str
    recurrence: bool
    linked_at: datetime


class SuggestionOut(Out):
    problem: ProblemSummaryOut
    reasons: list[str] = Field(description="Why this looks like a recurrence of the problem")
