"""What apply remembers: the `source_id` a document gave an object (docs/config-as-code.md), so that
a renamed source object (a new slug or email) is found and updated rather than created twice."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base


class ConfigSource(Base):
    """`source_id` (e.g. `opsgenie:schedule:4f1c…`) named the object `object_id` of `kind` (user, team,
    schedule, escalation_policy, service, ...) when it was last applied."""

    __tablename__ = "configcode_sources"

    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    object_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    updated_at: Mapped[datetime]
