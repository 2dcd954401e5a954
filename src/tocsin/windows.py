"""Time-window arithmetic for alert suppression and urgency: is `now` inside a (recurring)
maintenance window, a silence, or a service's support hours, and when does that change?

Everything here is pure: inputs and outputs are aware UTC datetimes, and a user's IANA time
zone is used only to lay recurring windows and support hours on the local wall clock.

How local wall times become instants (one rule for the whole module, so a maintenance window
and support hours that name the same wall time start at the same instant):

* A wall time in a spring-forward gap (02:30 in Europe/Berlin on 2026-03-29) resolves to the
  first instant after the gap, i.e. the transition itself (03:00 CEST, 01:00 UTC). This is the
  first moment the local clock shows a time at or after the one the user wrote, which is how
  cron runs jobs scheduled in the skipped hour. It deliberately differs from PEP 495's fold=0
  mapping (which would give 03:30 CEST and move the whole window an hour into the new time).
  A consequence: an occurrence that lies wholly inside a gap (Sunday 02:10-02:50 on that
  date) is empty and simply does not happen that day.
* A wall time in a fall-back fold (02:30 in Europe/Berlin on 2026-10-25 happens twice) resolves
  to its first occurrence (fold=0, the summer-time instant).

Recurring maintenance windows keep their wall-clock shape: occurrence k starts at the first
occurrence's local start wall time plus k days (daily) or k weeks (weekly), and ends at that
wall time plus the first occurrence's wall-clock duration (local end wall time minus local
start wall time). Each boundary is resolved with the rule above, so a weekly Tuesday
22:00-02:00 Berlin window starts at 21:00 UTC in winter and 20:00 UTC in summer, and a
Sunday 01:30-03:30 window lasts one real hour on the spring-forward night and three on the
fall-back night. The first occurrence is always exactly `starts_at`..`ends_at` as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tocsin.localtime import require_aware as _require_aware
from tocsin.localtime import resolve_wall as _resolve
from tocsin.localtime import wall as _wall
from tocsin.localtime import zone as _zone

RecurrenceKind = Literal["none", "daily", "weekly"]
RECURRENCE_KINDS: tuple[RecurrenceKind, ...] = ("none", "daily", "weekly")

_PERIODS: dict[str, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
_HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_SUPPORT_HOURS_KEYS = frozenset({"timezone", "days", "start", "end"})
# A gap or fold is at most a day long (Pacific/Apia skipped 2011-12-30 entirely), so a short
# bounded walk always gets past one; see _Series.next_start and _Series.merged_end.
_MAX_STEPS = 4


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How a maintenance window repeats, in the local wall time of `timezone`.

    `until` (aware UTC) bounds the starts: no occurrence starts after it, but one that started
    at or before it runs to its end.
    """

    kind: RecurrenceKind
    timezone: str
    until: datetime | None = None


def recurrence_kind(value: str) -> RecurrenceKind:
    """`value` (a stored or submitted kind) as a RecurrenceKind; raise ValueError, as the window
    validation does, when it is none of them."""
    for kind in RECURRENCE_KINDS:
        if value == kind:
            return kind
    raise ValueError(f"recurrence must be one of none, daily, weekly; got {value!r}")


@dataclass(frozen=True, slots=True)
class SupportHours:
    """Local working hours (PagerDuty's "support hours"): on ISO weekdays `days` (1=Mon..7=Sun),
    from `start` up to but excluding `end`, in `timezone`. Validated on construction."""

    timezone: str
    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not isinstance(self.days, frozenset):
            raise ValueError("support hours days must be a frozenset of ISO weekdays")  # noqa: TRY004 - bad input is ValueError here
        if not self.days:
            raise ValueError("support hours need at least one day")
        bad = sorted((d for d in self.days if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7), key=str)
        if bad:
            raise ValueError(f"support hours days must be ISO weekdays 1 (Monday) to 7 (Sunday), got {bad}")
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"support hours {name} must be a local time without a time zone")
        if self.end <= self.start:
            raise ValueError(
                f"support hours must end after they start on the same day "
                f"(start {self.start:%H:%M}, end {self.end:%H:%M})"
            )

    @classmethod
    def parse(cls, obj: Any) -> SupportHours:
        """Return SupportHours from `{"timezone", "days", "start": "HH:MM", "end": "HH:MM"}`;
        raise ValueError naming the first problem found."""
        if not isinstance(obj, dict):
            raise ValueError("support hours must be an object with timezone, days, start and end")  # noqa: TRY004 - as above
        missing = sorted(_SUPPORT_HOURS_KEYS - obj.keys())
        if missing:
            raise ValueError(f"support hours are missing {', '.join(missing)}")
        unknown = sorted(str(k) for k in obj.keys() - _SUPPORT_HOURS_KEYS)
        if unknown:
            raise ValueError(f"support hours have unknown field(s) {', '.join(unknown)}")
        tz = obj["timezone"]
        if not isinstance(tz, str):
            raise ValueError("support hours timezone must be an IANA time zone name such as Europe/Berlin")  # noqa: TRY004
        days = obj["days"]
        if not isinstance(days, list | tuple) or any(isinstance(d, bool) or not isinstance(d, int) for d in days):
            raise ValueError("support hours days must be a list of ISO weekdays 1 (Monday) to 7 (Sunday)")
        return cls(
            timezone=tz,
            days=frozenset(days),
            start=_parse_hhmm("start", obj["start"]),
            end=_parse_hhmm("end", obj["end"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the object form `parse` accepts."""
        return {
            "timezone": self.timezone,
            "days": sorted(self.days),
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
        }


# ---------------------------------------------------------------------------------------------
# Silences


def in_range(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    """Return True when `starts_at <= now < ends_at` (silences); raise ValueError on naive datetimes."""
    _require_aware(starts_at=starts_at, ends_at=ends_at, now=now)
    return starts_at <= now < ends_at


# ---------------------------------------------------------------------------------------------
# Maintenance windows


def validate_window(starts_at: datetime, ends_at: datetime, rec: Recurrence) -> None:
    """Return None if the window is valid; raise ValueError saying what is wrong otherwise.

    Rules: datetimes are aware; the first occurrence ends after it starts; the time zone
    exists; a daily window lasts at most 24 hours and a weekly one at most 7 days of local
    wall-clock time (so occurrences never overlap); `until` is not before `starts_at`.
    """
    _require_aware(starts_at=starts_at, ends_at=ends_at)
    if rec.until is not None:
        _require_aware(until=rec.until)
    if ends_at <= starts_at:
        raise ValueError(
            f"a maintenance window must end after it starts "
            f"(starts {starts_at.isoformat()}, ends {ends_at.isoformat()})"
        )
    if rec.kind not in RECURRENCE_KINDS:
        raise ValueError(f"recurrence must be one of none, daily, weekly; got {rec.kind!r}")
    tz = _zone(rec.timezone)
    if rec.until is not None and rec.until < starts_at:
        raise ValueError(
            f"recurrence until ({rec.until.isoformat()}) is before the window starts ({starts_at.isoformat()})"
        )
    if rec.kind == "none":
        return
    period = _PERIODS[rec.kind]
    wall_duration = _wall(ends_at, tz) - _wall(starts_at, tz)
    if wall_duration <= timedelta(0):
        # Only possible when both ends sit in one fall-back fold, e.g. 02:40 CEST to 02:20 CET.
        raise ValueError(
            f"a recurring window must last a positive local wall-clock time in {rec.timezone}; "
            "this one starts and ends inside the repeated hour of a daylight-saving change"
        )
    if wall_duration > period:
        limit = "24 hours" if rec.kind == "daily" else "7 days"
        raise ValueError(
            f"a {rec.kind} window can last at most {limit} of local wall-clock time "
            f"(this one lasts {_hours(wall_duration)})"
        )


def occurrence_at(
    starts_at: datetime, ends_at: datetime, rec: Recurrence, now: datetime
) -> tuple[datetime, datetime] | None:
    """Return the occurrence `(start, end)` (aware UTC) with `start <= now < end`, or None.

    Constant time however old the window is. Raises ValueError if the window is invalid
    (see `validate_window`) or `now` is naive.
    """
    series = _Series.checked(starts_at, ends_at, rec, now)
    k = series.active_index(now)
    return None if k is None else series.occurrence(k)


def next_boundary(starts_at: datetime, ends_at: datetime, rec: Recurrence, now: datetime) -> datetime | None:
    """Return the next instant after `now` (aware UTC) at which the window turns active or
    inactive: the end of the current occurrence if active, else the start of the next one;
    None if it never changes again (no more occurrences, or active for good).

    Occurrences that touch (a 24-hour daily window) are one stretch, so the boundary is where
    the state really changes. Raises ValueError like `occurrence_at`.
    """
    series = _Series.checked(starts_at, ends_at, rec, now)
    k = series.active_index(now)
    return series.next_start(now) if k is None else series.merged_end(k)


# ---------------------------------------------------------------------------------------------
# Support hours


def in_support_hours(sh: SupportHours, now: datetime) -> bool:
    """Return True when `now` falls in the support hours of its local day; raise ValueError if naive."""
    _require_aware(now=now)
    tz = _zone(sh.timezone)
    day = now.astimezone(tz).date()
    if day.isoweekday() not in sh.days:
        return False
    start, end = _support_span(sh, tz, day)
    return start <= now < end


def next_support_start(sh: SupportHours, now: datetime) -> datetime:
    """Return `now` (as UTC) if inside support hours, else the next instant (aware UTC) they
    begin; raise ValueError if `now` is naive."""
    _require_aware(now=now)
    now = now.astimezone(UTC)
    tz = _zone(sh.timezone)
    today = now.astimezone(tz).date()
    # Eight days reach the same weekday next week; a few more cover days whose hours fall
    # entirely inside a skipped stretch of wall time (they have no support hours at all).
    for offset in range(15):
        day = today + timedelta(days=offset)
        if day.isoweekday() not in sh.days:
            continue
        start, end = _support_span(sh, tz, day)
        if start < end and now < end:
            return max(start, now)
    raise AssertionError("unreachable: support hours recur at least weekly")  # pragma: no cover


def _support_span(sh: SupportHours, tz: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """Return the (start, end) instants of support hours on local `day`; equal when the
    whole span falls in a skipped stretch of wall time."""
    return _resolve(datetime.combine(day, sh.start), tz), _resolve(datetime.combine(day, sh.end), tz)


# ---------------------------------------------------------------------------------------------
# Internals


@dataclass(frozen=True, slots=True)
class _Series:
    """Occurrence k of a validated window, computed by index rather than by iteration."""

    starts_at: datetime
    ends_at: datetime
    tz: ZoneInfo
    period: timedelta | None  # None for a one-off window
    first_wall: datetime  # naive local wall time of the first start
    wall_duration: timedelta
    until: datetime | None

    @classmethod
    def checked(cls, starts_at: datetime, ends_at: datetime, rec: Recurrence, now: datetime) -> _Series:
        """Return the series of a window after validating it and `now`; raise ValueError."""
        validate_window(starts_at, ends_at, rec)
        _require_aware(now=now)
        tz = _zone(rec.timezone)
        first_wall = _wall(starts_at, tz)
        return cls(
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
            tz=tz,
            period=_PERIODS.get(rec.kind),
            first_wall=first_wall,
            wall_duration=_wall(ends_at, tz) - first_wall,
            until=None if rec.kind == "none" else rec.until,
        )

    def occurrence(self, k: int) -> tuple[datetime, datetime]:
        if k == 0 or self.period is None:
            # The first occurrence is taken as given, even when it names the second pass of a
            # fall-back fold, which the wall-clock rule would otherwise map to the first pass.
            return self.starts_at, self.ends_at
        start_wall = self.first_wall + k * self.period
        return _resolve(start_wall, self.tz), _resolve(start_wall + self.wall_duration, self.tz)

    def exists(self, k: int) -> bool:
        if k < 0 or (self.period is None and k > 0):
            return False
        return self.until is None or self.occurrence(k)[0] <= self.until

    def latest_start_index(self, t: datetime) -> int | None:
        """Return the largest k >= 0 whose occurrence starts at or before `t`, ignoring `until`."""
        if self.period is None:
            return 0 if self.starts_at <= t else None
        base = (_wall(t, self.tz) - self.first_wall) // self.period
        # resolve(wall(t)) <= t, so occurrence `base` has started (bar a first occurrence given
        # in the second pass of a fold). When t is itself in the second pass of a fold, the
        # next occurrence may also have started: its wall time is later but maps to the first pass.
        for k in (base + 1, base, base - 1):
            if k >= 0 and self.occurrence(k)[0] <= t:
                return k
        return None

    def active_index(self, now: datetime) -> int | None:
        """Return k of the occurrence with start <= now < end, or None."""
        k = self.latest_start_index(now if self.until is None else min(now, self.until))
        if k is None:
            return None
        start, end = self.occurrence(k)
        return k if start <= now < end else None

    def next_start(self, now: datetime) -> datetime | None:
        """Return the start of the first non-empty occurrence starting after `now`, or None."""
        latest = self.latest_start_index(now)
        k = 0 if latest is None else latest + 1
        for _ in range(_MAX_STEPS):
            if not self.exists(k):
                return None
            start, end = self.occurrence(k)
            if now < start < end:
                return start
            k += 1
        return None  # pragma: no cover - more empty occurrences in a row than any tz has

    def merged_end(self, k: int) -> datetime | None:
        """Return where the stretch of touching occurrences from occurrence k ends, or None if never."""
        if self.period is not None and self.wall_duration == self.period:
            # Occurrences tile the timeline: active from the first start to the last end.
            if self.until is None:
                return None
            last = self.latest_start_index(self.until)
            assert last is not None  # until >= starts_at is validated
            return self.occurrence(last)[1]
        end = self.occurrence(k)[1]
        # Otherwise touching only happens where a gap swallows the space between two
        # occurrences, or a first occurrence given in a fold's second pass; a few steps do.
        for _ in range(_MAX_STEPS):
            k += 1
            if not self.exists(k):
                break
            start, next_end = self.occurrence(k)
            if start > end or start == next_end:
                break
            end = max(end, next_end)
        return end


def _parse_hhmm(name: str, text: Any) -> time:
    if not isinstance(text, str) or not (m := _HHMM_RE.match(text)):
        raise ValueError(f'support hours {name} must be a 24-hour "HH:MM" time such as "09:00", got {text!r}')
    return time(int(m.group(1)), int(m.group(2)))


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60}h{minutes % 60:02d}"
