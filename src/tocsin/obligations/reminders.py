"""Reminders of regulatory deadlines to the holders of the incident's Legal and Privacy Officer
roles, through the paging outbox (kind "reminder", as action item reminders).

Per open obligation with a due time, one reminder at each lead time before it is due
(`TOCSIN_OBLIGATION_REMINDER_LEADS`, default 24 h, 4 h, 1 h) and one when it falls due.
`Obligation.reminded_lead` records the smallest lead sent for the current due time (a changed
due time resets it), so each reminder goes once; an engine that was down sends the one that is
due now, not a backlog (`deadlines.reminder_due`). Each outbox row's idempotency key names the
obligation, its due time and the lead, so a retried tick cannot write a second one.
A reminder of a restricted incident names it by its reference alone, and goes only to holders
who may still see it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.contacts.service import Route, routes_for
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.service import ref as incident_ref
from tocsin.incidents.types import Role
from tocsin.jobs import JobContext
from tocsin.obligations.deadlines import Leads, countdown, reminder_due
from tocsin.obligations.models import Obligation
from tocsin.users.models import User

BATCH = 200
URGENCY = "high"  # a statutory deadline an hour away is worth interrupting someone for
RECIPIENT_ROLES = (Role.legal.value, Role.privacy_officer.value)


def leads_of(text: str) -> Leads:
    return Leads.parse(text)


def candidates(leads: Leads, now: datetime) -> sa.ColumnElement[bool]:
    """SQL form of `reminder_due(...) is not None`: open, and some lead L reached (due_at - L <= now)
    that is smaller than the smallest lead already sent."""
    reached = [sa.and_(Obligation.due_at <= now + timedelta(minutes=lead),
                       sa.or_(Obligation.reminded_lead.is_(None), Obligation.reminded_lead > lead))
               for lead in (*leads.minutes, 0)]
    return sa.and_(Obligation.filed_at.is_(None), Obligation.not_applicable.is_(None),
                   Obligation.due_at.is_not(None), sa.or_(*reached))


def words(row: Obligation, incident: Incident, lead: int, now: datetime, public_url: str) -> tuple[str, str]:
    """Subject and body: "INC-7: GDPR Art. 33 notice due in 4 h"; a restricted incident's title is left out."""
    assert row.due_at is not None
    ref = incident_ref(incident)
    when = countdown(row.due_at, now)
    subject = f"{ref}: {row.name} {when}" if lead else f"{ref}: {row.name} is due now ({when})"
    title = "(a restricted incident: sign in to read it)" if incident.restricted else incident.title
    body = (f"{row.name} for {ref} {title}\n"
            f"Notify: {row.notify}\nDue: {row.due_at:%Y-%m-%d %H:%M} UTC ({row.due_reason})\n\n"
            f"Record the filing (or why it is not applicable) in the incident's Obligations panel:\n"
            f"{public_url}/incidents/{ref}#obligations\n\nVerify deadlines with counsel.")
    return subject[:300], body


def _pick(routes: list[Route]) -> list[Route]:
    now_routes = [r for r in routes if r.delay_minutes == 0]
    return now_routes or routes[:1]


def remind(session: Session, rows: list[Obligation], *, now: datetime, leads: Leads, public_url: str) -> int:
    """Write the reminders due for `rows` (locked by the caller), record them; return how many were due."""
    due = [(row, lead) for row in rows if (lead := reminder_due(row.due_at, now, leads, row.reminded_lead)) is not None]
    if not due:
        return 0
    incidents = {i.id: i for i in session.execute(sa.select(Incident).where(
        Incident.id.in_({r.incident_id for r, _ in due}))).scalars()}
    holders = session.execute(sa.select(RoleAssignment.incident_id, User).join(User, User.id == RoleAssignment.user_id)
                              .where(RoleAssignment.incident_id.in_(list(incidents)),
                                     RoleAssignment.role.in_(RECIPIENT_ROLES), RoleAssignment.ended_at.is_(None),
                                     User.is_active.is_(True))).all()
    people: dict[uuid.UUID, dict[uuid.UUID, User]] = {}
    for incident_id, user in holders:
        people.setdefault(incident_id, {})[user.id] = user
    for incident_id, found in people.items():
        allowed = who_may_see(session, incidents[incident_id], list(found))
        people[incident_id] = {uid: u for uid, u in found.items() if uid in allowed}
    everyone = {u.id: u for found in people.values() for u in found.values()}
    routes = routes_for(session, list(everyone.values()), URGENCY)
    planned: list[tuple[Obligation, User, Route, str, str, str]] = []
    for row, lead in due:
        incident = incidents[row.incident_id]
        assert row.due_at is not None
        subject, body = words(row, incident, lead, now, public_url)
        for user in people.get(row.incident_id, {}).values():
            for route in _pick(routes.get(user.id, [])):
                tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
                key = f"obligation:{row.id}:{int(row.due_at.timestamp())}:{lead}:{user.id}:{tag}"
                planned.append((row, user, route, key, subject, body))
        # Nobody holding the roles is told nothing, but the lead counts as taken: the room and the
        # dashboard show the countdown, and the row must not come back every tick.
        row.reminded_lead = lead
    keys = [p[3] for p in planned]
    existing = set(session.execute(sa.select(Notification.idempotency_key).where(
        Notification.idempotency_key.in_(keys))).scalars()) if keys else set()
    for row, user, route, key, subject, body in planned:
        if key in existing:
            continue
        session.add(Notification(id=new_id(), user_id=user.id, alert_id=None, incident_id=row.incident_id,
                                 escalation_id=None, contact_method_id=route.contact_method_id, channel=route.channel,
                                 destination=route.destination, kind="reminder", subject=subject, body=body,
                                 idempotency_key=key, status="queued", created_at=now, send_after=now, attempts=0))
    session.flush()
    return len(due)


def has_work(session: Session, ec: JobContext) -> bool:
    leads = leads_of(ec.settings.obligation_reminder_leads)
    return bool(session.execute(sa.select(sa.select(Obligation.id).where(candidates(leads, ec.now)).exists())).scalar())


def obligation_reminders(ec: JobContext) -> int:
    """The engine job: write the regulatory reminders due at this tick; return how many obligations."""
    leads = leads_of(ec.settings.obligation_reminder_leads)
    with ec.db.unit_of_work() as s:
        rows = list(s.execute(sa.select(Obligation).where(candidates(leads, ec.now))
                              .order_by(Obligation.due_at, Obligation.id).limit(BATCH)
                              .with_for_update(skip_locked=True)).scalars())
        return remind(s, rows, now=ec.now, leads=leads, public_url=ec.settings.resolved_public_url())
