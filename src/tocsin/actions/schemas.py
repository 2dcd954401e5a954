"""API shapes for action items and the tracker's incoming status updates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import Field, model_validator

from tocsin.actions.types import ActionPriority, ActionStatus, ActionType
from tocsin.schemas import Out, PatchIn, StrictIn, UTCInput
from tocsin.users.schemas import UserRef

KEY = 320  # an id, a ref, an email or a slug
DueDate = date


class ActionItemIn(StrictIn):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    type: ActionType = Field(description="prevent, mitigate, detect or process")
    priority: ActionPriority = ActionPriority.medium
    owner: str | None = Field(None, min_length=1, max_length=KEY, description="User id, email or \"me\"")
    team: str | None = Field(None, min_length=1, max_length=64,
                             description="Team slug or id; default: the owner's team when they have exactly one")
    due_at: UTCInput | None = Field(None, description="When it is due (an aware date-time)")
    due_on: DueDate | None = Field(None, description="Or the day it is due: the end of that day in the owner's "
                                                     "time zone (UTC without an owner)")
    incident: str | None = Field(None, min_length=1, max_length=64, description="Incident ref (INC-42) or id")
    postmortem: str | None = Field(None, min_length=1, max_length=64,
                                   description="Postmortem id (links the postmortem's incident too)")
    problem: str | None = Field(None, min_length=1, max_length=64, description="Problem ref (PRB-3) or id")
    external_id: str | None = Field(None, max_length=200, description="The tracker's key, e.g. OPS-123")
    external_url: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _one_due(self) -> ActionItemIn:
        if self.due_at is not None and self.due_on is not None:
            raise ValueError("give due_at or due_on, not both")
        return self


class ActionItemPatch(PatchIn):
    """Omit a field to leave it alone; null clears owner, team, due date, problem and the
    external link. Setting a due date or owner restarts the reminders."""

    clearable: ClassVar[frozenset[str]] = frozenset({"owner", "team", "due_at", "problem", "external_id", "external_url"})

    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20_000)
    type: ActionType | None = Field(None)
    priority: ActionPriority | None = Field(None)
    status: ActionStatus | None = Field(None, description="done and wont_do stamp completed_at; re-opening clears it")
    owner: str | None = Field(None, min_length=1, max_length=KEY)
    team: str | None = Field(None, min_length=1, max_length=64)
    due_at: UTCInput | None = None
    due_on: DueDate | None = Field(None)
    problem: str | None = Field(None, min_length=1, max_length=64)
    external_id: str | None = Field(None, max_length=200)
    external_url: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _one_due(self) -> ActionItemPatch:
        if self.due_at is not None and self.due_on is not None:
            raise ValueError("give due_at or due_on, not both")
        return self


class TrackerUpdateIn(StrictIn):
    """An incoming status from the tracker. Name the item by `id`/`ref`, or by the
    `external_id` it was given (when both are sent, the item named gets that external id)."""

    id: str | None = Field(None, min_length=1, max_length=64, description="Item id or ref (ACT-12)")
    ref: str | None = Field(None, min_length=1, max_length=64, description="Item ref (ACT-12)")
    external_id: str | None = Field(None, min_length=1, max_length=200)
    status: str = Field(min_length=1, max_length=32,
                        description="open, in_progress, done, wont_do; also closed/resolved (done), reopened (open)")
    external_url: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _named(self) -> TrackerUpdateIn:
        if not (self.id or self.ref or self.external_id):
            raise ValueError("name the item by id, ref or external_id")
        return self


class TeamRef(Out):
    id: uuid.UUID
    slug: str
    name: str


class LinkRef(Out):
    id: uuid.UUID
    ref: str
    title: str


class ActionItemOut(Out):
    id: uuid.UUID
    ref: str
    number: int
    title: str
    description: str
    type: ActionType
    priority: ActionPriority
    status: ActionStatus
    owner: UserRef | None
    team: TeamRef | None
    incident: LinkRef | None
    postmortem_id: uuid.UUID | None
    problem: LinkRef | None
    due_at: datetime | None
    overdue: bool = Field(description="Open or in progress and past its due time")
    completed_at: datetime | None
    created_by: UserRef | None
    created_at: datetime
    updated_at: datetime
    external_id: str | None
    external_url: str | None
    reminded_before_at: datetime | None
    last_reminded_at: datetime | None
    overdue_reminders: int


class TrackerUpdateOut(Out):
    changed: bool
    action_item: ActionItemOut


class SyncSecretOut(Out):
    url: str | None = Field(description="Where changes are sent (TOCSIN_ACTION_SYNC_URL); null: sync is off")
    secret: str = Field(description="Checks X-Tocsin-Signature: v1=hex HMAC-SHA256(secret, \"<timestamp>.<body>\")")
    signature_header: str
    timestamp_header: str
