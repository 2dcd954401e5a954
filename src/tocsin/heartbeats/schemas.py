"""API shapes for heartbeat monitors."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.schemas import Name, Out, StrictIn

MIN_INTERVAL, MAX_INTERVAL = 10, 7 * 24 * 3600
MAX_GRACE = 24 * 3600


class HeartbeatIn(StrictIn):
    service: str = Field(min_length=1, max_length=64, description="Service slug or id")
    name: Name
    interval_seconds: int = Field(ge=MIN_INTERVAL, le=MAX_INTERVAL, description="How often the job pings")
    grace_seconds: int = Field(0, ge=0, le=MAX_GRACE, description="How late a ping may be before the alert")


class HeartbeatOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    name: str
    key_hint: str = Field(description="The first characters of the key, to tell keys apart")
    interval_seconds: int
    grace_seconds: int
    state: str = Field(description="new (never pinged, never alerts) | up | down")
    created_at: datetime
    last_ping_at: datetime | None
    due_at: datetime | None = Field(description="When a ping is due, grace included")


class NewHeartbeatOut(HeartbeatOut):
    key: str = Field(description="The heartbeat key. Shown only in this response; tocsin stores a hash.")
    ping_path: str = Field(description="Ping with GET or POST on this path (`/heartbeats/<key>`)")
