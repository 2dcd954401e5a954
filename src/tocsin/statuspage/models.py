"""Status page rows.

A page has components (optionally grouped), public incidents and scheduled maintenances
(both `status_incidents`, told apart by `kind`) with their customer-facing updates, a log of
component status changes (for the 90-day uptime bars) and subscribers.

Nothing here holds internal detail: a public incident has its own name and updates written
for customers. `incident_id` links it to the internal incident it was posted from; it is
never rendered, and it is empty for an admin's separate notice about a restricted incident.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class StatusPage(Base):
    __tablename__ = "status_pages"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # An https:// address or a data: URI of an image; rendered as <img src>, never fetched by tocsin.
    logo_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # The public address the page is served at (the `page.url` field of the JSON API).
    public_url: Mapped[str | None] = mapped_column(sa.String(2000))
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusComponent(Base):
    """A component, or a group of components (`is_group`); children point at their group."""

    __tablename__ = "status_components"

    id: Mapped[uuid.UUID] = uuid_pk()
    page_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_pages.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("status_components.id", ondelete="CASCADE"))
    is_group: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    status: Mapped[str] = mapped_column(sa.String(32), default="operational")
    only_show_if_degraded: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Internal links, never rendered: incidents on this service offer this component when
    # posting a public update; a linked synthetic check's failures count in the uptime bar.
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="SET NULL"))
    check_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ComponentStatusChange(Base):
    """Every change of a component's status, with when; the uptime bars are computed from these."""

    __tablename__ = "status_component_changes"
    __table_args__ = (sa.Index("ix_status_component_changes_component_at", "component_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    component_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_components.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]


class StatusIncident(Base):
    """A public incident (`kind` incident: investigating → … → resolved → postmortem) or a
    scheduled maintenance (`kind` maintenance: scheduled → in_progress → verifying → completed)."""

    __tablename__ = "status_incidents"
    __table_args__ = (sa.Index("ix_status_incidents_page_created", "page_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    page_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"),
                                                          index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    impact: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime]
    scheduled_for: Mapped[datetime | None]
    scheduled_until: Mapped[datetime | None]
    # Maintenance only: move to in_progress at scheduled_for and to completed at scheduled_until.
    auto_transition: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    monitoring_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusIncidentComponent(Base):
    """The components a public incident or maintenance affects."""

    __tablename__ = "status_incident_components"

    status_incident_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("status_incidents.id", ondelete="CASCADE"), primary_key=True)
    component_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("status_components.id", ondelete="CASCADE"), primary_key=True, index=True)


class StatusUpdate(Base):
    """One customer-facing update; `affected_components` is the Statuspage list of
    {"code", "name", "old_status", "new_status"} or None."""

    __tablename__ = "status_updates"
    __table_args__ = (sa.Index("ix_status_updates_incident_display", "status_incident_id", "display_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    status_incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[str] = mapped_column(sa.Text)
    affected_components: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    deliver_notifications: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    display_at: Mapped[datetime]
    created_at: Mapped[datetime]


class StatusSubscriber(Base):
    """An email address (confirmed by double opt-in) or a webhook URL subscribed to a page.

    Tokens are stored as SHA-256: `confirm_token_hash` for the opt-in link,
    `unsubscribe_token_hash` for the one-click unsubscribe link in every message."""

    __tablename__ = "status_subscribers"
    __table_args__ = (sa.UniqueConstraint("page_id", "kind", "address"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    page_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    address: Mapped[str] = mapped_column(sa.String(2000))
    confirm_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    unsubscribe_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class SubscriberDelivery(Base):
    """Outbox: one message to one subscriber (a confirmation request or an update), sent after
    commit by the engine with retries, like every other side effect."""

    __tablename__ = "status_deliveries"
    __table_args__ = (sa.Index("ix_status_deliveries_due", "sent_at", "next_attempt_at"),
                      sa.Index("ix_status_deliveries_created_at", "created_at"))  # retention deletes oldest first

    id: Mapped[uuid.UUID] = uuid_pk()
    subscriber_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_subscribers.id", ondelete="CASCADE"),
                                                     index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # confirm | update
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
