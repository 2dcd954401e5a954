"""Legal drafts: a communication about a security incident held until its Legal role holder
approves (publishing it exactly as approved) or rejects it with a reason."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class LegalDraft(Base):
    __tablename__ = "legal_drafts"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    # what would be published: a status page update (`update`) or a postmortem's public text (`postmortem`)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    page_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_pages.id", ondelete="CASCADE"))
    status_incident_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("status_incidents.id", ondelete="CASCADE"))
    postmortem_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(32))
    body: Mapped[str] = mapped_column(sa.Text)
    component_statuses: Mapped[dict[str, Any] | None]
    impact: Mapped[str | None] = mapped_column(sa.String(32))
    deliver_notifications: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # pending -> published (approved) | rejected
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    approved_body: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    published_status_incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
