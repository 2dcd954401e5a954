"""Timeline entries in human words: the room shows "Impact set: 300 customers affected" where the
stored text says `customers_affected=300`, and times in the viewer's zone.

Every entry kind has a sentence: most are written as one when recorded (their stored text is
shown as it is); the ones written for machines are rebuilt here from the entry's structured
`data`, so old entries read well too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.incidents.models import TimelineEntry

IMPACT_ORDER = ("customers_affected", "revenue_at_risk_per_hour", "data_sensitivity", "customer_facing")


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def impact_words(name: str, value: Any) -> str:
    """One impact field as a phrase: "300 customers affected", "not customer facing"."""
    if name == "customers_affected":
        return "customers affected unknown" if value is None else \
            f"{_number(value)} customer{'' if value == 1 else 's'} affected"
    if name == "revenue_at_risk_per_hour":
        return "revenue at risk unknown" if value is None else f"{_number(value)} revenue at risk per hour"
    if name == "data_sensitivity":
        return "data sensitivity unknown" if value is None else f"{value} data involved"
    if name == "customer_facing":
        return "customer facing unknown" if value is None else "customer facing" if value else "not customer facing"
    return f"{name.replace('_', ' ')}: {value}"


def _impact(e: TimelineEntry, tz: ZoneInfo) -> str:
    data = e.data or {}
    parts = [impact_words(k, data[k]) for k in IMPACT_ORDER if k in data]
    return "Impact set: " + ", ".join(parts) if parts else e.text


def _when(value: Any, tz: ZoneInfo) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return str(value)


def _field(e: TimelineEntry, tz: ZoneInfo) -> str:
    data = e.data or {}
    name = data.get("field")
    if name in ("detected_at", "impact_started_at"):
        label = "Detected" if name == "detected_at" else "Impact started"
        return f"{label} at {_when(data['to'], tz)}" if data.get("to") else f"{label}: unknown"
    if name == "summary":
        return "Summary edited"
    return e.text


def _paging(e: TimelineEntry, tz: ZoneInfo) -> str:
    text = e.text.strip()
    return text[:1].upper() + text[1:] if text else "Paging step"


REWRITES: dict[str, Callable[[TimelineEntry, ZoneInfo], str]] = {
    "impact_updated": _impact, "field_changed": _field, "paging": _paging,
}


def describe(e: TimelineEntry, tz: ZoneInfo) -> str:
    """The entry's text as the room shows it."""
    rewrite = REWRITES.get(e.kind)
    if rewrite is None:
        return e.text
    try:
        return rewrite(e, tz)
    except (KeyError, TypeError, ValueError):
        return e.text
