"""One person's shifts across every schedule, and their personal iCalendar feed token.

The feed's URL token (128 random bits) is shown once; only its SHA-256 is stored, as for a
schedule's feed. Making a new one revokes the old.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Forbidden
from tocsin.keys import key_hash, new_key
from tocsin.oncall import service as oncall
from tocsin.oncall.models import PersonalFeed, Schedule
from tocsin.oncall.resolve import Shift
from tocsin.principal import Principal
from tocsin.users.models import User


@dataclass(frozen=True)
class MyShift:
    schedule: Schedule
    shift: Shift


def my_shifts(session: Session, *, user_id: uuid.UUID, start: datetime, end: datetime,
              now: datetime) -> list[MyShift]:
    """The user's final shifts (layers, restrictions, overrides applied) in every schedule from start
    to end (at most 90 days), by start time; raise InvalidInput for a bad range."""
    who = str(user_id)
    found = [MyShift(schedule, x) for schedule in oncall.list_schedules(session)
             for x in oncall.shifts(session, schedule=schedule, start=start, end=end, now=now) if x.user == who]
    return sorted(found, key=lambda m: (m.shift.start, m.schedule.slug))


def has_feed(session: Session, user_id: uuid.UUID) -> bool:
    return session.get(PersonalFeed, user_id) is not None


def rotate_feed_token(session: Session, *, actor: Principal, now: datetime) -> str:
    """Make the actor a new personal feed token (the previous URL stops working) and return it."""
    if actor.user_id is None:
        raise Forbidden("a personal calendar feed belongs to a person", details={})
    token = new_key()
    row = session.get(PersonalFeed, actor.user_id)
    had = row is not None
    if row is None:
        session.add(PersonalFeed(user_id=actor.user_id, token_hash=key_hash(token), created_at=now))
    else:
        row.token_hash, row.created_at = key_hash(token), now
    session.flush()
    record(session, actor=actor, action="user.ical_token_rotate", target_type="user", target_id=actor.user_id,
           now=now, details={"replaced_previous": had})
    return token


def user_by_feed_token(session: Session, token: str) -> User | None:
    """The active user whose personal feed this token opens, or None."""
    user = session.execute(sa.select(User).join(PersonalFeed, PersonalFeed.user_id == User.id)
                           .where(PersonalFeed.token_hash == key_hash(token))).scalar_one_or_none()
    return user if user is not None and user.is_active else None
