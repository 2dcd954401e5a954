"""Hand-off notices: "You go on call for <schedule> in 1 h (from .. to ..)" and "You are now off
call for <schedule>", written into the notifications outbox (kind "handoff") that sends pages.

Which notices are due is decided by `oncall.handoff` (pure) from each schedule's final shifts.
Each one sent is recorded (`handoff_notices`, unique per schedule, person, kind and instant) in
the same transaction as its outbox rows, so a restarted engine never tells anyone twice; on
PostgreSQL a second engine skips the schedules the first has locked.

Who is told, and how: active people whose `handoff_notices` switch is on (the default). A notice
is not urgent, so it goes where the person's **low-urgency** rules send at once (rules for "low"
or "any" urgency with no delay; when all of them have a delay, the first one); a person with no
rule for low urgency gets it at their account email, as for any page (`contacts.routes_for`).
Times are written in the person's own time zone.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.contacts.service import Route, routes_for
from tocsin.db.prune import delete_batch
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.jobs import JobContext
from tocsin.localtime import zone
from tocsin.oncall import handoff
from tocsin.oncall.models import HandoffNotice, Schedule
from tocsin.oncall.service import shifts
from tocsin.users.models import User

URGENCY = "low"
EVERY = timedelta(seconds=30)  # how often the engine looks (the notices say the exact times)
KEEP = timedelta(days=2)  # a record is needed only while its hand-off is within the grace window
BATCH = 500  # old notice records deleted per run
NEXT_RUN = "handoff.next_run"  # in ec.shared


def _local(when: datetime, tz_name: str) -> str:
    try:
        tz = zone(tz_name or "UTC")
    except ValueError:
        tz = zone("UTC")
    local = when.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def _span(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes >= 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes} min"


def words(notice: handoff.Notice, schedule: Schedule, user: User, now: datetime) -> tuple[str, str]:
    """Subject and body of one notice, with times in the person's time zone."""
    tz = user.time_zone
    until = f"until after {_local(notice.end, tz)}" if notice.open_end else f"until {_local(notice.end, tz)}"
    if notice.kind == "on":
        if notice.at > now:
            subject = f"You go on call for {schedule.name} in {_span(notice.at - now)}"
        else:
            subject = f"You are on call for {schedule.name} now"
        body = (f"{subject}: from {_local(notice.start, tz)} {until}.\n\n"
                f"Pages for the services that use this schedule will reach you through your notification rules.")
    else:
        subject = f"You are now off call for {schedule.name}"
        body = (f"{subject}: your shift ended {_local(notice.at, tz)}.\n\n"
                f"Pages for this schedule go to whoever is on call now.")
    body += ("\n\nYou get these hand-off notices because they are on for your account; turn them off on "
             "your page (/me) in the console.")
    return subject[:300], body


def _pick(routes: list[Route]) -> list[Route]:
    immediate = [r for r in routes if r.delay_minutes == 0]
    return immediate or routes[:1]


def notify_handoffs(session: Session, *, now: datetime) -> int:
    """Write the hand-off notices due at `now` into the outbox; return how many were written
    (one per person and hand-off, whatever the number of channels it goes through)."""
    delete_batch(session, HandoffNotice, HandoffNotice.at < now - KEEP, oldest_first=HandoffNotice.at, limit=BATCH)
    start, end = handoff.window(now)
    found: list[tuple[Schedule, handoff.Notice]] = []
    # Every schedule each run (there are tens, not thousands; each is a few dozen shifts).
    for schedule in session.execute(sa.select(Schedule).order_by(Schedule.id)
                                    .with_for_update(skip_locked=True)).scalars():
        for notice in handoff.due(shifts(session, schedule=schedule, start=start, end=end, now=now),
                                  now=now, start=start, end=end):
            found.append((schedule, notice))
    if not found:
        return 0
    ids = {uuid.UUID(n.user) for _, n in found}
    people = {u.id: u for u in session.execute(sa.select(User).where(
        User.id.in_(ids), User.is_active.is_(True), User.handoff_notices.is_(True))).scalars()}
    sent = {(row.schedule_id, row.user_id, row.kind, row.at) for row in session.execute(
        sa.select(HandoffNotice.schedule_id, HandoffNotice.user_id, HandoffNotice.kind, HandoffNotice.at).where(
            HandoffNotice.user_id.in_(ids), HandoffNotice.at > start))}
    routes = routes_for(session, list(people.values()), URGENCY)
    written = 0
    for schedule, notice in found:
        person = people.get(uuid.UUID(notice.user))
        if person is None or (schedule.id, person.id, notice.kind, notice.at) in sent:
            continue
        session.add(HandoffNotice(id=new_id(), schedule_id=schedule.id, user_id=person.id, kind=notice.kind,
                                  at=notice.at, created_at=now))
        subject, body = words(notice, schedule, person, now)
        for route in _pick(routes.get(person.id, [])):
            tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
            key = f"handoff:{notice.kind}:{schedule.id}:{person.id}:{int(notice.at.timestamp())}:{tag}"
            session.add(Notification(id=new_id(), user_id=person.id, alert_id=None, incident_id=None,
                                     escalation_id=None, contact_method_id=route.contact_method_id,
                                     channel=route.channel, destination=route.destination, kind="handoff",
                                     subject=subject, body=body, idempotency_key=key, status="queued",
                                     created_at=now, send_after=now, attempts=0))
        written += 1
    session.flush()
    return written


def handoffs(ec: JobContext) -> int:
    """The engine job: every `EVERY`, write the hand-off notices that are due."""
    due_at = ec.shared.get(NEXT_RUN)
    if isinstance(due_at, datetime) and ec.now < due_at:
        return 0
    with ec.db.unit_of_work() as s:
        done = notify_handoffs(s, now=ec.now)
    ec.shared[NEXT_RUN] = ec.now + EVERY
    return done
