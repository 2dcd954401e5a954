"""What a public status page shows, as frozen dataclasses: the snapshot `snapshot.load` reads
from the database and `render` turns into bytes (pure: no database here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.statuspage import uptime

RECENT = 50  # incidents.json / scheduled-maintenances.json: the 50 most recent
HISTORY_DAYS = 14  # "past incidents" on the HTML page


@dataclass(frozen=True)
class PageInfo:
    id: str
    slug: str
    name: str
    description: str
    logo_url: str | None
    url: str
    time_zone: str
    updated_at: datetime


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    description: str
    status: str
    position: int
    group_id: str | None
    is_group: bool
    only_show_if_degraded: bool
    created_at: datetime
    updated_at: datetime
    children: tuple[str, ...]  # ids of a group's components, in order
    uptime: uptime.Uptime | None  # None for groups


@dataclass(frozen=True)
class Affected:
    code: str
    name: str
    old_status: str
    new_status: str


@dataclass(frozen=True)
class Update:
    id: str
    status: str
    body: str
    affected_components: tuple[Affected, ...] | None
    deliver_notifications: bool
    display_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class Incident:
    """A public incident or a scheduled maintenance (`kind`)."""

    id: str
    kind: str
    name: str
    status: str
    impact: str
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    updates: tuple[Update, ...]  # newest first
    component_ids: tuple[str, ...]


@dataclass(frozen=True)
class PageSnapshot:
    page: PageInfo
    components: tuple[Component, ...]  # top level by position, each group followed by its children
    incidents: tuple[Incident, ...]  # kind incident, newest first
    maintenances: tuple[Incident, ...]  # kind maintenance, newest (by scheduled_for) first
    now: datetime

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.page.time_zone)

    def component(self, component_id: str) -> Component | None:
        for c in self.components:
            if c.id == component_id:
                return c
        return None

    def next_boundary(self) -> datetime | None:
        """The next time a maintenance starts or ends: the page must be re-rendered then."""
        times = [t for m in self.maintenances for t in (m.scheduled_for, m.scheduled_until)
                 if t is not None and t > self.now]
        return min(times, default=None)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
