"""Incidents page too: a SEV1 or SEV2 declared on a service without an Incident Commander pages
the service's escalation policy for one. The escalation belongs to the incident (not an alert)
and stops when someone takes the Incident Commander role (acknowledging the page does that) or
the incident is resolved. Each step is on the incident's timeline. A drill incident pages only
through its drill services' policies (the exercise's participants, `escalation.drill`).

A restricted (need-to-know) incident is paged for like any other, but only people who may
already see it are notified (admins, security-team members, its participants); a level that
reaches none of them pages the security team instead (`incidents.access.need_to_know`). Its pages
say only `restricted_words`: no title, no service, no ref, on every channel, checked again when
each message is sent (the incident may have been restricted since it was queued).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.db.session import rowcount
from tocsin.escalation import drill, plan, trail
from tocsin.escalation.models import Escalation, EscalationLevel, EscalationPolicy
from tocsin.incidents.models import Incident, IncidentService
from tocsin.services.models import Service

PAGED_SEVERITIES = ("SEV1", "SEV2")
RESTRICTED_SUBJECT = "A restricted incident needs an Incident Commander"


def restricted_words(severity: str) -> tuple[str, str]:
    """Subject and body of a page for a restricted incident: its severity and nothing else of it."""
    return (f"[{severity}] {RESTRICTED_SUBJECT}",
            f"A restricted {severity} incident needs an Incident Commander. What it is about is shown only to "
            f"people who may see it, after they sign in.\n"
            f"Acknowledging this page makes you the Incident Commander.")


_ACK_WORDS = re.compile(r" ?Acknowledging this page [^.]*\.")  # not a shadow's to do


def shadowed(title: str, body: str, how: str = "") -> tuple[str, str]:
    """A page's words as a shadow's copy: marked "[shadow]", without the words about acknowledging."""
    why = f" ({how})" if how else ""
    return (f"[shadow] {title}",
            f"[shadow] You are shadowing this page{why}: a copy, so you can follow along. You are not "
            f"the responder; the person on call acknowledges it.\n\n{_ACK_WORDS.sub('', body)}")


def page_for_commander(session: Session, incident: Incident, now: datetime) -> Escalation | None:
    """Start paging for an Incident Commander if the incident needs one; return the escalation or None."""
    if incident.severity not in PAGED_SEVERITIES:
        return None
    if session.execute(sa.select(Escalation.id).where(Escalation.incident_id == incident.id)).first():
        return None
    services = list(session.execute(sa.select(Service).join(IncidentService, IncidentService.service_id == Service.id)
                                    .where(IncidentService.incident_id == incident.id).order_by(Service.slug)).scalars())
    if incident.drill:  # only a drill service's policy names the exercise's participants
        services = [s for s in services if s.drill]
    service = next((s for s in services if s.escalation_policy_id), None)
    if service is None and incident.drill:
        trail.note(session, now=now, kind="not_paged", incident_id=incident.id,
                   reason=f"no Incident Commander, and no drill service of the incident has an escalation policy: "
                          f"{drill.ONLY_PARTICIPANTS}")
        return None
    if service is None:
        if services:
            trail.note(session, now=now, kind="not_paged", incident_id=incident.id,
                       reason=f"no Incident Commander, and none of the incident's services "
                              f"({', '.join(s.slug for s in services)}) has an escalation policy to page")
        return None
    policy = session.get_one(EscalationPolicy, service.escalation_policy_id)  # the foreign key keeps it
    levels = list(session.execute(sa.select(EscalationLevel).where(EscalationLevel.policy_id == policy.id)
                                  .order_by(EscalationLevel.position)).scalars())
    snap = plan.snapshot(levels, policy.repeat, policy_id=policy.id, slug=policy.slug, name=policy.name)
    esc = Escalation(alert_id=None, incident_id=incident.id, service_id=service.id, policy_snapshot=snap, level=0,
                     loop=0, status="active", next_at=now, epoch=0, started_at=now, updated_at=now)
    session.add(esc)
    session.flush()
    trail.note(session, now=now, kind="escalation_started", incident_id=incident.id, escalation_id=str(esc.id),
               reason=f"{incident.severity} declared without an Incident Commander: paging policy '{policy.name}' "
                      f"of service {service.slug}")
    return esc


def stop_for_incident(session: Session, incident_id: uuid.UUID, reason: str, now: datetime) -> bool:
    """Stop the incident's paging (bumping the fence epoch); True if one was running."""
    esc_id = session.execute(sa.select(Escalation.id).where(Escalation.incident_id == incident_id,
                                                            Escalation.status == "active")).scalar_one_or_none()
    if esc_id is None:
        return False
    done = rowcount(session, (
        sa.update(Escalation).where(Escalation.id == esc_id, Escalation.status == "active")
        .values(status="stopped", stop_reason=reason, next_at=None, epoch=Escalation.epoch + 1, updated_at=now)
        .execution_options(synchronize_session=False)))
    if done:
        trail.note(session, now=now, kind="escalation_stopped", incident_id=incident_id,
                   reason=f"paging for an Incident Commander stopped: {reason}", escalation_id=str(esc_id))
    return bool(done)
