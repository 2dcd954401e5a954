"""Incident channels: which incident a chat channel belongs to, and an incident's channels."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.chatops.models import ChatChannel
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def channel_row(s: Session, *, platform: str, channel_id: str) -> ChatChannel | None:
    return s.execute(sa.select(ChatChannel).where(ChatChannel.platform == platform,
                                                  ChatChannel.channel_id == channel_id)).scalar_one_or_none()


def incident_in(s: Session, principal: Principal, *, platform: str, channel_id: str,
                for_update: bool = False) -> Incident | None:
    """The incident whose channel this is, if `principal` may see it (NotFound is raised by the
    need-to-know check otherwise); None when the channel is no incident's."""
    row = channel_row(s, platform=platform, channel_id=channel_id)
    if row is None:
        return None
    return require_incident(s, principal, str(row.incident_id), for_update=for_update)


def channels_of(s: Session, incident_id: uuid.UUID) -> list[ChatChannel]:
    return list(s.execute(sa.select(ChatChannel).where(ChatChannel.incident_id == incident_id)
                          .order_by(ChatChannel.platform)).scalars())
