"""Deadline arithmetic for regulatory obligations, pure: when is a filing due, and what state is it in.

The rules (each decision returns its reason, so the room can say why a deadline is what it is):

- **hours**: the start plus that many real hours (72 h stays 72 h across a DST change).
- **calendar days / business days / months**: counted on the regulator's wall calendar (its time
  zone, UTC when the rule names none). The day of the event is day 0; the deadline is the end of
  the last day (the next local midnight, resolved by `localtime`'s rule), the way "within 4
  business days after" and "no later than 60 calendar days" read. Business days skip the
  calendar's weekend days and holidays; a month is the same day-of-month next month (clamped
  to the month's last day).
- **without undue delay**: no fixed deadline; the obligation stays open with no countdown.
- **earliest of**: an obligation may have several terms (DORA's initial report: 4 h after
  classification, but no later than 24 h after awareness); it is due at the earliest of the
  terms whose start is known. A term can start from another obligation's actual filing time
  (chains: NIS2's final report counts from when the notification was filed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tocsin.localtime import resolve_wall, zone

MAX_BUSINESS_DAYS = 3660  # a bound on the walk, far beyond any rule


class Unit(StrEnum):
    hours = "hours"
    calendar_days = "calendar_days"
    business_days = "business_days"
    months = "months"
    without_undue_delay = "without_undue_delay"


UNIT_WORDS = {Unit.hours: "h", Unit.calendar_days: "calendar days", Unit.business_days: "business days",
              Unit.months: "months", Unit.without_undue_delay: "without undue delay"}


@dataclass(frozen=True)
class Calendar:
    """Which local days are not business days: weekday numbers (Monday 0) and holiday dates."""

    name: str = "default"
    weekend: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[date] = frozenset()

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays


@dataclass(frozen=True)
class Term:
    """One deadline term: `amount` `unit` after `start` (a clock name, or `filed:<obligation>`)."""

    start: str
    amount: int = 0
    unit: Unit = Unit.hours
    tz: str | None = None

    def words(self) -> str:
        if self.unit is Unit.without_undue_delay:
            return f"without undue delay after {start_words(self.start)}"
        zone_words = f" ({self.tz})" if self.tz and self.unit is not Unit.hours else ""
        unit = UNIT_WORDS[self.unit] if self.unit is not Unit.hours else "h"
        sep = "" if self.unit is Unit.hours else " "
        return f"{self.amount}{sep}{unit}{zone_words} after {start_words(self.start)}"


def start_words(start: str) -> str:
    return f"the {start.removeprefix('filed:')} filing" if start.startswith("filed:") else start


def _end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The instant the local day ends: the next local midnight (DST-correct)."""
    return resolve_wall(datetime.combine(day + timedelta(days=1), time(0)), tz)


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


def add(start: datetime, amount: int, unit: Unit, *, tz: str | None = None,
        calendar: Calendar | None = None) -> datetime | None:
    """Return the deadline `amount` `unit` after the aware instant `start` (UTC), or None for
    "without undue delay". Raise ValueError for a naive start, a negative amount or an unknown zone."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("deadlines start from aware datetimes only")
    if amount < 0:
        raise ValueError("a deadline amount cannot be negative")
    if unit is Unit.without_undue_delay:
        return None
    if unit is Unit.hours:
        return (start + timedelta(hours=amount)).astimezone(UTC)
    where = zone(tz or "UTC")
    day = start.astimezone(where).date()
    if unit is Unit.calendar_days:
        return _end_of_local_day(day + timedelta(days=amount), where)
    if unit is Unit.months:
        return _end_of_local_day(_add_months(day, amount), where)
    cal = calendar or Calendar()
    if len(cal.weekend) >= 7:
        raise ValueError(f"calendar {cal.name!r} has no business days")
    counted = 0
    for _ in range(MAX_BUSINESS_DAYS):
        if counted == amount:
            return _end_of_local_day(day, where)
        day += timedelta(days=1)
        if cal.is_business_day(day):
            counted += 1
    raise ValueError(f"no {amount} business days within {MAX_BUSINESS_DAYS} days in calendar {cal.name!r}")


@dataclass(frozen=True)
class Due:
    """When an obligation is due and why; `at` None: not yet (`waiting`) or no fixed deadline."""

    at: datetime | None
    reason: str
    waiting: tuple[str, ...] = ()  # the starts still unknown that would make it due
    undue_delay: bool = False


def due(terms: Sequence[Term], starts: Mapping[str, datetime | None], *,
        calendars: Mapping[str, Calendar] | None = None, calendar: str | None = None) -> Due:
    """The earliest deadline among `terms` whose start is known in `starts`.

    A "without undue delay" term whose start is known makes the obligation open with no fixed time
    (unless a fixed term is also known). Nothing known: not yet due, with the starts it waits for."""
    cal = (calendars or {}).get(calendar or "default") or Calendar()
    best: tuple[datetime, Term] | None = None
    undue: Term | None = None
    waiting: list[str] = []
    for term in terms:
        begin = starts.get(term.start)
        if begin is None:
            waiting.append(term.start)
            continue
        at = add(begin, term.amount, term.unit, tz=term.tz, calendar=cal)
        if at is None:
            undue = term
        elif best is None or at < best[0]:
            best = (at, term)
    if best is not None:
        reason = best[1].words()
        if len(terms) > 1:
            reason = f"{reason} (the earliest of: {'; '.join(t.words() for t in terms)})"
        return Due(best[0], reason, tuple(waiting))
    if undue is not None:
        return Due(None, undue.words(), tuple(waiting), undue_delay=True)
    words = ", ".join(dict.fromkeys(start_words(w) for w in waiting))
    return Due(None, f"not started: waiting for {words}", tuple(waiting))


class State(StrEnum):
    waiting = "waiting"  # its clock has not started
    open = "open"
    due_soon = "due_soon"
    overdue = "overdue"
    filed = "filed"
    filed_late = "filed_late"
    not_applicable = "not_applicable"


CLOSED_STATES = frozenset({State.filed, State.filed_late, State.not_applicable})


@dataclass(frozen=True)
class Standing:
    state: State
    reason: str


def standing(*, due_at: datetime | None, started: bool, now: datetime, filed_at: datetime | None = None,
             late_reason: str | None = None, not_applicable: str | None = None,
             soon: timedelta = timedelta(hours=24)) -> Standing:
    """The obligation's state at `now` and why."""
    if not_applicable is not None:
        return Standing(State.not_applicable, f"not applicable: {not_applicable}")
    if filed_at is not None:
        if due_at is not None and filed_at > due_at:
            return Standing(State.filed_late, f"filed {_span(filed_at - due_at)} late: {late_reason or 'no reason given'}")
        return Standing(State.filed, "filed in time" if due_at is not None else "filed")
    if due_at is None:
        return Standing(State.open, "open: no fixed deadline") if started else \
            Standing(State.waiting, "its clock has not started")
    if now >= due_at:
        return Standing(State.overdue, f"overdue by {_span(now - due_at)}")
    if due_at - now <= soon:
        return Standing(State.due_soon, f"due in {_span(due_at - now)}")
    return Standing(State.open, f"due in {_span(due_at - now)}")


def _span(delta: timedelta) -> str:
    """A short human span: "41 h", "3 d 4 h", "25 min"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours = minutes // 60
    if hours < 72:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def countdown(due_at: datetime, now: datetime) -> str:
    """"due in 41 h" or "overdue by 3 h", as the room header and the dashboard say it."""
    return f"due in {_span(due_at - now)}" if due_at > now else f"overdue by {_span(now - due_at)}"


@dataclass(frozen=True)
class Leads:
    """Reminder lead times before a due time, largest first (0 is the "due now" notice)."""

    minutes: tuple[int, ...] = field(default=(1440, 240, 60))

    @classmethod
    def parse(cls, text: str) -> Leads:
        """"24h,4h,1h,30m" -> Leads; raise ValueError with the offending item."""
        out: set[int] = set()
        for item in (p.strip().lower() for p in text.split(",")):
            if not item:
                continue
            number, unit = item[:-1], item[-1:]
            if unit not in ("h", "m", "d") or not number.isdigit():
                raise ValueError(f"reminder lead {item!r}: use hours, minutes or days such as 24h, 30m, 2d")
            value = int(number) * {"m": 1, "h": 60, "d": 1440}[unit]
            if not 0 < value <= 60 * 24 * 60:
                raise ValueError(f"reminder lead {item!r} must be between 1 minute and 60 days")
            out.add(value)
        return cls(tuple(sorted(out, reverse=True)))


def reminder_due(due_at: datetime | None, now: datetime, leads: Leads, reminded: int | None) -> int | None:
    """The lead (minutes; 0 = "due now") whose reminder is due at `now`, or None.

    `reminded` is the smallest lead already sent for this due time (None: none yet). Only the
    smallest lead that has been reached is sent: an engine that was down sends one reminder,
    not a backlog of the larger leads it missed."""
    if due_at is None:
        return None
    reached = [m for m in (*leads.minutes, 0) if due_at - timedelta(minutes=m) <= now]
    if not reached:
        return None
    lead = min(reached)
    if reminded is not None and reminded <= lead:
        return None
    return lead
