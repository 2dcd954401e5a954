"""API shapes for runbooks and their steps in an incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from tocsin.schemas import Name, Out, PatchIn, Slug, StrictIn
from tocsin.users.schemas import UserRef

MatcherSpec = str | dict[str, str]
_MATCHERS = ("Label matchers like Alertmanager's: 'alertname=~\"Postgres.*\"' or {name, op, value} "
             "with op =, !=, =~, !~; an alert whose labels match all of them gets the runbook")


class RunbookIn(StrictIn):
    title: Name
    slug: Slug | None = Field(None, description="Made from the title when left out")
    team: str | None = Field(None, max_length=64, description="The owning team (slug or id)")
    body_md: str = Field("", max_length=100_000, description="Markdown; its top-level ordered list items are the steps")
    services: list[str] = Field(default_factory=list, max_length=100, description="Linked services (slugs or ids)")
    matchers: list[MatcherSpec] = Field(default_factory=list, max_length=32, description=_MATCHERS)


class RunbookPatch(PatchIn):
    clearable: ClassVar[frozenset[str]] = frozenset({"team"})
    title: Name | None = None
    slug: Slug | None = None
    team: str | None = Field(None, max_length=64)
    body_md: str | None = Field(None, max_length=100_000)
    services: list[str] | None = Field(None, max_length=100)
    matchers: list[MatcherSpec] | None = Field(None, max_length=32, description=_MATCHERS)


class MatcherOut(BaseModel):
    name: str
    op: str
    value: str


class StepOut(BaseModel):
    number: int
    text: str = Field(description="The step's first paragraph (Markdown)")
    detail: str = Field(description="The rest of the step (Markdown)")
    actions: list[str] = Field(description="Approved actions the step names ([action: slug])")


class RunbookOut(Out):
    id: uuid.UUID
    slug: str
    title: str
    team: str | None = Field(description="The owning team's slug")
    body_md: str
    services: list[str]
    matchers: list[MatcherOut]
    steps: list[StepOut]
    url: str = Field(description="The runbook in the console")
    created_at: datetime
    updated_at: datetime


class RunbookLinkOut(BaseModel):
    slug: str
    title: str
    url: str


class StepStateOut(StepOut):
    state: Literal["done", "skipped"] | None
    by: UserRef | None
    at: datetime | None
    note: str | None


class IncidentRunbookOut(RunbookLinkOut):
    steps: list[StepStateOut]


class StepMarkIn(StrictIn):
    state: Literal["done", "skipped", "undone"]
    note: str = Field("", max_length=2000, description="Shown on the timeline")
