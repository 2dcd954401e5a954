"""Escalation rows: policies and their levels, one escalation per paged alert, and the
notification outbox.

An `escalations` row is the state machine the engine moves (`engine/escalations.py`). It keeps
a snapshot of its policy taken when it started, so editing the policy mid-incident does not
derail a running page, and an `epoch` (fence token) bumped on every step and on stop: a step
decided against an older epoch must not fire.

`notifications` is the outbox: a row per message to send, written in the same transaction as the
decision that caused it, and sent after commit by the delivery engine. `idempotency_key` is unique
so that a retried step never writes a second row for the same message.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk
from tocsin.escalation.plan import Snapshot, Target


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"
    __table_args__ = (sa.CheckConstraint("repeat BETWEEN 0 AND 9", name="repeat_range"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    repeat: Mapped[int] = mapped_column(sa.Integer, default=0)  # extra runs of the whole policy
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EscalationLevel(Base):
    __tablename__ = "escalation_levels"
    __table_args__ = (sa.CheckConstraint("delay_minutes BETWEEN 1 AND 1440", name="delay_range"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    policy_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("escalation_policies.id", ondelete="CASCADE"),
                                                 index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    delay_minutes: Mapped[int] = mapped_column(sa.Integer)  # wait before the next level
    targets: Mapped[list[Target]] = mapped_column(sa.JSON, default=list)  # [{"type": "user"|"schedule"|"team", "id": "<uuid>"}]


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[uuid.UUID] = uuid_pk()
    # One escalation per paged alert (or alert group), or per incident paging for an Incident Commander.
    alert_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                          unique=True)
    # Set when the service pages per alert group: the escalation pages for every alert of the group
    # (`alert_id` is the group's first paged alert) and stops once none of them is triggered.
    group_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alert_groups.id", ondelete="CASCADE"),
                                                       unique=True)
    service_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    policy_snapshot: Mapped[Snapshot] = mapped_column(sa.JSON)  # escalation.plan.snapshot()
    level: Mapped[int] = mapped_column(sa.Integer, default=0)
    loop: Mapped[int] = mapped_column(sa.Integer, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")  # active | stopped | exhausted
    stop_reason: Mapped[str | None] = mapped_column(sa.Text)
    next_at: Mapped[datetime | None] = mapped_column(index=True)
    epoch: Mapped[int] = mapped_column(sa.Integer, default=0)  # the fence token
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None]


class Notification(Base):
    """One message to one user through one channel, queued for the delivery engine.

    `channel` and `destination` are copied from the contact method when the row is written
    (`contact_method_id` None: the account email, used when a person has no rules). Status:
    queued → sending → sent (→ delivered, when the provider reports it), or failed (with the
    reason), cancelled (the alert was acknowledged before a delayed rule came due), or
    bundled (carried by the notification `bundle_id` when the destination was throttled).
    """

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                          index=True)
    escalation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid(), index=True)
    contact_method_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact_methods.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(sa.String(16), default="email")
    destination: Mapped[str] = mapped_column(sa.String(1000), default="")
    kind: Mapped[str] = mapped_column(sa.String(16))  # page | incident | responder | shadow | verify | test
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    created_at: Mapped[datetime]
    send_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    bundle_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    reply_code: Mapped[str | None] = mapped_column(sa.String(8))  # SMS: "1234 ack"

    __table_args__ = (
        sa.Index("ix_notifications_queued", "send_after", sqlite_where=sa.text("status = 'queued'"),
                 postgresql_where=sa.text("status = 'queued'")),
        sa.Index("ix_notifications_destination_sent", "channel", "destination", "sent_at"),
        sa.Index("ix_notifications_created_at", "created_at"),  # retention deletes oldest first
    )


class ResponderRequest(Base):
    """One person asked to join a running incident ("add responders"): through whom (`via`: the
    person, a team or a schedule's on-call), with what message, and their reply: pending,
    acknowledged (they joined as a responder) or declined."""

    __tablename__ = "responder_requests"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    via: Mapped[str] = mapped_column(sa.String(300))
    message: Mapped[str] = mapped_column(sa.Text)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | acknowledged | declined
    answered_at: Mapped[datetime | None]
