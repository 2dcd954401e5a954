"""Alert rows: events as received, alerts, groups, the decision history, and page requests.

`ingest_journal` holds what was accepted and not yet applied (a sender is answered once its row
is committed); `alert_events` is the occurrence log: the applier stores each journaled event there
and the pipeline marks it with what it did, in the transaction that deletes the journal row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk

OPEN = sa.text("status <> 'resolved'")


class AlertEvent(Base):
    __tablename__ = "alert_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    integration_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("integrations.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(16))
    dedup_key: Mapped[str] = mapped_column(sa.String(300))
    received_at: Mapped[datetime]  # when it was accepted (journaled) and its sender answered
    applied_at: Mapped[datetime | None]  # when the pipeline applied it: minus received_at, the apply lag
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the normalized event and its source payload
    alert_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))  # None until the pipeline has applied it
    outcome_reason: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_alert_events_pending", "received_at", sqlite_where=sa.text("outcome IS NULL"),
                 postgresql_where=sa.text("outcome IS NULL")),
        sa.Index("ix_alert_events_received_at", "received_at"),  # retention deletes oldest first
    )


class IngestJournal(Base):
    """Accepted requests not yet applied: one row per request, its validated events in `events`.

    The ingest writer answers a sender once the row is committed; the applier (`pipeline/journal.py`)
    stores the events as `alert_events` and applies them in the transaction that deletes the row."""

    __tablename__ = "ingest_journal"

    id: Mapped[uuid.UUID] = uuid_pk()  # UUIDv7: time-ordered, the order events are applied in
    accepted_at: Mapped[datetime]
    events: Mapped[list[Any]] = mapped_column(sa.JSON)  # [[event id, service, integration, source, action,
    #                                                       dedup key, body], ...]


class AlertGroup(Base):
    __tablename__ = "alert_groups"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(sa.String(600))
    labels: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open | closed
    created_at: Mapped[datetime]
    last_alert_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    alert_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))

    __table_args__ = (
        # At most one open group per key, enforced by the database (as Grafana OnCall does).
        sa.Index("uq_alert_groups_open_key", "service_id", "group_key", unique=True,
                 sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'")),
    )


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("integrations.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(sa.String(16))
    dedup_key: Mapped[str] = mapped_column(sa.String(300))
    # Where the dedup key is unique: "" for the whole service, or the hex id of the integration whose
    # keys are its own (PagerDuty Events v2 deduplicates per routing key, so tocsin does too).
    dedup_scope: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # triggered | acknowledged | resolved
    summary: Mapped[str] = mapped_column(sa.String(1024))
    severity: Mapped[str] = mapped_column(sa.String(16))
    urgency: Mapped[str] = mapped_column(sa.String(8))  # high | low
    labels: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    details: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    links: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    group_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alert_groups.id", ondelete="SET NULL"),
                                                      index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"),
                                                         index=True)
    previous_alert_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="SET NULL"))
    occurrences: Mapped[int] = mapped_column(sa.Integer, default=1)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Why this alert is not paging right now (silence, maintenance, flapping, inhibited), or None.
    suppressed_by: Mapped[str | None] = mapped_column(sa.String(16))
    # When that hold ends (the engine re-checks the alert then), or None when nothing but a change of
    # silences, windows or rules can end it.
    held_until: Mapped[datetime | None]
    # While held by inhibition (`suppressed_by` "inhibited"): the firing alert that inhibits it. When that
    # alert resolves, `held_until` is set to then, so the engine re-checks this one (pipeline/unsuppress.py).
    # No foreign key: adding one would rebuild the whole alerts table on SQLite.
    inhibited_by: Mapped[uuid.UUID | None]
    paged_at: Mapped[datetime | None]

    __table_args__ = (
        # One open alert per (service, dedup scope, dedup key), enforced by the database.
        sa.Index("uq_alerts_open_dedup", "service_id", "dedup_scope", "dedup_key", unique=True,
                 sqlite_where=OPEN, postgresql_where=OPEN),
        sa.Index("ix_alerts_service_key", "service_id", "dedup_key", "first_seen_at"),
        sa.Index("ix_alerts_suppressed", "suppressed_by", sqlite_where=sa.text("suppressed_by IS NOT NULL"),
                 postgresql_where=sa.text("suppressed_by IS NOT NULL")),
        sa.Index("ix_alerts_held_until", "held_until", sqlite_where=sa.text("suppressed_by IS NOT NULL"),
                 postgresql_where=sa.text("suppressed_by IS NOT NULL")),
        sa.Index("ix_alerts_inhibited_by", "inhibited_by", sqlite_where=sa.text("inhibited_by IS NOT NULL"),
                 postgresql_where=sa.text("inhibited_by IS NOT NULL")),
    )


class AlertDecision(Base):
    """Permanent history: every decision the pipeline took about an alert, with its reason."""

    __tablename__ = "alert_decisions"

    id: Mapped[uuid.UUID] = uuid_pk()
    alert_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(24))
    reason: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_alert_decisions_alert_at", "alert_id", "at"),
                      sa.Index("ix_alert_decisions_at", "at"))  # retention deletes oldest first


class PageRequest(Base):
    """The hand-off to escalation: "this alert needs paging", no earlier than `not_before`."""

    __tablename__ = "page_requests"

    id: Mapped[uuid.UUID] = uuid_pk()
    alert_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    urgency: Mapped[str] = mapped_column(sa.String(8))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | taken | cancelled

    __table_args__ = (
        sa.Index("ix_page_requests_pending", "not_before", sqlite_where=sa.text("status = 'pending'"),
                 postgresql_where=sa.text("status = 'pending'")),
    )
