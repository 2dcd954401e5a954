"""API shapes for role handbooks and the IC bench."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.handbooks.service import MAX_BODY
from tocsin.incidents.types import Role
from tocsin.schemas import Out, StrictIn
from tocsin.users.schemas import UserRef


class HandbookOut(Out):
    role: Role
    label: str
    body_md: str = Field(description="The handbook in Markdown")
    html: str = Field(description="The handbook rendered (raw HTML in it is escaped)")
    edited: bool = Field(description="False: the shipped default")
    updated_at: datetime | None
    updated_by: str | None = Field(description="Who edited it last (a name)")


class HandbookIn(StrictIn):
    body_md: str = Field(min_length=1, max_length=MAX_BODY)


class CreditOut(Out):
    exercise_id: uuid.UUID
    name: str
    score: int
    at: datetime


class BenchOut(Out):
    user: UserRef
    role: Role
    trained: bool
    trained_at: datetime | None
    exercises_passed: list[CreditOut] = Field(description="Exercises passed in this role, newest first")


class TrainedIn(StrictIn):
    trained: bool
    role: Role = Role.incident_commander
