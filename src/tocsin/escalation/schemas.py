"""API shapes for escalation policies, a service's policy, an alert's escalation, and
re-escalating or reassigning an alert."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, PatchIn, Slug, StrictIn

TargetType = Literal["user", "schedule", "team"]


class TargetIn(StrictIn):
    """A user (notified), a schedule (whoever is on call at each step) or a team (every active
    member at each step). Give exactly one of `id` (the user's, schedule's or team's id; a user's
    email or a schedule's or team's slug also work here), `email` (users) or `slug` (schedules, teams)."""

    type: TargetType
    id: str | None = Field(None, min_length=1, max_length=320)
    email: str | None = Field(None, min_length=1, max_length=320)
    slug: str | None = Field(None, min_length=1, max_length=64)


class LevelIn(StrictIn):
    delay_minutes: int = Field(ge=1, le=1440, description="Minutes to wait for an acknowledgement before the next level")
    targets: list[TargetIn] = Field(min_length=1, max_length=20, description="Notified at once when the level starts")


Levels = list[LevelIn]


class PolicyIn(StrictIn):
    name: Name
    slug: Slug | None = Field(None, description="Default: derived from the name")
    description: str = Field("", max_length=10_000)
    repeat: int = Field(0, ge=0, le=9, description="How many extra times the whole policy runs")
    levels: Levels = Field(min_length=1, max_length=20)


class PolicyPatch(PatchIn):
    """Omit a field to leave it alone; `levels` replaces the whole list. Running escalations keep
    the policy as it was when they started."""

    name: Name | None = Field(None)
    slug: Slug | None = Field(None)
    description: str | None = Field(None, max_length=10_000)
    repeat: int | None = Field(None, ge=0, le=9)
    levels: Levels | None = Field(None, min_length=1, max_length=20)


class TargetOut(Out):
    type: TargetType
    id: uuid.UUID
    name: str | None = Field(description="The user's email, or the schedule's or team's slug (null: deleted since)")


class LevelOut(Out):
    position: int
    delay_minutes: int
    targets: list[TargetOut]


class PolicyOut(Out):
    id: uuid.UUID
    name: str
    slug: str
    description: str
    repeat: int
    levels: list[LevelOut]
    services: list[str] = Field(description="Slugs of the services that page with this policy")
    created_at: datetime
    updated_at: datetime


class ServicePolicyIn(StrictIn):
    policy: str | None = Field(max_length=64, description="The policy's slug or id; null detaches it")


class ServicePolicyOut(Out):
    service: str
    policy: str | None
    policy_id: uuid.UUID | None


class NotificationOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    user: str | None = Field(description="The user's email")
    kind: str
    channel: str = Field("email", description="How the message goes out, e.g. email, sms, webhook")
    destination: str = Field("", description="The address, number or URL it goes to")
    subject: str
    status: str
    idempotency_key: str
    created_at: datetime
    send_after: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    delivered_at: datetime | None = Field(None, description="When the provider reported delivery")
    provider_id: str | None = Field(None, description="The provider's id for the message")
    bundle_id: uuid.UUID | None = Field(None, description="The notification that carried this one (status bundled)")


class EscalationOut(Out):
    id: uuid.UUID
    alert_id: uuid.UUID | None = Field(description="The alert being paged about (null: an incident's own page)")
    incident_id: uuid.UUID | None = Field(None, description="The incident paging for an Incident Commander")
    service_id: uuid.UUID
    status: Literal["active", "stopped", "exhausted"]
    stop_reason: str | None
    level: int = Field(description="The next level to notify (0-based)")
    loop: int = Field(description="Which run of the policy (0: the first)")
    next_at: datetime | None
    epoch: int
    started_at: datetime
    updated_at: datetime
    snapshot: dict[str, Any] = Field(description="The policy as it was when the escalation started, or when "
                                                 "the alert was last reassigned")
    notifications: list[NotificationOut]


class ReescalateIn(StrictIn):
    level: int | None = Field(None, ge=1, le=20, description="The level to notify now (1-based); null: the level "
                              "the escalation stands at (the last one once it is exhausted)")


class ReassignIn(StrictIn):
    """Give exactly one: `targets` (paged as a one-level policy that waits 15 minutes and does not
    repeat) or `policy`. Either way the escalation starts over at level 1, now."""

    targets: list[TargetIn] | None = Field(None, min_length=1, max_length=20,
                                           description="Users, schedules or teams, named as in a policy level")
    policy: str | None = Field(None, min_length=1, max_length=64, description="An escalation policy's slug or id")
