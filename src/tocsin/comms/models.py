"""Communication rows: update templates, stakeholder subscriptions, and the update reminder each open
incident last had."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class CommsTemplate(Base):
    """A Jinja2 template (rendered in the sandbox) for one channel: internal updates, status page
    updates or customer emails; offered for incidents of `severities` (empty: all) and `kind`."""

    __tablename__ = "comms_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    channel: Mapped[str] = mapped_column(sa.String(16))  # internal | status_page | customer_email
    severities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    kind: Mapped[str] = mapped_column(sa.String(16))  # operational | security | any
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StakeholderSubscription(Base):
    """A person or a team (exactly one) who receives the updates of incidents touching `service_id`
    (none: any service) of `min_severity` or worse (none: any severity)."""

    __tablename__ = "stakeholder_subscriptions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    min_severity: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime]


class UpdateReminder(Base):
    """The due time of the last update reminder sent for an open incident (one per due time)."""

    __tablename__ = "comms_update_reminders"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]
