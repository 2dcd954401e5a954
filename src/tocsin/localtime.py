"""Local wall time in a user's time zone, for schedules, windows and support hours.

The one rule everywhere: a local time that does not exist (the hour skipped in spring) means
the instant the gap ends; an ambiguous one (the hour repeated in autumn) means its first pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name; raise ValueError if it does not exist."""
    if not isinstance(name, str) or not name:
        raise ValueError("time zone must be an IANA name such as Europe/Berlin")
    if name == "localtime":
        # Exists on many machines, but means "whatever this server is set to".
        raise ValueError("time zone 'localtime' depends on the server; use an IANA name such as Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from exc


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """Return the naive local wall time of an aware instant (fold dropped, so arithmetic is plain)."""
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def resolve_wall(local: datetime, tz: ZoneInfo) -> datetime:
    """Return the aware UTC instant of a naive local wall time, under the module's rule."""
    candidate = local.replace(tzinfo=tz, fold=0)
    instant = candidate.astimezone(UTC)
    if wall(instant, tz) == local:
        return instant
    # In a gap. fold=0 used the offset from before the transition, fold=1 the one after, so
    # the transition lies between the two readings. zoneinfo does not expose transitions, so
    # bisect on whole seconds (tzdata transitions are whole seconds; gaps are at most a day).
    early = local.replace(tzinfo=tz, fold=1).astimezone(UTC)  # before the transition
    offset_before = candidate.utcoffset()
    lo = int(early.timestamp()) - 1
    hi = int(instant.timestamp()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def require_aware(**values: datetime) -> None:
    """Raise ValueError naming the first value that is not an aware datetime."""
    for name, value in values.items():
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime, got {value!r}")
