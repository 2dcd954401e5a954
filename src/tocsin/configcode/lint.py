"""`tocsin lint`: findings about a configuration document, one line each, for CI.

- a schedule with nobody on call for a while over the next N weeks (coverage gaps);
- a person on call more than H hours in one of those weeks;
- an escalation policy that reaches nobody who gets high-urgency pages on a verified contact
  method (`paged`: who does, read from the database; None skips the check);
- a service without an escalation policy;
- a routing or auto-incident rule that can never match: two matchers on one label that cannot
  both hold, or an earlier rule (the first match wins) that matches every alert it would.

A function of the document and the instant `now`: no database, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from tocsin.configcode.document import Document, Item, LayerDoc, ScheduleDoc
from tocsin.oncall import resolve
from tocsin.routing.matchers import Matcher, Op, parse_matcher

CHUNK = timedelta(days=28)


def _label(it: Item, key: str) -> str:
    return f"{it.where} ({key})"


def _layer(lay: LayerDoc) -> resolve.Layer:
    rot = resolve.Rotation(kind=resolve.rotation_kind(lay.rotation), timezone=lay.time_zone, start=lay.start,
                           participants=tuple(m.strip().lower() for m in lay.members), shift_hours=lay.shift_hours)
    restrictions = tuple(resolve.Restriction(days=frozenset(r.days), start=time.fromisoformat(r.start),
                                             end=time.fromisoformat(r.end)) for r in lay.restrictions)
    return resolve.Layer(name=lay.name, rotation=rot, restrictions=restrictions)


def schedule_shifts(sd: ScheduleDoc, start: datetime, end: datetime) -> list[resolve.Shift]:
    """Who the document's schedule puts on call from start to end (emails)."""
    layers = [_layer(x) for x in sd.layers if not x.shadow]
    overrides = [resolve.Override(user=o.user.strip().lower(), start=o.start, end=o.end,
                                  replaces=o.replaces.strip().lower() if o.replaces else None)
                 for o in sd.overrides]
    out: list[resolve.Shift] = []
    at = start
    while at < end:
        nxt = min(at + CHUNK, end)
        out += resolve.final_shifts(layers, overrides, at, nxt)
        at = nxt
    return out


def _gaps(shifts: Sequence[resolve.Shift], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    gaps, at = [], start
    for sh in sorted(shifts, key=lambda x: x.start):
        if sh.start > at:
            gaps.append((at, sh.start))
        at = max(at, sh.end)
    if at < end:
        gaps.append((at, end))
    return gaps


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%MZ")


def coverage(doc: Document, *, now: datetime, weeks: int, max_hours: float) -> list[str]:
    findings: list[str] = []
    end = now + timedelta(weeks=weeks)
    for it in doc.items("schedules"):
        sd = it.obj
        shifts = schedule_shifts(sd, now, end)
        gaps = _gaps(shifts, now, end)
        if gaps:
            hours = sum((b - a).total_seconds() for a, b in gaps) / 3600
            first = gaps[0]
            findings.append(f"{_label(it, sd.slug)}: nobody on call for {hours:.0f} h over the next {weeks} weeks, "
                            f"first {_fmt(first[0])} to {_fmt(first[1])}"
                            + (f" (and {len(gaps) - 1} more gaps)" if len(gaps) > 1 else ""))
        for week in range(weeks):
            lo, hi = now + timedelta(weeks=week), now + timedelta(weeks=week + 1)
            load: dict[str, float] = defaultdict(float)
            for sh in shifts:
                a, b = max(sh.start, lo), min(sh.end, hi)
                if a < b:
                    load[sh.user] += (b - a).total_seconds() / 3600
            for person, hours in sorted(load.items()):
                if hours > max_hours:
                    findings.append(f"{_label(it, sd.slug)}: {person} is on call {hours:.0f} h in the week from "
                                    f"{_fmt(lo)} (more than {max_hours:g})")
    return findings


def reachable(doc: Document, paged: set[str] | None) -> list[str]:
    findings: list[str] = []
    schedules = {it.obj.slug: it.obj for it in doc.items("schedules")}
    teams = {it.obj.slug: [m.strip().lower() for m in it.obj.members] for it in doc.items("teams")}
    for it in doc.items("escalation_policies"):
        if paged is None:
            break
        people: set[str] = set()
        for level in it.obj.levels:
            for t in level.targets:
                kind, key = t.kind_key()
                if kind == "user":
                    people.add(key)
                elif kind == "team":
                    people.update(teams.get(key, []))
                elif key in schedules:
                    people.update(m.strip().lower() for lay in schedules[key].layers if not lay.shadow
                                  for m in lay.members)
        if not people & paged:
            findings.append(f"{_label(it, it.obj.slug)}: reaches nobody with a verified contact method for "
                            "high-urgency pages")
    for it in doc.items("services"):
        if not it.obj.escalation_policy:
            findings.append(f"{_label(it, it.obj.slug)}: no escalation policy: its alerts page nobody")
    return findings


def _matches_everything(m: Matcher) -> bool:
    return m.op is Op.re and m.value in (".*", "(.*)")


def impossible(matchers: Sequence[Matcher]) -> str | None:
    """Why these matchers (all must hold) can never hold together, or None."""
    by_name: dict[str, list[Matcher]] = defaultdict(list)
    for m in matchers:
        by_name[m.name].append(m)
    for name, ms in by_name.items():
        equal = {m.value for m in ms if m.op is Op.eq}
        if len(equal) > 1:
            return f"label {name} cannot equal both " + " and ".join(repr(v) for v in sorted(equal))
        if equal:
            (value,) = equal
            for m in ms:
                if m.op is not Op.eq and not m.matches({name: value}):
                    return f"label {name}={value!r} contradicts {m}"
    return None


def _shadows(earlier: Sequence[Matcher], later: Sequence[Matcher]) -> bool:
    """Whether every alert `later` matches is matched by `earlier` already (its matchers are a subset
    of the later rule's, leaving out those that match everything)."""
    needed = {m for m in earlier if not _matches_everything(m)}
    return needed <= set(later)


def rules(doc: Document) -> list[str]:
    findings: list[str] = []
    for section in ("routing_rules", "auto_incident_rules"):
        seen: list[tuple[Item, tuple[Matcher, ...]]] = []
        for it in doc.items(section):
            try:
                ms = tuple(parse_matcher(m) for m in it.obj.matchers)
            except ValueError as exc:
                findings.append(f"{_label(it, it.obj.name)}: {exc}")
                continue
            why = impossible(ms)
            if why:
                findings.append(f"{_label(it, it.obj.name)}: never matches: {why}")
            for earlier, ems in seen:
                if _shadows(ems, ms):
                    findings.append(f"{_label(it, it.obj.name)}: never matches: {earlier.where} "
                                    f"({earlier.obj.name}) matches every alert it would, first")
                    break
            seen.append((it, ms))
    return findings


def lint(doc: Document, *, now: datetime, weeks: int = 4, max_hours: float = 84,
         paged: set[str] | None = None) -> list[str]:
    return coverage(doc, now=now, weeks=weeks, max_hours=max_hours) + reachable(doc, paged) + rules(doc)
