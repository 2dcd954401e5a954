"""API shapes for communication templates, stakeholder subscriptions and incident updates."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tocsin.comms.types import Audience, Channel, TemplateKind
from tocsin.schemas import Out, StrictIn


class CommsTemplateIn(StrictIn):
    slug: str = Field(max_length=64, description="Lowercase letters, digits and hyphens; unique")
    name: str = Field(max_length=120)
    channel: Channel
    severities: list[str] = Field(default_factory=list, max_length=4,
                                  description="Offered for these severities (empty: all)")
    kind: TemplateKind = TemplateKind.any
    subject: str = Field(max_length=300, description="A Jinja2 template (sandboxed), one line")
    body: str = Field(max_length=20_000, description="A Jinja2 template (sandboxed); names: see docs/comms.md")


class CommsTemplateOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    channel: Channel
    severities: list[str]
    kind: TemplateKind
    subject: str
    body: str
    created_at: datetime
    updated_at: datetime


class RenderedOut(BaseModel):
    template: str
    channel: Channel
    subject: str
    body: str


class UpdateIn(StrictIn):
    text: str | None = Field(None, max_length=20_000, description="The update's text (or give `template`)")
    template: str | None = Field(None, max_length=64, description="An internal template's slug, filled from the "
                                                                  "incident (when no text is given)")
    audience: Audience = Field(Audience.responders, description="responders: the timeline only; stakeholders: "
                                                                "also queued to the incident's stakeholders")


class UpdateOut(BaseModel):
    entry_id: uuid.UUID
    text: str
    audience: Audience
    sent: int = Field(description="Stakeholders the update was queued to")
    drill_spared: int = Field(description="Stakeholders of a drill incident, not sent to")
    next_update_due: str = Field(description="ISO 8601 (UTC): when the next update is due; empty once closed")


class StakeholderIn(StrictIn):
    team: str | None = Field(None, max_length=64, description="A team's slug (its members receive); "
                                                             "omit to subscribe yourself")
    user_id: uuid.UUID | None = Field(None, description="Admins: subscribe this person")
    service: str | None = Field(None, max_length=64, description="A service's slug (omit: any service)")
    min_severity: str | None = Field(None, max_length=8, description="This severity or worse (omit: any)")


class StakeholderOut(BaseModel):
    id: uuid.UUID
    user: str | None
    team: str | None
    service: str | None
    min_severity: str | None
