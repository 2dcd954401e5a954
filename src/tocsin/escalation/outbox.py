"""The outbox's own rules that more than the delivery engine needs: where a page goes when its
send failed for good (the delivery engine, and Twilio's status callback, use it)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.contacts import mask
from tocsin.contacts.service import fallbacks_for
from tocsin.escalation import trail
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.users.models import User


def fall_through(s: Session, row: Notification, why: str, now: datetime) -> None:
    """The send to `row`'s destination failed for good: queue the person's other verified methods
    not yet tried for this page, and say so on the alert (or incident)."""
    user = s.get(User, row.user_id)
    name = user.name if user else str(row.user_id)
    scope = (Notification.alert_id == row.alert_id) if row.alert_id else (Notification.incident_id == row.incident_id)
    tried = {f"{c}:{d}" for c, d in s.execute(sa.select(Notification.channel, Notification.destination).where(
        Notification.user_id == row.user_id, scope))}
    nexts = fallbacks_for(s, row.user_id, tried)
    for route in nexts:
        tag = hashlib.sha256(f"{route.channel}:{route.destination}".encode()).hexdigest()[:16]
        s.add(Notification(id=new_id(), user_id=row.user_id, alert_id=row.alert_id, incident_id=row.incident_id,
                           escalation_id=row.escalation_id, contact_method_id=route.contact_method_id,
                           channel=route.channel, destination=route.destination, kind=row.kind, subject=row.subject,
                           body=row.body, idempotency_key=f"{row.idempotency_key[:150]}|fb:{tag}", status="queued",
                           created_at=now, send_after=now, attempts=0))
    # The trail is read by anyone who may see the alert or incident: the error loses the destination's
    # secrets (the owner and admins read it in full on the notification).
    shown = mask.scrub(why, row.channel, row.destination) or ""
    then = (f"falling through to {', '.join(r.channel for r in nexts)}" if nexts
            else "no other verified contact method to fall through to")
    trail.note(s, now=now, kind="notification_failed", alert_id=row.alert_id,
               incident_id=row.incident_id if not row.alert_id else _incident_of(s, row.alert_id),
               reason=f"{'reminder' if row.kind == 'reminder' else 'page'} to {name} by {row.channel} failed: "
                      f"{shown}; {then}",
               user_id=str(row.user_id), notification_id=str(row.id), channel=row.channel)


def _incident_of(s: Session, alert_id: uuid.UUID | None) -> uuid.UUID | None:
    if alert_id is None:
        return None
    return s.execute(sa.select(Alert.incident_id).where(Alert.id == alert_id)).scalar_one_or_none()
