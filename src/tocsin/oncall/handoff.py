"""Hand-off notices, pure: from a schedule's final shifts, which "you go on call" and "you are now
off call" notices are due at `now` (PagerDuty's hand-off notifications).

A person's *stint* is their unbroken time on call on one schedule: touching final shifts of the
same person (a layer's shift followed by an override of the same person, say) are one stint, so
nobody is told they go off call and back on at the same instant.

- "on": a stint starting within `LEAD` (1 hour) from now. A stint that began less than `GRACE`
  ago is still announced (an override made for right now, an engine that was down a few minutes).
- "off": a stint that ended less than `GRACE` ago.

The shifts come from a window (`window(now)`) reaching `GRACE` and a minute into the past, so a
stint cut at the window's start is never mistaken for one starting then, and `HORIZON` into the
future, to say until when the coming stint lasts (`open_end` when it lasts longer still).
Which notices were already sent is the caller's business (escalation/handoff.py keeps a record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.oncall.resolve import Shift

LEAD = timedelta(hours=1)
GRACE = timedelta(minutes=15)
HORIZON = timedelta(days=14)
_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Stint:
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Notice:
    """`user` goes on call at `at` (kind "on"; the stint runs `start`..`end`, or longer when
    `open_end`), or went off call at `at` (kind "off"; `start` may then be cut at the window's start)."""

    kind: str
    user: str
    at: datetime
    start: datetime
    end: datetime
    open_end: bool = False


def window(now: datetime) -> tuple[datetime, datetime]:
    """The range to load final shifts for at `now`."""
    return now - GRACE - _MARGIN, now + LEAD + HORIZON


def stints(shifts: Sequence[Shift]) -> list[Stint]:
    """Touching shifts of the same person joined; `shifts` are final shifts (ordered, not overlapping)."""
    out: list[Stint] = []
    for shift in shifts:
        last = out[-1] if out else None
        if last is not None and last.user == shift.user and last.end == shift.start:
            out[-1] = Stint(last.user, last.start, shift.end)
        else:
            out.append(Stint(shift.user, shift.start, shift.end))
    return out


def due(shifts: Sequence[Shift], *, now: datetime, start: datetime, end: datetime) -> list[Notice]:
    """The notices due at `now`, from the final shifts of [start, end) (`window(now)`)."""
    out: list[Notice] = []
    for st in stints(shifts):
        if st.start > start and now - GRACE < st.start <= now + LEAD:
            out.append(Notice("on", st.user, st.start, st.start, st.end, open_end=st.end >= end))
        if st.end < end and now - GRACE < st.end <= now:
            out.append(Notice("off", st.user, st.end, st.start, st.end))
    return out
