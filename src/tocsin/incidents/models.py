"""Incident rows: the incident, its services, roles, participants and timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, object_session

from tocsin import live
from tocsin.db.base import Base, uuid_pk


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    severity: Mapped[str] = mapped_column(sa.String(8), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    restricted: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)

    customers_affected: Mapped[int | None] = mapped_column(sa.Integer)
    revenue_at_risk_per_hour: Mapped[float | None] = mapped_column(sa.Float)
    data_sensitivity: Mapped[str | None] = mapped_column(sa.String(16))
    customer_facing: Mapped[bool | None] = mapped_column(sa.Boolean)
    suggested_severity: Mapped[str | None] = mapped_column(sa.String(8))
    severity_reason: Mapped[str | None] = mapped_column(sa.Text)

    declared_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    impact_started_at: Mapped[datetime | None]
    detected_at: Mapped[datetime]
    declared_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # Why this incident may close without a published postmortem (also on the timeline).
    postmortem_waived_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Where the responders talk: a conference bridge or chat channel (an http(s) URL), shown in the room.
    conference_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # A drill (issue 19): an exercise's incident. Marked everywhere, paged only to the exercise's
    # participants, never on a public status page, left out of real reports.
    drill: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false(), index=True)
    # The incident type's slug (workflows package: custom fields, checklist, templates), or None.
    incident_type: Mapped[str | None] = mapped_column(sa.String(64))
    custom_fields: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class IncidentService(Base):
    __tablename__ = "incident_services"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id"), primary_key=True, index=True)


class RoleAssignment(Base):
    """Who held a role when: `ended_at` is set when the role is handed over or vacated."""

    __tablename__ = "incident_role_assignments"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))


class Participant(Base):
    __tablename__ = "incident_participants"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    joined_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TimelineEntry(Base):
    """One append-only timeline entry.

    `occurred_at` is when it happened (a scribe may back-date it), `recorded_at` when
    tocsin learnt of it; both are kept. A note's text may be edited; every earlier
    text is kept in `timeline_revisions`.
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (sa.Index("ix_timeline_entries_incident_occurred", "incident_id", "occurred_at"),
                      # the workflow job reads new declarations and status changes by kind (issue 19)
                      sa.Index("ix_timeline_entries_kind_recorded", "kind", "recorded_at"))

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    key_event: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    edited_at: Mapped[datetime | None]


@event.listens_for(TimelineEntry, "after_insert")
def _announce(_mapper: object, _connection: object, entry: TimelineEntry) -> None:
    """Tell the incident room's viewers (in every process) once this entry commits. On the row, not
    in `timeline.append`, because the paging trail (escalation/trail.py) writes entries directly."""
    session = object_session(entry)
    if session is not None:
        live.changed(session, f"incident:{entry.incident_id}")


class TimelineRevision(Base):
    __tablename__ = "timeline_revisions"
    __table_args__ = (sa.UniqueConstraint("entry_id", "revision"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    entry_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("timeline_entries.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(sa.Integer)
    text: Mapped[str] = mapped_column(sa.Text)
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    edited_at: Mapped[datetime]
