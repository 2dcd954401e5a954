"""Indicator and affected-asset rows, each on one incident (deleted with it).

`evidence_id` names an item of the evidence locker (issue 17, built alongside); it has no foreign
key; the HTTP edges check it is an item of the same incident (`flows.evidence_refs`) before recording it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Indicator(Base):
    """An indicator of compromise; `value` is the canonical spelling for its `type`
    (indicators/values.py), so one (type, value) appears once per incident and the search across
    incidents is an exact match."""

    __tablename__ = "indicators"
    __table_args__ = (sa.UniqueConstraint("incident_id", "type", "value"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(2000), index=True)
    tlp: Mapped[str] = mapped_column(sa.String(16))
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AffectedAsset(Base):
    """A host, account, data store or service the incident touched, and its containment state."""

    __tablename__ = "affected_assets"
    __table_args__ = (sa.UniqueConstraint("incident_id", "kind", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[str] = mapped_column(sa.String(16))
    tlp: Mapped[str] = mapped_column(sa.String(16))
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
