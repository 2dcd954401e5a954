"""Guardrail trips: one row per time a rule tripped on an incident, until it cleared."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class GuardrailTrip(Base):
    """A rule (guardrails/rules.py `Rule`) tripped on an incident at `tripped_at`; `cleared_at` is set
    when it no longer holds. A rule trips once per incident until it clears (the partial unique index
    holds that even if two engines race); it may trip again afterwards, as a new row.
    `notified_at`: when its nudge was written to the Incident Commander's channels (SEV1/SEV2)."""

    __tablename__ = "guardrail_trips"
    __table_args__ = (
        sa.Index("ix_guardrail_trips_open", "incident_id", "rule", unique=True,
                 sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(32))
    tripped_at: Mapped[datetime] = mapped_column(index=True)
    cleared_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(sa.Text)
    notified_at: Mapped[datetime | None]
