"""API shapes for the services catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, Slug, StrictIn

ALERT_SETTINGS_DOC = ("Alert handling: `group_by` (label names), `group_window_seconds`, `flap_window_seconds`, "
                      "`support_hours` ({timezone, days: [1..7], start: \"09:00\", end: \"17:00\"}); null for defaults")
PAGING_UNIT_DOC = ("What one escalation pages for: `group` (one page per alert group, updated as the group grows; "
                   "the default for new services) or `alert` (every alert pages on its own)")
PagingUnit = Literal["alert", "group"]


class ServiceIn(StrictIn):
    name: Name
    slug: Slug | None = None
    description: str = Field("", max_length=10_000)
    owner_team: str | None = Field(None, max_length=64, description="Team slug or id")
    tier: int = Field(3, ge=1, le=4, description="1 is the most critical")
    runbook_url: str | None = Field(None, max_length=2048)
    depends_on: list[str] = Field(default_factory=list, max_length=200, description="Service slugs or ids")
    alert_settings: dict[str, Any] | None = Field(None, description=ALERT_SETTINGS_DOC)
    paging_unit: PagingUnit = Field("group", description=PAGING_UNIT_DOC)
    drill: bool = Field(False, description="An exercise's stand-in service: its alerts and incidents are drills")


class ServicePatch(StrictIn):
    name: Name | None = None
    description: str | None = Field(None, max_length=10_000)
    owner_team: str | None = Field(None, max_length=64)
    tier: int | None = Field(None, ge=1, le=4)
    runbook_url: str | None = Field(None, max_length=2048)
    depends_on: list[str] | None = Field(None, max_length=200)
    alert_settings: dict[str, Any] | None = Field(None, description=ALERT_SETTINGS_DOC)
    paging_unit: PagingUnit | None = Field(None, description=PAGING_UNIT_DOC)


class ServiceOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    owner_team_id: uuid.UUID | None
    tier: int
    runbook_url: str | None
    depends_on: list[str] = []
    alert_settings: dict[str, Any] | None = None
    paging_unit: str = Field(description=PAGING_UNIT_DOC)
    drill: bool = Field(False, description="An exercise's stand-in service (drill mode)")
    created_at: datetime
    updated_at: datetime
