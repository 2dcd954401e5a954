"""API shapes of the legal gate: a held draft, approving and rejecting it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from tocsin.schemas import Out, StrictIn


class DraftOut(Out):
    """A communication held for (or decided by) the incident's Legal role holder."""

    id: uuid.UUID
    purpose: str = Field(description="`update` (a status page update) or `postmortem` (a postmortem's public text)")
    state: str = Field(description="`pending`, `published` (approved and posted as approved) or `rejected`")
    page: str = Field(description="Status page slug")
    page_name: str
    status_incident_id: uuid.UUID | None
    postmortem_id: uuid.UUID | None
    name: str | None
    status: str
    body: str = Field(description="The text as drafted")
    component_statuses: dict[str, Any]
    impact: str | None
    deliver_notifications: bool
    requested_by: str | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    approved_body: str | None = Field(description="The text as approved and published (Legal may edit it)")
    reason: str | None = Field(description="Why Legal rejected it")
    published_status_incident_id: uuid.UUID | None


class ApproveIn(StrictIn):
    body: str | None = Field(None, max_length=20_000,
                             description="The text to publish instead of the drafted one (Legal's edit)")


class RejectIn(StrictIn):
    reason: str = Field(min_length=1, max_length=2000)
