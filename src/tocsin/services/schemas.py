"""API shapes for the services catalog."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.schemas import Name, Out, Slug, StrictIn



class ServiceIn(StrictIn):
    name: Name
    slug: Slug | None = None
    description: str = Field("", max_length=10_000)
    owner_team: str | None = Field(None, max_length=64, description="Team slug or id")
    tier: int = Field(3, ge=1, le=4, description="1 is the most critical")
    runbook_url: str | None = Field(None, max_length=2048)
    depends_on: list[str] = Field(default_factory=list, max_length=200, description="Service slugs or ids")


class ServicePatch(StrictIn):
    name: Name | None = None
    description: str | None = Field(None, max_length=10_000)
    owner_team: str | None = Field(None, max_length=64)
    tier: int | None = Field(None, ge=1, le=4)
    runbook_url: str | None = Field(None, max_length=2048)
    depends_on: list[str] | None = Field(None, max_length=200)


class ServiceOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    owner_team_id: uuid.UUID | None
    tier: int
    runbook_url: str | None
    depends_on: list[str] = []
    created_at: datetime
    updated_at: datetime
