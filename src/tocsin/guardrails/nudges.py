"""The nudge to the Incident Commander when a guardrail trips (for the severities in
`TOCSIN_GUARDRAIL_NOTIFY_SEVERITIES`, SEV1 and SEV2 by default): a `reminder` row in the paging
outbox, so it goes through the person's own notification rules (low urgency: a nudge, not a page),
rate limits, retries and fall-through, as action item and obligation reminders do.

A restricted incident is named by its reference alone, and the trip's detail (which can name a
host) is left out; the IC gets it only while they may still see the incident."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.contacts.service import Route, routes_for
from tocsin.escalation.models import Notification
from tocsin.guardrails.models import GuardrailTrip
from tocsin.guardrails.rules import ABOUT, Rule
from tocsin.ids import new_id
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.service import ref
from tocsin.incidents.types import Role
from tocsin.users.models import User

URGENCY = "low"


def words(trip: GuardrailTrip, incident: Incident, public_url: str) -> tuple[str, str]:
    """Subject and body: "INC-7 guardrail: No scribe"."""
    about = ABOUT[Rule(trip.rule)]
    name = ref(incident)
    subject = f"{name} guardrail: {about.label}"
    if incident.restricted:
        what = "(a restricted incident: sign in to read it)"
    else:
        what = f"{incident.title}\n{about.label}: {trip.detail}."
    body = (f"A guardrail tripped on {name}, where you are the Incident Commander.\n\n{what}\n\n"
            f"What to do: {about.advice}\n\n{public_url}/incidents/{name}#guardrails")
    return subject[:300], body


def _pick(routes: list[Route]) -> list[Route]:
    now_routes = [r for r in routes if r.delay_minutes == 0]
    return now_routes or routes[:1]


def notify(s: Session, trips: list[tuple[GuardrailTrip, Incident]], *, now: datetime, public_url: str,
           severities: frozenset[str]) -> int:
    """Write the nudges for new `trips` of incidents of `severities` to their commanders; return how many rows."""
    due = [(t, i) for t, i in trips if i.severity in severities]
    if not due:
        return 0
    ids = list({i.id for _, i in due})
    commanders: dict[uuid.UUID, User] = {}
    for iid, user in s.execute(sa.select(RoleAssignment.incident_id, User).join(User, User.id == RoleAssignment.user_id)
                               .where(RoleAssignment.incident_id.in_(ids),
                                      RoleAssignment.role == Role.incident_commander.value,
                                      RoleAssignment.ended_at.is_(None), User.is_active.is_(True))).all():
        commanders[iid] = user
    routes = routes_for(s, list({u.id: u for u in commanders.values()}.values()), URGENCY)
    written = 0
    for trip, incident in due:
        ic = commanders.get(incident.id)
        if ic is None or ic.id not in who_may_see(s, incident, [ic.id]):
            continue
        subject, body = words(trip, incident, public_url)
        for route in _pick(routes.get(ic.id, [])):
            tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:12]
            s.add(Notification(id=new_id(), user_id=ic.id, alert_id=None, incident_id=incident.id,
                               escalation_id=None, contact_method_id=route.contact_method_id, channel=route.channel,
                               destination=route.destination, kind="reminder", subject=subject, body=body,
                               idempotency_key=f"guardrail:{trip.id}:{ic.id}:{tag}", status="queued",
                               created_at=now, send_after=now, attempts=0))
            written += 1
        trip.notified_at = now
    s.flush()
    return written
