"""/ical/schedules/{token}.ics: a schedule's on-call shifts as an iCalendar feed, for calendar apps;
/ical/users/{token}.ics: one person's shifts across every schedule (their personal feed).

No bearer token: calendar apps cannot send one, so the URL's 128-bit token is the credential
(`POST /api/v1/schedules/{key}/ical-token` or `POST /api/v1/me/ical-token` makes it; only its SHA-256 is
stored). An unknown
token is a 404 like any missing page, so a guess learns nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from tocsin.api.errors import ErrorOut
from tocsin.errors import NotFound
from tocsin.oncall import feed, mine
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule
from tocsin.users.models import User

router = APIRouter()
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def shift_uid(schedule_id: uuid.UUID, user: str, start: datetime) -> str:
    """The same UID for the same person's shift starting at the same instant (RFC 5545 3.8.4.7), so a
    calendar app updates an event in place instead of duplicating it when the feed is fetched again."""
    digest = hashlib.sha256(f"{schedule_id}|{user}|{start.isoformat()}".encode()).hexdigest()
    return f"{digest[:32]}@tocsin"


def _line(text: str) -> str:
    """`text` on one line: a name with a line break (the API and the console take them) would otherwise
    make the library refuse the whole feed (a 500 for everyone subscribed), and no calendar shows one."""
    return _BREAKS.sub(" ", text)


def schedule_calendar(session: Session, schedule: Schedule, now: datetime) -> bytes:
    """Return the schedule's final shifts from a week ago to 60 days ahead as an RFC 5545 document
    (the library writes CRLF line endings, folds long lines and escapes text); the same events, UIDs
    and times on every fetch (oncall/feed.py)."""
    found = feed.schedule_shifts(session, schedule, now)
    users = oncall.users_by_id(session, [uuid.UUID(s.user) for s in found])
    cal = Calendar()
    cal.add("prodid", "-//tocsin//on-call schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _line(f"On call: {schedule.name}"))
    for shift in found:
        who = users.get(uuid.UUID(shift.user))
        event = Event()
        event.add("uid", shift_uid(schedule.id, shift.user, shift.start))
        event.add("dtstamp", now)
        event.add("dtstart", shift.start)  # aware UTC: written as 20260327T080000Z
        event.add("dtend", shift.end)
        event.add("summary", _line(f"On call: {who.name if who else shift.user} ({schedule.name})"))
        if who is not None:
            event.add("description", _line(f"{who.name} <{who.email}>, {shift.source}"))
        cal.add_component(event)
    return cal.to_ical()


@router.get("/ical/schedules/{token}.ics", name="ical_schedule_feed", tags=["schedules"], response_class=Response,
            summary="A schedule's shifts from 7 days ago to 60 days ahead (iCalendar); the token is the credential",
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}},
                             "description": "An RFC 5545 calendar, one event per shift"},
                       404: {"model": ErrorOut, "description": "No feed with this token"},
                       # the one error shape, instead of FastAPI's default 422 `{"detail": [...]}`
                       "4XX": {"model": ErrorOut, "description": "Refused"}})
def ical_schedule_feed(token: str, request: Request) -> Response:
    state = request.app.state
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        schedule = oncall.schedule_by_ical_token(s, token) if "\x00" not in token else None
        if schedule is None:
            raise NotFound("no calendar feed at this address", details={})
        body = schedule_calendar(s, schedule, now)
        filename = f"{schedule.slug}.ics"
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "private, max-age=300"})


def personal_calendar(session: Session, user: User, now: datetime) -> bytes:
    """Return the person's final shifts in every schedule from a week ago to 60 days ahead (RFC 5545)."""
    found = [mine.MyShift(schedule, shift) for schedule, shift in feed.person_shifts(session, user.id, now)]
    cal = Calendar()
    cal.add("prodid", "-//tocsin//my on-call shifts//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _line(f"On call: {user.name}"))
    for m in found:
        event = Event()
        event.add("uid", shift_uid(m.schedule.id, m.shift.user, m.shift.start))
        event.add("dtstamp", now)
        event.add("dtstart", m.shift.start)
        event.add("dtend", m.shift.end)
        event.add("summary", _line(f"On call: {m.schedule.name}"))
        event.add("description", _line(f"{user.name}, {m.shift.source}"))
        cal.add_component(event)
    return cal.to_ical()


@router.get("/ical/users/{token}.ics", name="ical_personal_feed", tags=["schedules"], response_class=Response,
            summary="My shifts in every schedule from 7 days ago to 60 days ahead (iCalendar); the token is the "
                    "credential",
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}},
                             "description": "An RFC 5545 calendar, one event per shift"},
                       404: {"model": ErrorOut, "description": "No feed with this token"},
                       "4XX": {"model": ErrorOut, "description": "Refused"}})
def ical_personal_feed(token: str, request: Request) -> Response:
    state = request.app.state
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        user = mine.user_by_feed_token(s, token) if "\x00" not in token else None
        if user is None:
            raise NotFound("no calendar feed at this address", details={})
        body = personal_calendar(s, user, now)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="my-shifts.ics"',
                             "Cache-Control": "private, max-age=300"})
