"""The shifts a calendar feed shows, chosen so that every fetch shows the same events.

A feed covers about a week back to 60 days ahead. If that window moved with every request, the
shifts cut by its edges would get a new start (or end), hence a new UID, on every fetch, and calendar
apps would show a duplicate of the first and last shift. So the window moves in whole weeks (it is
the same for every fetch within a week), and shifts are computed over five more weeks on each side
and then kept whole: a shift is only cut where it lasts more than five weeks past the window.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.oncall import resolve
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule

PAST, AHEAD = timedelta(days=7), timedelta(days=60)
GRID = timedelta(days=7)
MARGIN = timedelta(days=35)
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: the window moves on Mondays 00:00 UTC


def window(now: datetime) -> tuple[datetime, datetime]:
    """The feed's window for a fetch at `now`: from at least PAST ago to at least AHEAD ahead, on the
    weekly grid."""
    lo = _EPOCH + ((now - PAST - _EPOCH) // GRID) * GRID
    hi = _EPOCH + -((_EPOCH - (now + AHEAD)) // GRID) * GRID
    return lo, hi


def schedule_shifts(session: Session, schedule: Schedule, now: datetime) -> list[resolve.Shift]:
    """The schedule's final shifts touching the feed window of `now`, each whole (see the module doc)."""
    lo, hi = window(now)
    layers, overrides = oncall._resolver_inputs(session, schedule, lo - MARGIN, hi + MARGIN)
    found = resolve.final_shifts(layers, overrides, lo - MARGIN, hi + MARGIN)
    return [s for s in found if s.end > lo and s.start < hi]


def person_shifts(session: Session, user_id: uuid.UUID, now: datetime) -> list[tuple[Schedule, resolve.Shift]]:
    """The person's shifts in every schedule for the feed window of `now`, by start time."""
    who = str(user_id)
    found = [(schedule, x) for schedule in oncall.list_schedules(session)
             for x in schedule_shifts(session, schedule, now) if x.user == who]
    return sorted(found, key=lambda m: (m[1].start, m[0].slug))
