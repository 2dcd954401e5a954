"""A service's alert handling settings, stored as JSON on the service, with defaults.

    {"group_by": ["alertname", "cluster"], "group_window_seconds": 3600,
     "flap_window_seconds": 1800,
     "support_hours": {"timezone": "Europe/Berlin", "days": [1,2,3,4,5], "start": "09:00", "end": "17:00"}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tocsin.windows import SupportHours

DEFAULT_GROUP_WINDOW = 3600
DEFAULT_FLAP_WINDOW = 1800
_KEYS = {"group_by", "group_window_seconds", "flap_window_seconds", "support_hours"}


@dataclass(frozen=True)
class AlertSettings:
    group_by: tuple[str, ...] = ()
    group_window_seconds: int = DEFAULT_GROUP_WINDOW
    flap_window_seconds: int = DEFAULT_FLAP_WINDOW
    support_hours: SupportHours | None = None


DEFAULTS = AlertSettings()


def _seconds(obj: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number of seconds from {low} to {high}")
    return value


def parse_settings(obj: Mapping[str, Any] | None) -> AlertSettings:
    """Return settings from stored or submitted JSON; raise ValueError naming the bad field."""
    if not obj:
        return DEFAULTS
    if not isinstance(obj, Mapping):
        raise ValueError("alert_settings must be an object")
    unknown = set(obj) - _KEYS
    if unknown:
        raise ValueError(f"unknown alert_settings fields: {', '.join(sorted(unknown))}")
    group_by = obj.get("group_by", [])
    if not isinstance(group_by, list) or not all(isinstance(k, str) and 0 < len(k) <= 100 for k in group_by) \
            or len(group_by) > 20:
        raise ValueError("group_by must be a list of up to 20 label names")
    hours = obj.get("support_hours")
    return AlertSettings(
        group_by=tuple(group_by),
        group_window_seconds=_seconds(obj, "group_window_seconds", DEFAULT_GROUP_WINDOW, 1, 30 * 86400),
        flap_window_seconds=_seconds(obj, "flap_window_seconds", DEFAULT_FLAP_WINDOW, 0, 7 * 86400),
        support_hours=SupportHours.parse(hours) if hours is not None else None,
    )
