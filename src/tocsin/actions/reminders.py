"""Reminders to action item owners: which items are due a reminder at `now`, and the outbox rows
(kind "reminder") that carry one through the owner's notification channels.

The schedule, per item with an owner and a due time, until it is done or won't do:

- once, when the due time is within `action_reminder_days_before` days (`reminded_before_at`);
- when the due time has passed, and then every `action_overdue_every_days` after the previous
  overdue reminder (`overdue_reminders` counts them, `last_reminded_at` is the last one).

An engine that was down does not send a backlog: the next tick sends one reminder and the
cadence restarts from it. Each row's idempotency key names the item, its due time and the
reminder, so a retried tick cannot write a second one, and moving the due date (which resets
the bookkeeping) gives the new reminders new keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions.models import ActionItem
from tocsin.actions.sync import item_url
from tocsin.actions.types import ACTIVE, action_ref
from tocsin.config import Settings
from tocsin.contacts.service import Route, routes_for
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.incidents.models import Incident
from tocsin.localtime import zone
from tocsin.users.models import User

BATCH = 200
URGENCY = "low"  # a reminder is never worth waking someone for


@dataclass(frozen=True)
class Schedule:
    before: timedelta  # remind this long before the due time (0: not at all)
    every: timedelta  # then every this long while overdue

    @classmethod
    def from_settings(cls, settings: Settings) -> Schedule:
        return cls(before=timedelta(days=settings.action_reminder_days_before),
                   every=timedelta(days=settings.action_overdue_every_days))


def which(item: ActionItem, now: datetime, schedule: Schedule) -> str | None:
    """"before", "overdue" or None: the reminder `item` is due at `now` (the rules above)."""
    if item.owner_id is None or item.due_at is None or item.status not in ACTIVE:
        return None
    if item.due_at <= now:
        if item.overdue_reminders == 0 or item.last_reminded_at is None \
                or item.last_reminded_at + schedule.every <= now:
            return "overdue"
        return None
    if schedule.before > timedelta(0) and item.reminded_before_at is None and item.due_at - schedule.before <= now:
        return "before"
    return None


def due_clause(now: datetime, schedule: Schedule) -> sa.ColumnElement[bool]:
    """SQL form of `which(...) is not None` (the engine's candidate query)."""
    overdue = sa.and_(ActionItem.due_at <= now, sa.or_(ActionItem.overdue_reminders == 0,
                                                       ActionItem.last_reminded_at.is_(None),
                                                       ActionItem.last_reminded_at <= now - schedule.every))
    clauses = [overdue]
    if schedule.before > timedelta(0):
        clauses.append(sa.and_(ActionItem.due_at > now, ActionItem.due_at <= now + schedule.before,
                               ActionItem.reminded_before_at.is_(None)))
    return sa.and_(ActionItem.status.in_(ACTIVE), ActionItem.owner_id.is_not(None), ActionItem.due_at.is_not(None),
                   sa.or_(*clauses))


def local_due(due_at: datetime, tz_name: str) -> str:
    """The due time as the owner reads it, e.g. "Fri 4 Dec 2026 23:59 (Europe/Berlin)"."""
    try:
        tz = zone(tz_name or "UTC")
    except ValueError:
        tz, tz_name = zone("UTC"), "UTC"
    try:
        local = due_at.astimezone(tz)
    except OverflowError:  # a due time at the edge of the calendar: shown in UTC
        local, tz_name = due_at, "UTC"
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} ({tz_name or 'UTC'})"


def words(item: ActionItem, owner: User, kind: str, now: datetime, public_url: str,
          restricted: bool = False) -> tuple[str, str]:
    """Subject and body of one reminder. An item of a restricted incident is named by its ref
    alone (its title usually tells what happened; the link needs a login)."""
    assert item.due_at is not None
    ref = action_ref(item.number)
    named = ref if restricted else f"{ref} {item.title}"
    due = local_due(item.due_at, owner.time_zone)
    if kind == "before":
        subject = f"Reminder: {named} is due {due}"
        lead = f"Your action item {ref} is due {due}."
    else:
        days = (now - item.due_at).days
        late = f"{days} day{'s' if days != 1 else ''} overdue" if days else "overdue"
        subject = f"Overdue: {named} was due {due}"
        lead = f"Your action item {ref} is {late}: it was due {due}."
    url = item_url(public_url, item)
    title = "(the action item of a restricted incident: sign in to read it)" if restricted else item.title
    body = (f"{lead}\n\n{ref}: {title}\nPriority: {item.priority}, type: {item.type}, status: {item.status}\n"
            f"{url}\n\nWhen it is finished, mark it done: PATCH {url} with {{\"status\": \"done\"}} "
            f"(or \"wont_do\" if it will not be done); reminders stop then. "
            f"To move it, change its due date the same way.")
    return subject[:300], body


def _pick(routes: list[Route]) -> list[Route]:
    """The routes a reminder goes to: the person's immediate ones (delay 0), else their first."""
    now_routes = [r for r in routes if r.delay_minutes == 0]
    return now_routes or routes[:1]


def remind(session: Session, items: list[ActionItem], *, now: datetime, schedule: Schedule,
           public_url: str) -> int:
    """Write the reminders due for `items` (locked by the caller) and record them; return how many
    items were reminded."""
    due = [(item, kind) for item in items if (kind := which(item, now, schedule))]
    if not due:
        return 0
    owners = {u.id: u for u in session.execute(sa.select(User).where(
        User.id.in_({i.owner_id for i, _ in due}))).scalars()}
    routes = routes_for(session, list(owners.values()), URGENCY)
    linked = {i.incident_id for i, _ in due if i.incident_id}
    restricted = set(session.execute(sa.select(Incident.id).where(
        Incident.id.in_(linked), Incident.restricted.is_(True))).scalars()) if linked else set()
    planned: list[tuple[ActionItem, str, int, list[tuple[User, Route, str]]]] = []
    for item, kind in due:
        owner = owners.get(item.owner_id) if item.owner_id else None
        assert item.due_at is not None
        n = item.overdue_reminders + 1 if kind == "overdue" else 0
        step = f"overdue:{n}" if kind == "overdue" else "before"
        sends: list[tuple[User, Route, str]] = []  # (owner, route, idempotency key)
        # A deactivated owner is told nothing, but the reminder counts as taken, so the item
        # does not come back every tick (and crowd out others from the batch).
        if owner is not None and owner.is_active:
            for route in _pick(routes.get(owner.id, [])):
                tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
                sends.append((owner, route, f"reminder:{item.id}:{int(item.due_at.timestamp())}:{step}:{tag}"))
        planned.append((item, kind, n, sends))
    # A key already written means this very reminder went out before (the due date was moved
    # away and back): it is not sent twice.
    keys = [key for *_rest, sends in planned for _owner, _route, key in sends]
    existing = set(session.execute(sa.select(Notification.idempotency_key).where(
        Notification.idempotency_key.in_(keys))).scalars()) if keys else set()
    done = 0
    for item, kind, n, sends in planned:
        for owner, route, key in sends:
            subject, body = words(item, owner, kind, now, public_url, restricted=item.incident_id in restricted)
            if key in existing:
                continue
            session.add(Notification(id=new_id(), user_id=owner.id, alert_id=None, incident_id=item.incident_id,
                                     escalation_id=None, contact_method_id=route.contact_method_id,
                                     channel=route.channel, destination=route.destination, kind="reminder",
                                     subject=subject, body=body, idempotency_key=key, status="queued",
                                     created_at=now, send_after=now, attempts=0))
        if kind == "before":
            item.reminded_before_at = now
        else:
            item.overdue_reminders = n
        item.last_reminded_at = now
        done += 1
    session.flush()
    return done
