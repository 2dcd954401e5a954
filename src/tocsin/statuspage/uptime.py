"""The 90-day uptime bars: pure arithmetic over status intervals, no database.

A component's uptime for a day is the share of that day's *counted* time it was up:

- `major_outage` is down, `partial_outage` counts as 30 % down (customers of the broken part
  saw an outage, the others did not), `degraded_performance` and `operational` are up;
- `under_maintenance` is left out of the denominator (announced work is not downtime);
- time a linked synthetic check was failing counts as down, whatever the posted status says
  (the check saw it even if nobody updated the page), unless under maintenance; a check run
  from several locations is failing while a quorum of them fails (as it alerts);
- time before the component existed, and time after `now`, is not counted.

Days are calendar days in the page's time zone, so a day can be 23 or 25 hours long across
a DST change. A day with nothing counted has no figure (`up` is None: "no data").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = 90
PARTIAL_DOWN = 0.3
MAINTENANCE = "under_maintenance"
DOWN_WEIGHT = {"major_outage": 1.0, "partial_outage": PARTIAL_DOWN}


@dataclass(frozen=True)
class Interval:
    """A span [start, end) with one status (or a failing check, status "failed")."""

    start: datetime
    end: datetime
    status: str


@dataclass(frozen=True)
class Day:
    day: date
    counted_seconds: float
    down_seconds: float
    worst: str  # the worst status seen that day: operational … major_outage, or under_maintenance

    @property
    def up(self) -> float | None:
        """The fraction of counted time up (0..1), or None when nothing was counted."""
        if self.counted_seconds <= 0:
            return None
        return max(0.0, 1.0 - self.down_seconds / self.counted_seconds)


@dataclass(frozen=True)
class Uptime:
    days: tuple[Day, ...]  # oldest first, the last one is today
    percent: float | None  # over the whole window, 0..100; None with nothing counted


_RANK = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2, "partial_outage": 3,
         "major_outage": 4, "failed": 4}


def status_intervals(changes: Iterable[tuple[datetime, str]], *, initial: str, since: datetime,
                     until: datetime) -> list[Interval]:
    """Turn a log of (at, new status) into intervals covering [since, until).

    `initial` is the status before the first change (the last change before `since`, or the
    component's status at creation)."""
    out: list[Interval] = []
    current, start = initial, since
    for at, status in sorted(changes, key=lambda c: c[0]):
        if at <= since:
            current = status
            continue
        if at >= until:
            break
        if at > start:
            out.append(Interval(start, at, current))
        current, start = status, at
    if until > start:
        out.append(Interval(start, until, current))
    return out


def failing_intervals(results: Iterable[tuple[datetime, bool]], *, until: datetime,
                      max_gap: timedelta | None = None) -> list[Interval]:
    """Failing spans of a check: a failed result holds until the next result (or `until`),
    at most `max_gap` long when given (a check that stopped running proves nothing)."""
    ordered = sorted(results, key=lambda r: r[0])
    out: list[Interval] = []
    for i, (at, ok) in enumerate(ordered):
        if ok or at >= until:
            continue
        end = ordered[i + 1][0] if i + 1 < len(ordered) else until
        if max_gap is not None:
            end = min(end, at + max_gap)
        end = min(end, until)
        if end > at:
            out.append(Interval(at, end, "failed"))
    return merge(out)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Join overlapping or touching failing spans (a check failing for hours is one span)."""
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end, out[-1].status)
        else:
            out.append(iv)
    return out


def quorum_spans(per_location: Iterable[Sequence[Interval]], quorum: int) -> list[Interval]:
    """The spans when at least `quorum` locations' failing spans overlap (each location's spans
    merged first), so a check run from several places shows failing on the page only when its
    quorum failed, as it alerts: one flaky (or hostile) location below the quorum paints nothing."""
    edges: list[tuple[datetime, int]] = []
    for spans in per_location:
        for iv in merge(spans):
            edges += [(iv.start, 1), (iv.end, -1)]
    out: list[Interval] = []
    count, start = 0, None
    for at, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        count += step
        if count >= quorum and start is None:
            start = at
        elif count < quorum and start is not None:
            if at > start:
                out.append(Interval(start, at, "failed"))
            start = None
    return merge(out)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of `day` in `zone`, as aware UTC datetimes (23 or 25 h long across DST)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def window_start(now: datetime, zone: ZoneInfo, days: int = DAYS) -> datetime:
    """The start (UTC) of the first day of the `days`-day window ending today in `zone`."""
    today = now.astimezone(zone).date()
    return day_bounds(today - timedelta(days=days - 1), zone)[0]


def compute(*, statuses: Sequence[Interval], failing: Sequence[Interval] = (), now: datetime,
            zone: ZoneInfo, since: datetime | None = None, days: int = DAYS) -> Uptime:
    """Per-day uptime for the `days` days ending today (in `zone`), and the window's percentage.

    `statuses` should cover the window (see `status_intervals`); time they do not cover is
    not counted. `since` (e.g. the component's creation) excludes earlier time."""
    today = now.astimezone(zone).date()
    out: list[Day] = []
    total_counted = total_down = 0.0
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        lo, hi = day_bounds(day, zone)
        if since is not None:
            lo = max(lo, since)
        hi = min(hi, now)
        counted = down = 0.0
        worst = "operational"
        if hi > lo:
            counted, down, worst = _measure(statuses, failing, lo, hi)
        out.append(Day(day, counted, down, worst))
        total_counted += counted
        total_down += down
    percent = None if total_counted <= 0 else round(100.0 * (1.0 - total_down / total_counted), 4)
    return Uptime(tuple(out), percent)


def _measure(statuses: Sequence[Interval], failing: Sequence[Interval], lo: datetime,
             hi: datetime) -> tuple[float, float, str]:
    """(counted seconds, down seconds, worst status) within [lo, hi)."""
    counted = down = 0.0
    worst = "operational"
    for iv in statuses:
        start, end = max(iv.start, lo), min(iv.end, hi)
        if end <= start:
            continue
        if _RANK.get(iv.status, 0) > _RANK[worst]:
            worst = iv.status
        if iv.status == MAINTENANCE:
            continue
        span = (end - start).total_seconds()
        counted += span
        weight = DOWN_WEIGHT.get(iv.status, 0.0)
        # A failing check makes the overlapping part fully down.
        failed = _overlap(failing, start, end)
        down += weight * (span - failed) + failed
        if failed > 0 and _RANK[worst] < _RANK["major_outage"]:
            worst = "major_outage"
    return counted, down, worst


def _overlap(intervals: Sequence[Interval], lo: datetime, hi: datetime) -> float:
    """Seconds of [lo, hi) covered by `intervals` (which may overlap each other)."""
    spans = sorted((max(iv.start, lo), min(iv.end, hi)) for iv in intervals if iv.end > lo and iv.start < hi)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    total = 0.0
    for s, e in merged:
        total += (e - s).total_seconds()
    return total
