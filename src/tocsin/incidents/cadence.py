"""How soon the next update is due after the last one, by severity (pure): SEV1 15 minutes, SEV2 30
minutes, SEV3 4 hours, SEV4 one business day (the same time on the next weekday, in UTC).

The room's header and the chat channels' reminders both count from `timeline.last_update_at`."""

from __future__ import annotations

from datetime import datetime, timedelta

RESPONSE_TARGETS: dict[str, timedelta | str] = {
    "SEV1": timedelta(minutes=15), "SEV2": timedelta(minutes=30), "SEV3": timedelta(hours=4), "SEV4": "business_day",
}
TARGET_LABELS = {"SEV1": "every 15 min", "SEV2": "every 30 min", "SEV3": "every 4 h", "SEV4": "every business day"}


def next_update_due(severity: str, last_update: datetime) -> datetime:
    """When the next update is due after `last_update` for an incident of `severity`."""
    target = RESPONSE_TARGETS.get(severity, RESPONSE_TARGETS["SEV4"])
    if isinstance(target, timedelta):
        return last_update + target
    due = last_update + timedelta(days=1)
    while due.weekday() >= 5:  # Saturday, Sunday
        due += timedelta(days=1)
    return due
