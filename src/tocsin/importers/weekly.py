"""Shared pieces of the importers' schedule translation: weekly local windows as tocsin restrictions,
unique slugs, and the check of which tocsin layers have someone on during a stretch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tocsin.oncall import resolve
from tocsin.slugs import slugify

DAY = 86400
WEEK = 7 * DAY


def _hhmm(seconds: int) -> str:
    seconds %= DAY
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def weekly_restrictions(windows: Iterable[tuple[int, int]]) -> list[dict[str, Any]] | None:
    """Restrictions (docs/config-as-code.md) for windows given as (start, length) in seconds from Monday
    00:00 local, repeating weekly; [] when they cover the whole week; None when a bound is not on a whole
    minute (tocsin restrictions are HH:MM). Each window is cut into per-day pieces; pieces with the same
    hours are merged into one restriction with several days."""
    pieces: dict[tuple[str, str], set[int]] = {}
    covered: list[tuple[int, int]] = []
    for start, length in windows:
        if start % 60 or length % 60:
            return None
        if length <= 0:
            continue
        if length >= WEEK:
            return []
        s = start % WEEK
        covered.append((s, s + length))
        if length < DAY:  # one restriction, crossing midnight when it must
            day = s // DAY % 7 + 1
            pieces.setdefault((_hhmm(s), _hhmm(s + length)), set()).add(day)
            continue
        t, end = s, s + length
        while t < end:
            day_end = (t // DAY + 1) * DAY
            e = min(end, day_end)
            key = (_hhmm(t), _hhmm(e) if e < day_end else "00:00")
            if t % DAY == 0 and e == day_end:
                key = ("00:00", "00:00")  # a full day
            pieces.setdefault(key, set()).add(t // DAY % 7 + 1)
            t = e
    if _covers_week(covered):
        return []
    return [{"days": sorted(days), "start": s, "end": e} for (s, e), days in sorted(pieces.items())]


def _covers_week(spans: list[tuple[int, int]]) -> bool:
    flat: list[tuple[int, int]] = []
    for s, e in spans:  # unroll the wrap past Sunday midnight
        if e > WEEK:
            flat += [(s, WEEK), (0, e - WEEK)]
        else:
            flat.append((s, e))
    at = 0
    for s, e in sorted(flat):
        if s > at:
            return False
        at = max(at, e)
    return at >= WEEK


def seconds_into_week(local: datetime) -> int:
    """Seconds from Monday 00:00 of `local`'s week to `local` (a wall time)."""
    return (local.isoweekday() - 1) * DAY + local.hour * 3600 + local.minute * 60 + local.second


class Slugs:
    """Unique slugs per kind within one import: a second "Payments" becomes "payments-2"."""

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {}

    def make(self, kind: str, name: str) -> str:
        taken = self._taken.setdefault(kind, set())
        base = slugify(name)[:60].strip("-") or kind
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        return slug


def to_resolve_layers(layers: Sequence[dict[str, Any]]) -> list[resolve.Layer]:
    """Document layers (members as emails) as resolve.Layer values, to ask who they put on call."""
    out = []
    for layer in layers:
        restrictions = tuple(
            resolve.Restriction(frozenset(r["days"]), datetime.strptime(r["start"], "%H:%M").time(),
                                datetime.strptime(r["end"], "%H:%M").time())
            for r in layer.get("restrictions") or ())
        rotation = resolve.Rotation(kind=resolve.rotation_kind(layer["rotation"]), timezone=layer["time_zone"],
                                    start=datetime.fromisoformat(layer["start"]),
                                    participants=tuple(layer["members"]),
                                    shift_hours=int(layer.get("shift_hours") or 24))
        out.append(resolve.Layer(layer["name"], rotation, restrictions))
    return out


def anyone_on(layers: Sequence[dict[str, Any]], start: datetime, end: datetime) -> bool:
    """Whether the document layers put anyone on call between `start` and `end` (aware)."""
    if end <= start or not layers:
        return False
    return bool(resolve.final_shifts(to_resolve_layers(layers), [], start, min(end, start + timedelta(days=400))))


def agreement(schedule: dict[str, Any], entries: Sequence[Any], instants: Sequence[datetime]) -> int:
    """At how many `instants` a document schedule (layers and overrides, members as emails) puts the same
    person on call as the source's final timeline `entries` (TimelineEntry-like: email, start, end)."""
    layers = to_resolve_layers(schedule.get("layers") or ())
    overrides = [resolve.Override(o["user"], datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]))
                 for o in schedule.get("overrides") or ()]
    same = 0
    for at in instants:
        shift = resolve.on_call_at(layers, overrides, at)
        want = {e.email.lower() for e in entries if e.start <= at < e.end}
        same += want == ({shift.user} if shift is not None else set())
    return same
