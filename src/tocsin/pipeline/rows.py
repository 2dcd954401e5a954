"""The rows one pipeline batch works on, typed: the alerts and groups it read or created.

An alert the batch read (`OpenAlert`) carries the columns the pipeline reads; one it creates
(`NewAlert`) carries every column of `alerts` and is inserted as it is. A group carries every
column either way. Changes to rows that already exist are kept per row as column -> value
(`Changes`) and written with one executemany per set of columns (see `ingest.Batch.flush`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypedDict

Changes = dict[str, object]  # column -> new value, for a row that already exists


@dataclass(slots=True)
class OpenAlert:
    """An open alert the batch read: the columns the pipeline reads and changes."""

    id: uuid.UUID
    service_id: uuid.UUID
    integration_id: uuid.UUID | None
    dedup_key: str
    status: str
    occurrences: int
    group_id: uuid.UUID | None
    paged_at: datetime | None
    incident_id: uuid.UUID | None
    summary: str
    dedup_scope: str  # "" (the service) or the integration whose keys are its own (`scope_of`)

    @property
    def is_new(self) -> bool:
        """Created by this batch (inserted at flush) rather than read (updated at flush)."""
        return False


OPEN_ALERT_COLUMNS = tuple(f.name for f in fields(OpenAlert))


@dataclass(slots=True)
class NewAlert(OpenAlert):
    """An alert this batch creates: every column of `alerts`."""

    source: str
    severity: str
    urgency: str
    labels: dict[str, str]
    details: Any  # the sender's JSON details, stored as given
    links: list[Any]
    previous_alert_id: uuid.UUID | None
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    suppressed_by: str | None = None
    held_until: datetime | None = None
    inhibited_by: uuid.UUID | None = None

    @property
    def is_new(self) -> bool:
        return True


@dataclass(slots=True)
class GroupRow:
    """An alert group: every column of `alert_groups`, and whether this batch opened it."""

    id: uuid.UUID
    service_id: uuid.UUID
    group_key: str
    labels: dict[str, str]
    status: str
    created_at: datetime
    last_alert_at: datetime
    closed_at: datetime | None
    alert_count: int
    incident_id: uuid.UUID | None
    is_new: bool = False


class Previous(NamedTuple):
    """The latest earlier alert with a key about to get a new one, and that key's last page."""

    id: uuid.UUID
    paged_at: datetime | None


class Step(TypedDict):
    """One decision about an alert this batch creates (stored together in its `created` decision)."""

    kind: str
    reason: str
    data: dict[str, Any]


class Recorder(Protocol):
    """What the pipeline's helpers (auto-incidents, attaching) record their decisions and changes in."""

    @property
    def now(self) -> datetime: ...

    def note(self, alert_id: uuid.UUID, kind: str, reason: str, **data: object) -> None: ...

    def touch(self, alert: OpenAlert, **changes: object) -> None: ...

    def touch_group(self, group: GroupRow, **changes: object) -> None: ...
