"""Update reminders: when an open incident's next update is due (`TOCSIN_UPDATE_CADENCE`, counted from
`timeline.last_update_at`), its Incident Commander and Comms Lead are reminded through their own
channels (the paging outbox, kind "update_due", low urgency), once per due time: `UpdateReminder`
keeps the due time last reminded, and an update moves the next due time on. The timeline records
each reminder (kind comms). A holder who may no longer see a restricted incident is not reminded.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.comms.models import UpdateReminder
from tocsin.comms.stakeholders import pick_now
from tocsin.contacts.service import routes_for
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.incidents import cadence as cadences
from tocsin.incidents import timeline
from tocsin.incidents.access import who_may_see
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.service import ref as incident_ref
from tocsin.incidents.types import Role, TimelineKind
from tocsin.jobs import JobContext
from tocsin.principal import Principal
from tocsin.users.models import User

URGENCY = "low"
ROLES = (Role.incident_commander.value, Role.comms_lead.value)
BATCH = 200


def _due(s: Session, now: datetime, cadence: cadences.Cadence) -> list[tuple[Incident, datetime]]:
    """The open incidents whose update is due and not yet reminded for this due time (at most BATCH).
    Every open incident is read: which are due is known only after reading them, so a limit on the
    read would leave the incidents past it never reminded."""
    rows = s.execute(sa.select(Incident, UpdateReminder.due_at)
                     .outerjoin(UpdateReminder, UpdateReminder.incident_id == Incident.id)
                     .where(Incident.status.in_(ACTIVE_STATUSES)).order_by(Incident.number)).all()
    last = timeline.last_updates_at(s, [incident for incident, _ in rows])
    out = []
    for incident, reminded in rows:
        due = cadences.next_update_due(incident.severity, last[incident.id], cadence)
        if due <= now and (reminded is None or reminded < due):
            out.append((incident, due))
            if len(out) == BATCH:
                break
    return out


def has_work(s: Session, ec: JobContext) -> bool:
    return bool(_due(s, ec.now, cadences.parse(ec.settings.update_cadence)))


def words(incident: Incident, due: datetime, now: datetime, public_url: str) -> tuple[str, str]:
    ref = incident_ref(incident)
    title = "(a restricted incident: sign in to read it)" if incident.restricted else incident.title
    late = int((now - due).total_seconds() // 60)
    when = f"{late} min ago" if late else "now"
    subject = f"{ref}: an update is due ({incident.severity})"
    body = (f"An update on {ref} {title} was due {when} ({due:%Y-%m-%d %H:%M} UTC).\n"
            f"Post one from the room's Communication panel (a template helps):\n{public_url}/incidents/{ref}#comms")
    return subject, body


def remind(s: Session, incident: Incident, due: datetime, *, now: datetime, public_url: str) -> list[User]:
    """Queue the reminder to the IC and the Comms Lead; note it on the timeline; return who got it."""
    holders = {u.id: u for u in s.execute(
        sa.select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.incident_id == incident.id, RoleAssignment.role.in_(ROLES),
               RoleAssignment.ended_at.is_(None), User.is_active.is_(True))).scalars()}
    allowed = who_may_see(s, incident, list(holders))
    people = sorted((u for uid, u in holders.items() if uid in allowed), key=lambda u: u.email)
    routes = routes_for(s, people, URGENCY)
    subject, body = words(incident, due, now, public_url)
    for person in people:
        for route in pick_now(routes.get(person.id, [])):
            tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
            key = f"update-due:{incident.id}:{int(due.timestamp())}:{person.id}:{tag}"
            if s.execute(sa.select(Notification.id).where(Notification.idempotency_key == key)).first():
                continue
            s.add(Notification(id=new_id(), user_id=person.id, alert_id=None, incident_id=incident.id,
                               escalation_id=None, contact_method_id=route.contact_method_id, channel=route.channel,
                               destination=route.destination, kind="update_due", subject=subject, body=body,
                               idempotency_key=key, status="queued", created_at=now, send_after=now, attempts=0))
    names = ", ".join(u.name for u in people) or "nobody (no Incident Commander or Comms Lead)"
    timeline.append(s, incident=incident, kind=TimelineKind.comms, actor=Principal.system("comms"), now=now,
                    text=f"An update is due: reminded {names}", data={"due": due.isoformat(), "reminded": len(people)})
    row = s.get(UpdateReminder, incident.id)
    if row is None:
        s.add(UpdateReminder(incident_id=incident.id, due_at=due, sent_at=now))
    else:
        row.due_at, row.sent_at = due, now
    s.flush()
    return people


def update_reminders(ec: JobContext) -> int:
    """The engine job: remind the IC and Comms Lead of each due update; return how many incidents."""
    cadence = cadences.parse(ec.settings.update_cadence)
    with ec.db.unit_of_work() as s:
        due = _due(s, ec.now, cadence)
        for incident, at in due:
            remind(s, incident, at, now=ec.now, public_url=ec.settings.resolved_public_url())
        return len(due)
