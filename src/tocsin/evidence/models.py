"""Evidence rows: the items of an incident's locker and their append-only custody ledger.

Neither table has an update or delete path in the code: an item's hashes and a ledger entry are
written once. Each row is also in the audit chain (`audit.service.record`, same transaction), so
a change made behind tocsin's back to these tables shows as a difference from the audited details.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class EvidenceItem(Base):
    """One piece of evidence: an uploaded file (stored by SHA-256) or a registered external artefact."""

    __tablename__ = "evidence_items"
    __table_args__ = (sa.UniqueConstraint("incident_id", "number", name="uq_evidence_items_incident_id_number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)  # E-1, E-2... within the incident
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    media_type: Mapped[str] = mapped_column(sa.String(200), default="")  # as declared; never used to serve
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    sha512: Mapped[str | None] = mapped_column(sa.String(128))
    location: Mapped[str] = mapped_column(sa.String(2000), default="")  # external: where it is kept
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class CustodyEntry(Base):
    """One link in an item's chain of custody: who did what with it, when, where and why."""

    __tablename__ = "evidence_custody"
    __table_args__ = (sa.UniqueConstraint("item_id", "seq", name="uq_evidence_custody_item_id_seq"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("evidence_items.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)  # 1, 2... within the item
    action: Mapped[str] = mapped_column(sa.String(16))
    who: Mapped[str] = mapped_column(sa.String(300))  # the person who handled it (default: who recorded it)
    occurred_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(sa.String(500), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by: Mapped[str] = mapped_column(sa.String(320))  # the recorder's label (email, system:cli)
