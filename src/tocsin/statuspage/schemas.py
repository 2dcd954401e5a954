"""API shapes for managing status pages (/api/v1/status-pages...). The public page itself speaks
Statuspage's v2 JSON (statuspage/render.py), not these."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, PatchIn, Slug, StrictIn, UTCInput
from tocsin.statuspage.types import ComponentStatus, IncidentStatus, MaintenanceStatus

Text = Annotated[str, Field(max_length=20_000)]
Body = Annotated[str, Field(min_length=1, max_length=20_000, description="What customers read")]
PublicName = Annotated[str, Field(min_length=1, max_length=300, description="The title customers see")]
Url = Annotated[str, Field(min_length=1, max_length=2000)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA name, e.g. Europe/Berlin")]
IncidentImpact = Literal["none", "minor", "major", "critical"]
ComponentStatuses = Annotated[
    dict[uuid.UUID, ComponentStatus],
    Field(default_factory=dict, max_length=200, description="Component id -> its new status")]


class PageIn(StrictIn):
    slug: Slug
    name: Name
    description: Text = ""
    logo_url: Url | None = Field(None, description="https:// address or data:image/(png|svg+xml|jpeg|gif);base64,...")
    public_url: Url | None = Field(None, description="Where customers reach the page (http:// or https://)")
    time_zone: TimeZone = "UTC"


class PagePatch(PatchIn):

    clearable: ClassVar[frozenset[str]] = frozenset({"logo_url", "public_url"})

    slug: Slug | None = Field(None)
    name: Name | None = Field(None)
    description: Text | None = Field(None)
    logo_url: Url | None = None
    public_url: Url | None = None
    time_zone: TimeZone | None = Field(None)


class ComponentIn(StrictIn):
    name: Name
    description: Text = ""
    group: uuid.UUID | None = Field(None, description="Id of the group (a component with is_group) it belongs to")
    is_group: bool = False
    position: int | None = Field(None, ge=0, le=1_000_000, description="Display order; default: last")
    service: str | None = Field(None, min_length=1, max_length=64,
                                description="Service slug or id: its incidents offer this component")
    check_id: uuid.UUID | None = Field(None, description="A synthetic check whose failures count in the uptime bar")
    only_show_if_degraded: bool = False


class ComponentPatch(PatchIn):
    """Omit a field to leave it alone. `status` needs the responder role, every other field admin."""

    clearable: ClassVar[frozenset[str]] = frozenset({"group", "service", "check_id"})

    name: Name | None = Field(None)
    description: Text | None = Field(None)
    group: uuid.UUID | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    service: str | None = Field(None, min_length=1, max_length=64)
    check_id: uuid.UUID | None = None
    only_show_if_degraded: bool | None = Field(None)
    status: ComponentStatus | None = Field(None)


class ComponentOut(Out):
    id: uuid.UUID
    page_id: uuid.UUID
    group_id: uuid.UUID | None
    is_group: bool
    name: str
    description: str
    position: int
    status: str
    only_show_if_degraded: bool
    service_id: uuid.UUID | None
    check_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PageOut(Out):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    logo_url: str | None
    public_url: str | None
    time_zone: str
    created_at: datetime
    updated_at: datetime


class PageDetailOut(PageOut):
    components: list[ComponentOut]


class UpdateFields(StrictIn):
    status: IncidentStatus
    body: Body
    component_statuses: ComponentStatuses
    impact: IncidentImpact | None = Field(None, description="Default: from the worst component status posted")
    deliver_notifications: bool = Field(True, description="Send this update to subscribers")


class StatusIncidentIn(UpdateFields):
    name: PublicName
    incident: str | None = Field(None, min_length=1, max_length=64,
                                 description="The internal incident (INC-42) this is about; never shown publicly")


class StatusUpdateIn(UpdateFields):
    name: PublicName | None = Field(None, description="Rename the public incident")


class FromIncidentIn(UpdateFields):
    page: str = Field(min_length=1, max_length=64, description="Status page slug")
    name: PublicName | None = Field(None, description="Required for the first post from this incident to the page")


class UpdateOut(Out):
    id: uuid.UUID
    status: str
    body: str
    affected_components: list[dict[str, Any]] | None
    deliver_notifications: bool
    display_at: datetime
    created_at: datetime


class StatusIncidentOut(Out):
    id: uuid.UUID
    page_id: uuid.UUID
    kind: str
    name: str
    status: str
    impact: str
    started_at: datetime
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    auto_transition: bool
    monitoring_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    components: list[uuid.UUID]
    updates: list[UpdateOut] = Field(description="Newest first")


class MaintenanceIn(StrictIn):
    name: PublicName
    body: Body
    scheduled_for: UTCInput
    scheduled_until: UTCInput
    components: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    auto_transition: bool = Field(True, description="Start at scheduled_for and complete at scheduled_until")
    deliver_notifications: bool = True


class MaintenancePatch(PatchIn):
    """A `status` or `body` posts an update; the other fields edit the announcement."""

    status: MaintenanceStatus | None = Field(None)
    body: Body | None = Field(None)
    name: PublicName | None = Field(None)
    scheduled_for: UTCInput | None = Field(None)
    scheduled_until: UTCInput | None = Field(None)
    components: list[uuid.UUID] | None = Field(None, max_length=200)
    auto_transition: bool | None = Field(None)
    deliver_notifications: bool = True


class WebhookIn(StrictIn):
    url: Url


class SubscriberOut(Out):
    id: uuid.UUID
    kind: str
    address: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


class WebhookOut(SubscriberOut):
    signing_secret: str = Field(description="Verify X-Tocsin-Signature with this (see docs/status-pages.md)")


class PublishPublicIn(StrictIn):
    page: str = Field(min_length=1, max_length=64, description="Status page slug")


MaintenanceOut = StatusIncidentOut  # a maintenance is a status incident of kind "maintenance"
