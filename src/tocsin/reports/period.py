"""The reporting period: `since` and `until` as given in a query string or on the command line.

Each is either a duration counted back from now (`90d`, `12w`, `24h`, `30m`) or an ISO 8601
datetime with an offset (`2026-01-01T00:00:00Z`). The period is [since, until); until defaults
to now. Anything else is refused with InvalidInput naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.errors import InvalidInput

_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_SPAN = timedelta(days=3660)  # ten years: enough for any report, small enough to chart by week
MAX_REACH = timedelta(days=3660)  # how far from now either end may be: weeks and months stay in datetime's range
DEFAULT_SINCE = "90d"


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def parse_instant(text: str, *, name: str, now: datetime) -> datetime:
    """Return the instant `text` names: now minus a duration, or an ISO datetime with offset."""
    value = text.strip()
    if m := _DURATION.match(value.lower()):
        try:
            return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        except OverflowError:
            raise InvalidInput(f"{name}: {text!r} reaches too far back", details={"field": name}) from None
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is not None and when.utcoffset() is not None:
            return when.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise InvalidInput(f"{name} must be a duration such as 90d, 12w or 24h, or an ISO 8601 datetime with an "
                       f"offset such as 2026-01-01T00:00:00Z; got {text!r}", details={"field": name})


def parse_period(since: str | None, until: str | None, *, now: datetime) -> Period:
    """Return [since, until); raise InvalidInput when either is malformed, more than ten years from
    now, empty or too long."""
    start = parse_instant(since or DEFAULT_SINCE, name="since", now=now)
    end = parse_instant(until, name="until", now=now) if until else now
    for name, value in (("since", start), ("until", end)):
        if abs(value - now) > MAX_REACH:
            raise InvalidInput(f"{name} must be within ten years of now", details={"field": name})
    if start >= end:
        raise InvalidInput("since must be before until", details={"field": "since", "since": start.isoformat(),
                                                                   "until": end.isoformat()})
    if end - start > MAX_SPAN:
        raise InvalidInput("a report covers at most ten years", details={"field": "since"})
    return Period(start, end)
