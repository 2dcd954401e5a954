"""On-call resolution: who is on call when, from a schedule's layers and overrides.

Everything here is pure: inputs and outputs are aware datetimes (outputs always UTC), and the
rotation's IANA time zone is used only to lay handoffs and restriction windows on the local
wall clock.

Rules (one place, so the API, the engine and the web preview agree):

* Handoff k of a daily (weekly) rotation is the local wall time of `start` on the local date
  of `start` plus k days (k weeks). A shift across a daylight-saving change therefore lasts 23
  or 25 real hours and the handoff stays at, say, 09:00; nobody is dropped or doubled. Handoff 0
  is `start` exactly as given. A custom rotation hands off every `shift_hours` of real time.
* Wall times map to instants as in `tocsin.windows`: a time in a spring-forward gap is
  the first instant after the gap (the transition), a time in a fall-back fold is its first
  pass (fold=0). A shift or window that collapses to nothing (a day-long gap) is skipped.
* Restrictions clip a layer to the union of their local windows; a window belongs to the day
  it starts on and crosses midnight when `end <= start` (`end == start`: a full day).
* Later layers win where they have someone; where they have nobody, lower layers show through.
* Overrides beat every layer. They are applied in list order over the layered result, so a
  later override beats an earlier one (pass them oldest first), and an override with
  `replaces` applies only where that user is on call in the result beneath it (layers plus
  earlier overrides), which lets "Carol takes Alice's cover shift" chain.

Complexity is linear in the shifts, windows and overrides inside the asked range: the first
shift index is found by arithmetic, however old the rotation is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from tocsin.localtime import require_aware as _require_aware
from tocsin.localtime import resolve_wall as _resolve
from tocsin.localtime import wall as _wall
from tocsin.localtime import zone as _zone

RotationKind = Literal["daily", "weekly", "custom"]
ROTATION_KINDS: tuple[RotationKind, ...] = ("daily", "weekly", "custom")

OVERRIDE_SOURCE = "override"
MAX_SHIFT_HOURS = 8760

_PERIODS: dict[str, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
_TICK = timedelta(microseconds=1)  # the smallest range that holds one instant


@dataclass(frozen=True)
class Rotation:
    """Who takes turns, in which time zone, from when, and how long each turn lasts."""

    kind: RotationKind
    timezone: str  # IANA; handoffs happen at local wall time for daily/weekly
    start: datetime  # aware; the first handoff (participant 0 starts here)
    participants: tuple[str, ...]  # user ids in order; may be empty
    shift_hours: int = 24  # only for "custom": real-time length of every shift (1..8760)


@dataclass(frozen=True)
class Restriction:
    """A local window the layer covers: on ISO weekdays `days` (the day the window starts on),
    from `start` up to `end`; `end <= start` crosses midnight."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Layer:
    name: str
    rotation: Rotation
    restrictions: tuple[Restriction, ...] = ()  # empty: always active


@dataclass(frozen=True)
class Override:
    user: str
    start: datetime  # aware
    end: datetime  # aware, > start
    replaces: str | None = None  # None: covers the whole range regardless of who was on


@dataclass(frozen=True)
class Shift:
    """`user` is on call from `start` up to but excluding `end` (aware UTC) because of
    `source`: a layer name, or "override"."""

    user: str
    start: datetime
    end: datetime
    source: str


# ---------------------------------------------------------------------------------------------
# Validation


def rotation_kind(value: str) -> RotationKind:
    """`value` (a stored or submitted kind) as a RotationKind; raise ValueError, as
    validate_rotation does, when it is none of them."""
    for kind in ROTATION_KINDS:
        if value == kind:
            return kind
    raise ValueError(f"rotation kind must be one of daily, weekly, custom; got {value!r}")


def validate_rotation(rot: Rotation) -> None:
    """Return None if the rotation is usable; raise ValueError saying what is wrong otherwise.

    `shift_hours` is only checked (and only used) for custom rotations.
    """
    if rot.kind not in ROTATION_KINDS:
        raise ValueError(f"rotation kind must be one of daily, weekly, custom; got {rot.kind!r}")
    _zone(rot.timezone)
    _require_aware(**{"rotation start": rot.start})
    if not isinstance(rot.participants, tuple):
        raise ValueError("rotation participants must be a tuple of user ids")  # noqa: TRY004
    bad = [p for p in rot.participants if not isinstance(p, str) or not p.strip()]
    if bad:
        raise ValueError(f"rotation participants must be non-empty user id strings, got {bad!r}")
    if rot.kind == "custom":
        hours = rot.shift_hours
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_SHIFT_HOURS:
            raise ValueError(
                f"a custom rotation's shift_hours must be a whole number from 1 to {MAX_SHIFT_HOURS}, got {hours!r}"
            )


def validate_restriction(r: Restriction) -> None:
    """Return None if the restriction is usable; raise ValueError saying what is wrong otherwise."""
    if not isinstance(r.days, frozenset):
        raise ValueError("restriction days must be a frozenset of ISO weekdays")  # noqa: TRY004 - as above
    if not r.days:
        raise ValueError("a restriction needs at least one day")
    bad = sorted((d for d in r.days if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7), key=str)
    if bad:
        raise ValueError(f"restriction days must be ISO weekdays 1 (Monday) to 7 (Sunday), got {bad}")
    for name, value in (("start", r.start), ("end", r.end)):
        if not isinstance(value, time) or value.tzinfo is not None:
            raise ValueError(f"restriction {name} must be a local time without a time zone, got {value!r}")


def _validate_layer(layer: Layer) -> None:
    if not isinstance(layer.name, str) or not layer.name.strip():
        raise ValueError(f"a layer needs a non-empty name, got {layer.name!r}")
    validate_rotation(layer.rotation)
    if not isinstance(layer.restrictions, tuple):
        raise ValueError(f"layer {layer.name!r}: restrictions must be a tuple")  # noqa: TRY004
    for r in layer.restrictions:
        validate_restriction(r)


def _validate_override(o: Override) -> None:
    if not isinstance(o.user, str) or not o.user.strip():
        raise ValueError(f"an override needs a user id, got {o.user!r}")
    if o.replaces is not None and (not isinstance(o.replaces, str) or not o.replaces.strip()):
        raise ValueError(f"override replaces must be a user id or None, got {o.replaces!r}")
    _require_aware(**{"override start": o.start, "override end": o.end})
    if o.end <= o.start:
        raise ValueError(
            f"an override must end after it starts (starts {o.start.isoformat()}, ends {o.end.isoformat()})"
        )


# ---------------------------------------------------------------------------------------------
# Resolution


def layer_shifts(layer: Layer, start: datetime, end: datetime) -> list[Shift]:
    """Return the layer's shifts in [start, end), clipped to it and to the restrictions,
    time-ordered, one piece per rotation shift and window (not merged, so a rotation with a
    single participant still shows each handoff). Raise ValueError on an invalid layer, naive
    datetimes or end <= start."""
    start, end = _check_range(start, end)
    _validate_layer(layer)
    return [_clip(p, start, end) for p in _pieces(layer, start, end) if p.start < end and start < p.end]


def final_shifts(
    layers: Sequence[Layer], overrides: Sequence[Override], start: datetime, end: datetime
) -> list[Shift]:
    """Return who is on call in [start, end): non-overlapping, time-ordered shifts clipped to
    the range, with touching pieces of the same user and source merged; gaps mean nobody.
    Raise ValueError on an invalid layer or override, naive datetimes or end <= start."""
    start, end = _check_range(start, end)
    for o in overrides:
        _validate_override(o)
    stacks = [layer_shifts(layer, start, end) for layer in layers]
    covers = [
        (s, e, o)
        for o in overrides
        if (s := max(o.start.astimezone(UTC), start)) < (e := min(o.end.astimezone(UTC), end))
    ]
    points = sorted(
        {start, end}
        | {t for st in stacks for p in st for t in (p.start, p.end)}
        | {t for s, e, _ in covers for t in (s, e)}
    )

    cursors = [0] * len(stacks)
    by_start = sorted(range(len(covers)), key=lambda i: covers[i][0])
    next_cover = 0
    active: list[int] = []
    out: list[Shift] = []
    for a, b in pairwise(points):
        # Every piece and cover starts and ends on a point, so each is all-or-nothing on [a, b).
        who: tuple[str, str] | None = None
        for i in range(len(stacks) - 1, -1, -1):
            st = stacks[i]
            while cursors[i] < len(st) and st[cursors[i]].end <= a:
                cursors[i] += 1
            if cursors[i] < len(st) and st[cursors[i]].start <= a:
                who = (st[cursors[i]].user, st[cursors[i]].source)
                break
        while next_cover < len(by_start) and covers[by_start[next_cover]][0] <= a:
            active.append(by_start[next_cover])
            next_cover += 1
        active = sorted(i for i in active if covers[i][1] > a)
        for i in active:  # list order: a later override beats an earlier one
            o = covers[i][2]
            if o.replaces is None or (who is not None and who[0] == o.replaces):
                who = (o.user, OVERRIDE_SOURCE)
        if who is None:
            continue
        last = out[-1] if out else None
        if last is not None and last.end == a and (last.user, last.source) == who:
            out[-1] = Shift(last.user, last.start, b, last.source)
        else:
            out.append(Shift(who[0], a, b, who[1]))
    return out


def on_call_at(layers: Sequence[Layer], overrides: Sequence[Override], at: datetime) -> Shift | None:
    """Return the final shift covering `at` (someone starting at `at` is on), or None.

    Its bounds are those of the final schedule, looked at within the rotation shifts and
    overrides that contain `at`: a user who also holds the next rotation shift is shown until
    the handoff, not for the whole run. Raise ValueError like `final_shifts`.
    """
    _require_aware(at=at)
    at = at.astimezone(UTC)
    spans: list[tuple[datetime, datetime]] = []
    for layer in layers:
        _validate_layer(layer)
        spans += [(p.start, p.end) for p in _pieces(layer, at, at + _TICK) if p.start <= at < p.end]
    for o in overrides:
        _validate_override(o)
        s, e = o.start.astimezone(UTC), o.end.astimezone(UTC)
        if s <= at < e:
            spans.append((s, e))
    if not spans:
        return None
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    return next((s for s in final_shifts(layers, overrides, lo, hi) if s.start <= at < s.end), None)


# ---------------------------------------------------------------------------------------------
# Internals


def _pieces(layer: Layer, lo: datetime, hi: datetime) -> list[Shift]:
    """Return the layer's restriction-clipped shifts from rotation shifts overlapping [lo, hi),
    not clipped to the range (a piece may overhang either end)."""
    rot = layer.rotation
    n = len(rot.participants)
    if n == 0:
        return []
    handoffs = _Handoffs.of(rot)
    shifts = list(handoffs.overlapping(lo, hi))
    if not layer.restrictions or not shifts:
        return [Shift(rot.participants[k % n], s, e, layer.name) for k, s, e in shifts]
    windows = _windows(layer.restrictions, handoffs.tz, shifts[0][1], shifts[-1][2])
    out: list[Shift] = []
    w = 0
    for k, s, e in shifts:  # both lists are sorted and disjoint: one merge pass
        while w < len(windows) and windows[w][1] <= s:
            w += 1
        j = w
        while j < len(windows) and windows[j][0] < e:
            out.append(Shift(rot.participants[k % n], max(s, windows[j][0]), min(e, windows[j][1]), layer.name))
            j += 1
    return out


@dataclass(frozen=True, slots=True)
class _Handoffs:
    """Handoff k of a validated rotation, computed by index rather than by iteration."""

    start: datetime  # UTC
    tz: ZoneInfo
    step: timedelta
    wall_based: bool  # daily/weekly: step is local wall-clock time; custom: real time
    first_wall: datetime

    @classmethod
    def of(cls, rot: Rotation) -> _Handoffs:
        tz = _zone(rot.timezone)
        start = rot.start.astimezone(UTC)
        if rot.kind == "custom":
            return cls(start, tz, timedelta(hours=rot.shift_hours), False, _wall(start, tz))
        return cls(start, tz, _PERIODS[rot.kind], True, _wall(start, tz))

    def at(self, k: int) -> datetime:
        if k == 0:
            # Taken as given, even in a fold's second pass, which the wall rule would not pick.
            return self.start
        if not self.wall_based:
            return self.start + k * self.step
        return _resolve(self.first_wall + k * self.step, self.tz)

    def index(self, t: datetime) -> int | None:
        """Return the largest k with handoff k <= t, or None before the first handoff."""
        if t < self.start:
            return None
        if not self.wall_based:
            return (t - self.start) // self.step
        # resolve(wall(t)) <= t and resolution is monotonic, so handoff `base` has happened;
        # when t is in a fold's second pass, handoff base + 1 (later wall, first pass) may too.
        k = max(0, (_wall(t, self.tz) - self.first_wall) // self.step + 1)
        while self.at(k) > t:  # at most two steps; handoff 0 <= t ends it
            k -= 1
        return k

    def overlapping(self, lo: datetime, hi: datetime) -> Iterator[tuple[int, datetime, datetime]]:
        """Yield (k, start, end) of the non-empty shifts overlapping [lo, hi), in order."""
        k = self.index(lo) or 0
        s = self.at(k)
        while s < hi:
            e = self.at(k + 1)
            if s < e and lo < e:
                yield k, s, e
            k, s = k + 1, e


def _windows(
    restrictions: Sequence[Restriction], tz: ZoneInfo, lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the union of the restriction windows overlapping [lo, hi) as sorted, disjoint
    (start, end) UTC pairs; touching windows are joined."""
    spans: list[tuple[datetime, datetime]] = []
    # A window starts on its day and lasts at most a day (plus a fold), so starting two local
    # days early catches one that began before `lo` and is still open.
    day = _wall(lo, tz).date() - timedelta(days=2)
    last = _wall(hi, tz).date()
    while day <= last:
        weekday = day.isoweekday()
        for r in restrictions:
            if weekday not in r.days:
                continue
            s = _resolve(datetime.combine(day, r.start), tz)
            end_day = day if r.end > r.start else day + timedelta(days=1)
            e = _resolve(datetime.combine(end_day, r.end), tz)
            if s < e and s < hi and lo < e:
                spans.append((s, e))
        day += timedelta(days=1)
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _clip(p: Shift, start: datetime, end: datetime) -> Shift:
    return Shift(p.user, max(p.start, start), min(p.end, end), p.source)


def _check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    _require_aware(start=start, end=end)
    if end <= start:
        raise ValueError(f"end must be after start (start {start.isoformat()}, end {end.isoformat()})")
    return start.astimezone(UTC), end.astimezone(UTC)
