"""On-call load and fairness: hours on call, pages, off-hours pages and nights interrupted per
person, and how evenly a schedule spreads hours and pages among its members.

The computations are pure functions of resolved shifts and page send times (unit-tested with
hand-computed numbers); `oncall_load()` is the one query side: it resolves each schedule's
shifts for the period with `oncall.resolve.final_shifts` (layers, restrictions and overrides,
DST-correct) and reads the pages from the notifications outbox.

Definitions (docs/reports.md repeats them for users):

* **A page** is one escalation step reaching one person: every outbox row of kind `page` (an
  alert) or `incident` (an Incident Commander page) that went out (`sent_at` set), grouped by
  escalation, fence epoch and person. The channels of a step (SMS and email), delayed
  notification rules and fall-through to another contact method are the same page. Its time is
  the first send; a page belongs to the period its first send falls in. A drill's pages (an
  exercise's) are not counted.
* **Off hours**: the page's first send, on the person's wall clock (users.time_zone), is not
  Monday–Friday 09:00–18:00.
* **Night interrupted**: a local night runs 22:00–07:00 and belongs to the date it starts on;
  a night counts once however many pages it had.
* **Fairness** over a schedule's members (layer members, plus anyone an override put on call
  in the period), for hours on call in that schedule and for pages sent while on call in it:
  min, max, `max / min` (null when someone has zero), and the coefficient of variation
  `population standard deviation / mean` (0 = perfectly even; null when the mean is zero).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.errors import InvalidInput
from tocsin.escalation.models import Notification
from tocsin.incidents.access import visibility_clause
from tocsin.incidents.models import Incident
from tocsin.localtime import zone
from tocsin.oncall import resolve
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ScheduleOverride
from tocsin.principal import Principal
from tocsin.reports.period import parse_period
from tocsin.services.models import Service
from tocsin.teams.models import Team
from tocsin.teams.service import member_ids, require_team
from tocsin.users.models import User

MAX_PERIOD = timedelta(days=366)
PAGE_KINDS = ("page", "incident")
WENT_OUT = ("sent", "delivered", "bundled")  # bundled: carried by another row; went out if sent_at is set
# A page is grouped by its first send; rows of one page are sent minutes apart (delayed rules,
# fall-through), so looking this far before the period finds a page's earlier rows.
_LOOKBEHIND = timedelta(days=1)
WORK_START, WORK_END = time(9), time(18)
NIGHT_START, NIGHT_END = time(22), time(7)


# --- pure: periods -----------------------------------------------------------------------------

def period(*, since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """Return [since, until) from the query, parsed as every report does (`reports.period`:
    default 90 days back to now, within ten years of now); raise InvalidInput unless the period is
    at most 366 days (shifts are computed, not stored)."""
    p = parse_period(since, until, now=now)
    if p.until - p.since > MAX_PERIOD:
        raise InvalidInput("the on-call report covers at most 366 days", details={"field": "since"})
    return p.since, p.until


# --- pure: pages -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageSent:
    user_id: str
    at: datetime  # first send, UTC


def page_key(idempotency_key: str) -> str:
    """The step a notification belongs to: "<escalation>:<epoch>:<user>". Paging rows are keyed
    "<escalation>:<epoch>:<user>:<route tag>" and fall-through rows append "|fb:<tag>"."""
    head = idempotency_key.split("|", 1)[0]
    return head.rsplit(":", 1)[0] if head.count(":") >= 3 else head


def first_sends(rows: Iterable[tuple[str, str, datetime]]) -> list[PageSent]:
    """Return one PageSent per (user, step) from (user_id, idempotency_key, sent_at) rows, at the
    step's earliest send, ordered by time."""
    first: dict[tuple[str, str], datetime] = {}
    for user_id, key, sent_at in rows:
        k = (user_id, page_key(key))
        if k not in first or sent_at < first[k]:
            first[k] = sent_at
    return sorted((PageSent(u, at) for (u, _), at in first.items()), key=lambda p: (p.at, p.user_id))


def is_off_hours(instant: datetime, tz: ZoneInfo) -> bool:
    """True unless `instant` is Monday–Friday 09:00–18:00 on the wall clock of `tz`."""
    local = instant.astimezone(tz)
    return local.isoweekday() > 5 or not WORK_START <= local.time() < WORK_END


def night_of(instant: datetime, tz: ZoneInfo) -> date | None:
    """The local date whose night (22:00–07:00) contains `instant`, or None in the daytime."""
    local = instant.astimezone(tz)
    if local.time() >= NIGHT_START:
        return local.date()
    if local.time() < NIGHT_END:
        return local.date() - timedelta(days=1)
    return None


@dataclass(frozen=True)
class PageStats:
    pages: int
    off_hours_pages: int
    nights_interrupted: int


def page_stats(times: Sequence[datetime], tz: ZoneInfo) -> PageStats:
    """Count a person's pages, those off hours and the distinct nights they interrupted."""
    nights = {n for t in times if (n := night_of(t, tz)) is not None}
    return PageStats(len(times), sum(is_off_hours(t, tz) for t in times), len(nights))


# --- pure: shifts and fairness -----------------------------------------------------------------

def hours_by_user(shifts: Iterable[resolve.Shift]) -> dict[str, float]:
    """Real hours each user is on call in the shifts (already clipped to the period)."""
    out: dict[str, float] = defaultdict(float)
    for s in shifts:
        out[s.user] += (s.end - s.start).total_seconds() / 3600
    return dict(out)


def pages_on_call(pages: Iterable[PageSent], shifts: Sequence[resolve.Shift]) -> dict[str, int]:
    """Pages each user got while on call in these shifts (a shift covers [start, end))."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for s in shifts:
        spans[s.user].append((s.start, s.end))
    out: dict[str, int] = defaultdict(int)
    for p in pages:
        if any(a <= p.at < b for a, b in spans.get(p.user_id, ())):
            out[p.user_id] += 1
    return dict(out)


@dataclass(frozen=True)
class Spread:
    min: float
    max: float
    max_min_ratio: float | None  # None when the minimum is zero
    cv: float | None  # population standard deviation / mean; None when the mean is zero


def spread(values: Sequence[float]) -> Spread | None:
    """How unevenly `values` (one per member) are spread; None for no members."""
    if not values:
        return None
    lo, hi = min(values), max(values)
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return Spread(lo, hi, hi / lo if lo > 0 else None, sd / mean if mean > 0 else None)


# --- the query ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberLoad:
    user_id: str
    hours_on_call: float
    pages: int  # pages sent while on call in this schedule


@dataclass(frozen=True)
class ScheduleLoad:
    schedule: Schedule
    members: list[MemberLoad]
    hours: Spread | None
    pages: Spread | None


@dataclass(frozen=True)
class PersonLoad:
    user_id: str
    hours_on_call: float
    pages: int
    off_hours_pages: int
    nights_interrupted: int


@dataclass(frozen=True)
class OnCallLoad:
    since: datetime
    until: datetime
    people: list[PersonLoad]
    schedules: list[ScheduleLoad]
    users: dict[str, User]


def _schedules(session: Session, schedule: str | None, team: Team | None) -> list[Schedule]:
    if schedule is not None:
        row = oncall.require_schedule(session, schedule)
        if team is not None and row.team_id != team.id:
            return []
        return [row]
    rows = oncall.list_schedules(session)
    return [r for r in rows if r.team_id == team.id] if team is not None else rows


def _shifts(session: Session, row: Schedule, since: datetime, until: datetime) -> tuple[list[resolve.Shift], set[str]]:
    """The schedule's final shifts in the period, and its members (layer members and overriders)."""
    layers = oncall.list_layers(session, [row.id])[row.id]
    members = oncall.layer_members(session, [r.id for r in layers])
    values = [oncall.to_layer(r, members[r.id]) for r in layers if members[r.id]]
    overrides = [oncall.to_override(o) for o in session.execute(
        sa.select(ScheduleOverride).where(ScheduleOverride.schedule_id == row.id, ScheduleOverride.ends_at > since,
                                          ScheduleOverride.starts_at < until)
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)).scalars()]
    shifts = resolve.final_shifts(values, overrides, since, until)
    names = {str(u) for ids in members.values() for u in ids} | {s.user for s in shifts}
    return shifts, names


def _pages(session: Session, principal: Principal, since: datetime, until: datetime) -> list[PageSent]:
    """The pages that went out; an Incident Commander page of an incident `principal` may not see
    (a restricted one) is left out, as that incident is everywhere else. A drill's pages (its
    incident's, or an alert's of a drill service) are left out: an exercise is not on-call load."""
    hidden = sa.select(Incident.id).where(sa.or_(sa.not_(visibility_clause(principal)), Incident.drill.is_(True)))
    drilled = sa.select(Alert.id).join(Service, Service.id == Alert.service_id).where(Service.drill.is_(True))
    rows = session.execute(sa.select(Notification.user_id, Notification.idempotency_key, Notification.sent_at).where(
        Notification.kind.in_(PAGE_KINDS), Notification.status.in_(WENT_OUT), Notification.sent_at.is_not(None),
        Notification.sent_at >= since - _LOOKBEHIND, Notification.sent_at < until,
        sa.or_(Notification.incident_id.is_(None), Notification.incident_id.not_in(hidden)),
        sa.or_(Notification.alert_id.is_(None), Notification.alert_id.not_in(drilled)))).all()
    # `at is not None` repeats the WHERE clause for the type checker (sent_at is nullable).
    return [p for p in first_sends((str(u), k, at) for u, k, at in rows if at is not None) if p.at >= since]


def _tz(user: User | None) -> ZoneInfo:
    try:
        return zone(user.time_zone) if user is not None else ZoneInfo("UTC")
    except ValueError:  # a zone removed from tzdata since it was stored
        return ZoneInfo("UTC")


def oncall_load(session: Session, *, principal: Principal, since: datetime, until: datetime,
                schedule: str | None = None, team: str | None = None) -> OnCallLoad:
    """Return on-call load for [since, until), for every schedule or the one named (id or slug)
    and/or those of a team. People are the selected schedules' members (layer members and anyone
    an override put on call), plus the team's members with `team`, plus, without any filter,
    everyone paged in the period; pages to take command of an incident `principal` may not see are
    not counted. Raise NotFound for an
    unknown schedule or team, as the other reports do."""
    team_row = require_team(session, team) if team is not None else None
    pages = _pages(session, principal, since, until)
    hours: dict[str, float] = defaultdict(float)
    wanted: set[str] = set()
    schedules: list[ScheduleLoad] = []
    for row in _schedules(session, schedule, team_row):
        shifts, members = _shifts(session, row, since, until)
        by_user = hours_by_user(shifts)
        paged = pages_on_call(pages, shifts)
        for user, h in by_user.items():
            hours[user] += h
        wanted |= members
        loads = sorted((MemberLoad(m, by_user.get(m, 0.0), paged.get(m, 0)) for m in members),
                       key=lambda m: (-m.hours_on_call, -m.pages, m.user_id))
        schedules.append(ScheduleLoad(row, loads, spread([m.hours_on_call for m in loads]),
                                      spread([float(m.pages) for m in loads])))
    if team_row is not None:
        wanted |= {str(u) for u in member_ids(session, team_row.id)}
    if schedule is None and team is None:
        wanted |= {p.user_id for p in pages} | set(hours)
    times: dict[str, list[datetime]] = defaultdict(list)
    for p in pages:
        times[p.user_id].append(p.at)
    users = {str(k): v for k, v in oncall.users_by_id(session, [uuid.UUID(u) for u in wanted]).items()}
    people = []
    for u in wanted:
        stats = page_stats(times.get(u, []), _tz(users.get(u)))
        people.append(PersonLoad(u, hours.get(u, 0.0), stats.pages, stats.off_hours_pages, stats.nights_interrupted))
    people.sort(key=lambda p: (-p.hours_on_call, -p.pages, users[p.user_id].name if p.user_id in users else p.user_id))
    return OnCallLoad(since, until, people, schedules, users)


# --- output ------------------------------------------------------------------------------------

class UserRefOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str


class PersonLoadOut(BaseModel):
    user: UserRefOut
    hours_on_call: float
    pages: int
    off_hours_pages: int
    nights_interrupted: int


class MemberLoadOut(BaseModel):
    user: UserRefOut
    hours_on_call: float
    pages: int


class SpreadOut(BaseModel):
    min: float
    max: float
    max_min_ratio: float | None
    cv: float | None


class ScheduleLoadOut(BaseModel):
    schedule: str
    name: str
    team_id: uuid.UUID | None
    members: list[MemberLoadOut]
    hours_cv: float | None
    pages_cv: float | None
    hours: SpreadOut | None
    pages: SpreadOut | None


class PeriodOut(BaseModel):
    since: datetime
    until: datetime
    hours: float


class OnCallReportOut(BaseModel):
    period: PeriodOut
    people: list[PersonLoadOut]
    schedules: list[ScheduleLoadOut]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _spread_out(s: Spread | None) -> dict[str, float | None] | None:
    if s is None:
        return None
    return {"min": _round(s.min), "max": _round(s.max), "max_min_ratio": _round(s.max_min_ratio), "cv": _round(s.cv)}


def as_output(load: OnCallLoad) -> dict[str, object]:
    """The report as the API answers it (OnCallReportOut)."""
    def user(uid: str) -> dict[str, object]:
        u = load.users.get(uid)
        return {"id": uuid.UUID(uid), "name": u.name if u else uid, "email": u.email if u else ""}

    return {
        "period": {"since": load.since, "until": load.until,
                   "hours": round((load.until - load.since).total_seconds() / 3600, 3)},
        "people": [{"user": user(p.user_id), "hours_on_call": round(p.hours_on_call, 3), "pages": p.pages,
                    "off_hours_pages": p.off_hours_pages, "nights_interrupted": p.nights_interrupted}
                   for p in load.people],
        "schedules": [{"schedule": s.schedule.slug, "name": s.schedule.name, "team_id": s.schedule.team_id,
                       "members": [{"user": user(m.user_id), "hours_on_call": round(m.hours_on_call, 3),
                                    "pages": m.pages} for m in s.members],
                       "hours_cv": _round(s.hours.cv) if s.hours else None,
                       "pages_cv": _round(s.pages.cv) if s.pages else None,
                       "hours": _spread_out(s.hours), "pages": _spread_out(s.pages)} for s in load.schedules],
    }
