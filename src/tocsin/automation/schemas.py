"""API shapes for approved actions and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tocsin.automation.types import ActionKind, ParamType, RunStatus
from tocsin.schemas import Out, StrictIn
from tocsin.users.schemas import UserRef


class ParamSpec(StrictIn):
    name: str = Field(min_length=1, max_length=40, description="lower-case letters, digits and _")
    type: ParamType
    choices: list[str] = Field(default_factory=list, max_length=50, description="For choice parameters")
    required: bool = False
    pattern: str | None = Field(None, max_length=300,
                                description="String parameters: a regular expression the whole value must match")


class ActionIn(StrictIn):
    slug: str = Field(min_length=1, max_length=64, description="How runbooks, workflows and the API name it")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    kind: ActionKind
    url: str | None = Field(None, max_length=2000, description="webhook: where the signed POST goes (egress guard)")
    command: str | None = Field(None, max_length=64,
                                description="command: the NAME of a command in the operator's allow-list file")
    params_schema: list[ParamSpec] = Field(default_factory=list, max_length=20)
    requires_approval: bool = Field(False, description="A second person approves each run")
    timeout_s: int = Field(60, ge=1, le=3600)
    enabled: bool = True


class ActionPatch(StrictIn):
    slug: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    kind: ActionKind | None = None
    url: str | None = Field(None, max_length=2000)
    command: str | None = Field(None, max_length=64)
    params_schema: list[ParamSpec] | None = Field(None, max_length=20)
    requires_approval: bool | None = None
    timeout_s: int | None = Field(None, ge=1, le=3600)
    enabled: bool | None = None


class ParamOut(BaseModel):
    name: str
    type: ParamType
    choices: list[str]
    required: bool
    pattern: str | None


class ActionOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    kind: ActionKind
    url: str | None = Field(description="Shown to admins only")
    command: str | None
    params_schema: list[ParamOut]
    requires_approval: bool
    timeout_s: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class CommandsOut(BaseModel):
    commands: dict[str, list[str]] = Field(description="The operator's allow-listed commands (name -> argv)")
    error: str | None = Field(description="Why the allow-list file cannot be read, if it cannot")


class RunIn(StrictIn):
    action: str = Field(min_length=1, max_length=64, description="The action's slug")
    params: dict[str, str | int | bool] = Field(default_factory=dict)
    dry_run: bool = Field(False, description="Show what would run, without running it (needs no approval)")


class DecideIn(StrictIn):
    reason: str = Field("", max_length=2000)


class RunOut(BaseModel):
    id: uuid.UUID
    action: str
    action_name: str
    kind: ActionKind
    params: dict[str, str | int | bool]
    dry_run: bool
    status: RunStatus
    requested_by: UserRef | None
    approved_by: UserRef | None = Field(description="Who approved or refused it")
    exit_status: int | None
    http_status: int | None = Field(description="Webhooks: the receiver's status code (its reply is never kept)")
    output: str = Field(description="Commands: stdout and stderr (truncated to 16 KB); dry runs: what would run")
    requested_at: datetime
    decided_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
