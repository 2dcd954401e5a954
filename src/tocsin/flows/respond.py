"""Acting on a page from the page itself: a signed one-time link (email, webhook, Slack) or an SMS
reply code. The person the notification was sent to is the one acting, with their own role, and
everything is audited like the same action in the API.

- `ack` on an alert page acknowledges the alert (every alert of a bundled SMS); on an incident
  page it makes the person Incident Commander (which stops that paging). For a restricted
  incident only someone who may already see it can take command this way (a page sent before it
  was restricted is not a way in), and neither the confirmation page nor the answer names it: a
  link or SMS may be read by others.
- `resolve` resolves the alert(s).
- On a request to join an incident ("add responders", `escalation.responders`), `ack` joins the
  person as a responder and `decline` records that they cannot; both show in the room.
- A page for a whole alert group (its service pages per group) acknowledges or resolves every
  open alert of the group, as the group actions of the API do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertGroup
from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, IllegalTransition, NotFound
from tocsin.escalation import responders
from tocsin.escalation.models import Escalation, Notification
from tocsin.escalation.service import reescalate
from tocsin.flows.alerts import acknowledge, acknowledge_group, resolve, resolve_group
from tocsin.flows.incidents import assign_role
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident
from tocsin.incidents.roles import current_assignments
from tocsin.incidents.types import Role
from tocsin.principal import Principal
from tocsin.users.models import User
from tocsin.users.service import principal_for

PREVIEW_LINES = 20


@dataclass(frozen=True)
class Preview:
    """What a link would do, for the confirmation page."""

    action: str
    who: str
    what: list[str]


def _rows(session: Session, notification_id: uuid.UUID) -> tuple[Notification, User]:
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound("this page no longer exists")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Conflict("the person this page was sent to is no longer active")
    return row, user


def _group(session: Session, row: Notification) -> AlertGroup | None:
    """The alert group a page was sent for (its service pages per group), or None."""
    if row.kind != "page" or row.escalation_id is None:
        return None
    group_id = session.execute(sa.select(Escalation.group_id).where(Escalation.id == row.escalation_id)).scalar()
    return session.get(AlertGroup, group_id) if group_id is not None else None


def _alerts(session: Session, row: Notification) -> list[Alert]:
    """The alerts a page acts on: its own, and those of the pages a rate-limited bundle carried with it
    (pages only: a shadow's copy in the bundle is not its holder's to acknowledge)."""
    ids = {row.alert_id} | set(session.execute(sa.select(Notification.alert_id).where(
        Notification.bundle_id == row.id, Notification.kind == "page")).scalars())
    ids.discard(None)
    return list(session.execute(sa.select(Alert).where(Alert.id.in_(ids))
                                .order_by(Alert.first_seen_at, Alert.id)).scalars())


def preview(session: Session, notification_id: uuid.UUID, action: str) -> Preview:
    row, user = _rows(session, notification_id)
    if row.kind in ("incident", "responder"):
        inc = session.get(Incident, row.incident_id)
        what = [] if inc is None else [f"a restricted {inc.severity} incident"] if inc.restricted else \
            [f"INC-{inc.number}: {inc.title} ({inc.status})"]
        if row.kind == "responder":
            return Preview("join as a responder" if action == "ack" else "decline to join", user.name, what)
        return Preview("take Incident Commander for", user.name, what)
    verb = "acknowledge" if action == "ack" else "resolve"
    group = _group(session, row)
    if group is not None:
        found = list(session.execute(sa.select(Alert).where(Alert.group_id == group.id, Alert.status != "resolved")
                                     .order_by(Alert.first_seen_at, Alert.id).limit(PREVIEW_LINES + 1)).scalars())
        what = [f"[{a.severity}] {a.summary} ({a.status})" for a in found[:PREVIEW_LINES]]
        if len(found) > PREVIEW_LINES:
            what.append("... and the other open alerts of the group")
        return Preview(f"{verb} the alert group", user.name, what)
    return Preview(verb, user.name, [f"[{a.severity}] {a.summary} ({a.status})" for a in _alerts(session, row)])


def act(session: Session, *, notification_id: uuid.UUID, action: str, now: datetime, via: str) -> str:
    """Do `action` ("ack" or "resolve") as the notified person; return what happened, in words."""
    row, user = _rows(session, notification_id)
    actor = principal_for(session, user)
    record(session, actor=actor, action="notification.respond", target_type="notification", target_id=row.id, now=now,
           details={"action": action, "via": via})
    if row.kind == "incident":
        return _take_command(session, row, user, actor, action, now)
    if row.kind == "responder":
        return _answer_request(session, row, user, actor, action, now)
    if action == "decline":
        raise Conflict("only a request to join an incident can be declined")
    if row.kind != "page":
        raise Conflict("this message cannot be acted on")
    return _page_act(session, row, actor, action, now)


def _page_act(session: Session, row: Notification, actor: Principal, action: str, now: datetime) -> str:
    group = _group(session, row)
    if group is not None:
        return _group_act(session, group, actor, action, now)
    done, skipped = [], []
    for alert in _alerts(session, row):
        if action == "ack" and alert.status == "triggered":
            acknowledge(session, alert=alert, actor=actor, now=now)
            done.append(alert.summary)
        elif action == "resolve" and alert.status != "resolved":
            resolve(session, alert=alert, actor=actor, now=now)
            done.append(alert.summary)
        else:
            skipped.append(f"{alert.summary} (already {alert.status})")
    verb = "Acknowledged" if action == "ack" else "Resolved"
    parts = []
    if done:
        parts.append(f"{verb}: " + "; ".join(done))
    if skipped:
        parts.append("Nothing to do for: " + "; ".join(skipped))
    return ". ".join(parts) or "Nothing to do."


def act_as(session: Session, *, notification_id: uuid.UUID, action: str, actor: Principal, now: datetime,
           via: str) -> str:
    """Do `action` on a page's alert (or alert group) as `actor`, who clicked the page's button in a chat
    (not necessarily the person paged): "ack", "resolve", or "escalate" (page the escalation's next
    level now, `escalation.service.reescalate`). Return what happened, in words.

    Need-to-know as in the API: a page about an alert of a restricted incident `actor` may not see
    is "not found"; for a group's page, any alert of the group (the page acts on them all)."""
    row = session.get(Notification, notification_id)
    if row is None or row.kind != "page":
        raise NotFound("this page no longer exists")
    if actor.user_id is not None and not actor.sees_all_restricted:
        for alert in _alerts(session, row) + _group_members(session, row):
            inc = session.get(Incident, alert.incident_id) if alert.incident_id is not None else None
            if inc is not None and inc.restricted and actor.user_id not in who_may_see(session, inc, [actor.user_id]):
                raise NotFound("this page no longer exists")
    record(session, actor=actor, action="notification.respond", target_type="notification", target_id=row.id, now=now,
           details={"action": action, "via": via})
    if action == "escalate":
        return _escalate(session, row, actor, now)
    if action not in ("ack", "resolve"):
        raise Conflict("a page can be acknowledged, resolved or escalated")
    return _page_act(session, row, actor, action, now)


def _group_members(session: Session, row: Notification) -> list[Alert]:
    """Every alert of the group a group page acts on (the group gains alerts after its page)."""
    group = _group(session, row)
    if group is None:
        return []
    return list(session.execute(sa.select(Alert).where(Alert.group_id == group.id)).scalars())


def _escalate(session: Session, row: Notification, actor: Principal, now: datetime) -> str:
    esc = session.get(Escalation, row.escalation_id) if row.escalation_id is not None else None
    alert = session.get(Alert, esc.alert_id) if esc is not None and esc.alert_id is not None else None
    if esc is None or alert is None:
        raise Conflict("this page has no escalation to move on")
    found = reescalate(session, actor=actor, now=now, alert=alert)
    levels = len(found.policy_snapshot.get("levels") or [])
    return f"Escalated to level {min(found.level + 1, levels)} of {levels}"


def _group_act(session: Session, group: AlertGroup, actor: Principal, action: str, now: datetime) -> str:
    """A page for a whole alert group acts on every alert of the group (one audit record for it)."""
    try:
        if action == "ack":
            found = acknowledge_group(session, group=group, actor=actor, now=now)
        else:
            found = resolve_group(session, group=group, actor=actor, now=now)
    except IllegalTransition:
        return "Nothing to do: " + ("no alert of the group is triggered." if action == "ack" else
                                    "every alert of the group is already resolved.")
    verb = "Acknowledged" if action == "ack" else "Resolved"
    first = found[0].summary
    return f"{verb} {len(found)} alert{'s' if len(found) != 1 else ''} of the group" + \
        (f": {first}" if len(found) == 1 else f", the first: {first}")


def _take_command(session: Session, row: Notification, user: User, actor: Principal, action: str,
                  now: datetime) -> str:
    if action != "ack":
        raise Conflict("an incident page can only be acknowledged (taking Incident Commander)")
    inc = session.get(Incident, row.incident_id)
    if inc is None:
        raise NotFound("the incident no longer exists")
    if inc.restricted and user.id not in who_may_see(session, inc, [user.id]):
        raise Forbidden("this incident is restricted and you may not see it, so this page cannot make you its "
                        "Incident Commander; ask the security team")
    name = "the restricted incident" if inc.restricted else f"INC-{inc.number}"
    holders = [a for a in current_assignments(session, [inc.id]) if a.role == Role.incident_commander.value]
    if holders:
        other = session.get(User, holders[0].user_id)
        who = "" if inc.restricted else f": {other.name if other else holders[0].user_id}"
        return f"{name[0].upper()}{name[1:]} already has an Incident Commander{who}"
    assign_role(session, incident=inc, role=Role.incident_commander, user=user, actor=actor, now=now)
    if inc.restricted:
        return "You are now Incident Commander of the restricted incident; sign in to tocsin to see it."
    return f"You are now Incident Commander of INC-{inc.number}: {inc.title}"


def _answer_request(session: Session, row: Notification, user: User, actor: Principal, action: str,
                    now: datetime) -> str:
    """A reply to "add responders": acknowledge joins the incident as a responder, decline says no."""
    if action not in ("ack", "decline"):
        raise Conflict("a request to join an incident is acknowledged or declined")
    inc = session.get(Incident, row.incident_id, with_for_update=True)
    if inc is None:
        raise NotFound("the incident no longer exists")
    if inc.restricted and user.id not in who_may_see(session, inc, [user.id]):
        raise Forbidden("this incident is restricted and you may not see it; ask the security team")
    return responders.answer(session, incident=inc, user=user, actor=actor, accept=action == "ack", now=now)


def by_reply_code(session: Session, phone: str, code: str) -> Notification | None:
    """The newest SMS page to this number with this reply code."""
    return session.execute(sa.select(Notification).where(
        Notification.channel == "sms", Notification.destination == phone, Notification.reply_code == code,
        Notification.kind.in_(("page", "incident", "responder"))).order_by(Notification.created_at.desc()).limit(1)
    ).scalar_one_or_none()
