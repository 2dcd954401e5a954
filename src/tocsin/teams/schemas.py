"""API shapes for teams."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.schemas import Name, Out, Slug, StrictIn


class TeamIn(StrictIn):
    name: Name
    slug: Slug | None = None
    description: str = Field("", max_length=10_000)
    is_security: bool = False


class TeamPatch(StrictIn):
    name: Name | None = None
    description: str | None = Field(None, max_length=10_000)
    is_security: bool | None = None


class MembersIn(StrictIn):
    users: list[str] = Field(max_length=1000, description="User ids or emails: the complete new member list")


class TeamOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    is_security: bool
    created_at: datetime
    members: list[uuid.UUID] = []
