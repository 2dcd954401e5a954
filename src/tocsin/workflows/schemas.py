"""API shapes for incident workflows, their runs, and incident types."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from tocsin.incidents.types import Kind, Status
from tocsin.schemas import Out, PatchIn, StrictIn

Trigger = Literal["declared", "status_changed"]
STEPS_DOC = ("Each step is {kind, ...}: page_team {team, message?}; add_role {role, user | schedule}; "
             "post_template {template}; create_chat_channel {}; open_checklist {template?}; "
             "run_action {action, params?}")


class WorkflowIn(StrictIn):
    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    trigger: Trigger = "declared"
    to_status: Status | None = Field(None, description="status_changed only: the status it moved to (null: any)")
    kinds: list[Kind] = Field(default_factory=list, max_length=4, description="Empty: any kind")
    severities: list[str] = Field(default_factory=list, max_length=8, description="Empty: any severity")
    incident_types: list[str] = Field(default_factory=list, max_length=50, description="Type slugs; empty: any")
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=20, description=STEPS_DOC)


class WorkflowPatch(PatchIn):
    clearable: ClassVar[frozenset[str]] = frozenset({"to_status"})

    name: str | None = Field(None, min_length=1, max_length=120)
    enabled: bool | None = None
    trigger: Trigger | None = None
    to_status: Status | None = None
    kinds: list[Kind] | None = Field(None, max_length=4)
    severities: list[str] | None = Field(None, max_length=8)
    incident_types: list[str] | None = Field(None, max_length=50)
    steps: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20, description=STEPS_DOC)


class WorkflowOut(Out):
    id: uuid.UUID
    name: str
    enabled: bool
    trigger: str
    to_status: str | None
    kinds: list[str]
    severities: list[str]
    incident_types: list[str]
    steps: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class WorkflowRunOut(Out):
    id: uuid.UUID
    workflow_id: uuid.UUID | None
    workflow_name: str
    trigger_key: str = Field(description="The timeline entry (declared or status_changed) that started it")
    step_index: int
    step_kind: str
    status: str = Field(description="done, failed or skipped")
    detail: str
    at: datetime


class CustomFieldSpec(StrictIn):
    key: str = Field(min_length=1, max_length=64)
    label: str = Field("", max_length=120)
    type: Literal["text", "number", "choice", "boolean"] = "text"
    required: bool = False
    choices: list[str] = Field(default_factory=list, max_length=50)


class IncidentTypeIn(StrictIn):
    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    base_kind: Kind = Kind.operational
    description: str = Field("", max_length=4000)
    custom_fields: list[CustomFieldSpec] = Field(default_factory=list, max_length=30)
    checklist: list[str] | dict[str, str] = Field(
        default_factory=list, description='Step titles, or {"template": "<containment checklist template name>"}')
    templates: list[str] = Field(default_factory=list, max_length=20, description="Communication template slugs")


class IncidentTypePatch(PatchIn):
    name: str | None = Field(None, min_length=1, max_length=120)
    base_kind: Kind | None = None
    description: str | None = Field(None, max_length=4000)
    custom_fields: list[CustomFieldSpec] | None = Field(None, max_length=30)
    checklist: list[str] | dict[str, str] | None = None
    templates: list[str] | None = Field(None, max_length=20)


class IncidentTypeOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    base_kind: str
    description: str
    custom_fields: list[dict[str, Any]]
    checklist: list[str] | dict[str, str]
    templates: list[str]
    created_at: datetime
    updated_at: datetime


class CustomFieldsIn(StrictIn):
    values: dict[str, Any] = Field(description="The incident's custom field values (all of them: a value left "
                                               "out is cleared)")


class CustomFieldsOut(Out):
    incident_type: str | None
    custom_fields: dict[str, Any]
