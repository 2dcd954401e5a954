"""Postmortem rows: templates, the postmortem of an incident, its revisions, reviewers and comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class PostmortemTemplate(Base):
    """The sections a new postmortem starts with: `sections` is a list of
    {"key", "title", "prompt"}; keys such as `summary`, `impact` and `timeline` are filled
    from the incident record, the others start empty with their prompt."""

    __tablename__ = "postmortem_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Postmortem(Base):
    """One postmortem per incident. `body` is the internal Markdown (every earlier text is in
    `postmortem_revisions`); `public_text` is the separate customer-facing version.
    Status: draft → in_review → published (published may return to draft to amend)."""

    __tablename__ = "postmortems"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    template_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("postmortem_templates.id",
                                                                         ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    public_text: Mapped[str] = mapped_column(sa.Text, default="")
    public_published_at: Mapped[datetime | None]
    review_meeting_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    in_review_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))


class PostmortemRevision(Base):
    __tablename__ = "postmortem_revisions"
    __table_args__ = (sa.UniqueConstraint("postmortem_id", "revision"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    postmortem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[str] = mapped_column(sa.Text)
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    edited_at: Mapped[datetime]


class PostmortemReviewer(Base):
    __tablename__ = "postmortem_reviewers"

    postmortem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"),
                                                     primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]


class PostmortemComment(Base):
    __tablename__ = "postmortem_comments"

    id: Mapped[uuid.UUID] = uuid_pk()
    postmortem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    section: Mapped[str | None] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
