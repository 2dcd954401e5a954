"""Add responders (PagerDuty's): page a person, a team's members or a schedule's current on-call
into a running incident, with a message, and record each person's reply.

Each person gets a `responder_requests` row (pending → acknowledged | declined) and a page on
their own notification rules for high urgency (outbox rows of kind "responder", sent by the
delivery engine; the message carries "acknowledge" and "decline" links). Acknowledging makes them
a responder of the incident; declining only says so. Both replies are on the timeline.

Need-to-know: being paged is never the way into a restricted incident, so for one only people
who may already see it are asked (the others are left out, with the reason), and the page says
only `restricted_words`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.contacts.service import routes_for
from tocsin.errors import Conflict, InvalidInput
from tocsin.escalation.drill import require_participants
from tocsin.escalation.models import Notification, ResponderRequest
from tocsin.ids import new_id
from tocsin.incidents import roles, timeline
from tocsin.incidents.access import who_may_see
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.incidents.types import ParticipantKind, TimelineKind
from tocsin.oncall.service import on_call, require_schedule
from tocsin.principal import OrgRole, Principal
from tocsin.teams.models import TeamMember
from tocsin.teams.service import require_team
from tocsin.users.models import User
from tocsin.users.service import require_user

TARGET_KINDS = ("user", "team", "schedule")
ANSWERS = ("acknowledged", "declined")
MAX_TARGETS = 20
MAX_MESSAGE = 2000
_OPEN = {s.value for s in ACTIVE_STATUSES}


@dataclass(frozen=True)
class Target:
    kind: str  # user | team | schedule
    key: str  # id, email or slug


@dataclass
class Outcome:
    requested: list[ResponderRequest] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "Vic Viewer: has the viewer role", in words


def _people(s: Session, target: Target, now: datetime) -> tuple[str, list[User]]:
    """Who a target pages now, and how to name it ("team Payments")."""
    if target.kind == "user":
        user = require_user(s, target.key)
        return user.name, [user]
    if target.kind == "team":
        team = require_team(s, target.key)
        members = list(s.execute(sa.select(User).join(TeamMember, TeamMember.user_id == User.id)
                                 .where(TeamMember.team_id == team.id).order_by(User.name)).scalars())
        return f"team {team.name}", members
    if target.kind == "schedule":
        schedule = require_schedule(s, target.key)
        shift = on_call(s, schedule=schedule, at=now, now=now)
        found = s.get(User, uuid.UUID(shift.user)) if shift is not None else None
        return f"on-call of {schedule.name}", [found] if found is not None else []
    raise InvalidInput(f"a responder is a user, a team or a schedule, not {target.kind!r}", details={"field": "kind"})


def _words(incident: Incident, who: str, message: str) -> tuple[str, str]:
    if incident.restricted:
        return (f"[{incident.severity}] You are asked to help with a restricted incident",
                f"{who} asks you to join a restricted {incident.severity} incident as a responder. What it is "
                f"about is shown only after you sign in.\nAcknowledge to join; decline if you cannot.")
    subject = f"[{incident.severity}] {ref(incident)}: you are asked to help: {incident.title}"
    body = (f"{who} asks you to join {ref(incident)} \"{incident.title}\" ({incident.severity}, {incident.status}) "
            f"as a responder.\n\n{message}\n\nAcknowledge to join; decline if you cannot.")
    return subject[:500], body


def add(s: Session, *, incident: Incident, actor: Principal, now: datetime, targets: list[Target],
        message: str) -> Outcome:
    """Ask the targets' people to join; one request and one page per person not already asked
    (pending) or responding. Raises InvalidInput (no target, a bad one), Conflict (the incident is
    over, or nobody is left to ask), Forbidden (a viewer)."""
    actor.require(OrgRole.responder, "adding responders")
    if incident.status not in _OPEN:
        raise Conflict(f"{ref(incident)} is {incident.status}: responders join running incidents only")
    if not targets:
        raise InvalidInput("choose a person, a team or a schedule to page", details={"field": "target"})
    if len(targets) > MAX_TARGETS:
        raise InvalidInput(f"at most {MAX_TARGETS} targets at once", details={"field": "target"})
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(f"the message may have at most {MAX_MESSAGE} characters", details={"field": "message"})
    out = Outcome()
    chosen: dict[uuid.UUID, tuple[User, str]] = {}
    for target in targets:
        via, people = _people(s, target, now)
        if not people:
            out.skipped.append(f"{via}: nobody is on call now" if target.kind == "schedule" else f"{via}: no members")
        for user in people:
            chosen.setdefault(user.id, (user, via))
    require_participants(s, incident, {uid: user.name for uid, (user, _via) in chosen.items()})
    pending = set(s.execute(sa.select(ResponderRequest.user_id).where(
        ResponderRequest.incident_id == incident.id, ResponderRequest.status == "pending")).scalars())
    responding = {p.user_id for p in roles.participants(s, incident.id) if p.kind == ParticipantKind.responder.value}
    visible = who_may_see(s, incident, list(chosen))  # never a guest (an outside responder), whatever their teams
    asked: list[tuple[User, str]] = []
    for user, via in chosen.values():
        why = ("is deactivated" if not user.is_active else
               "has the viewer role and can only observe" if user.org_role == OrgRole.viewer.value else
               "is an outside responder (guests are never paged)" if user.org_role == OrgRole.guest.value else
               "may not see this restricted incident" if user.id not in visible else
               "was already asked and has not answered" if user.id in pending else
               "is already a responder" if user.id in responding else None)
        if why:
            out.skipped.append(f"{user.name} {why}")
        else:
            asked.append((user, via))
    if not asked:
        raise Conflict("nobody to page: " + "; ".join(out.skipped), details={"skipped": out.skipped})
    subject, body = _words(incident, actor.label if actor.user_id is None else _name(s, actor), message)
    routes = routes_for(s, [u for u, _ in asked], "high")
    for user, via in asked:
        req = ResponderRequest(id=new_id(), incident_id=incident.id, user_id=user.id, via=via, message=message,
                               requested_by_id=actor.user_id, requested_at=now, status="pending")
        s.add(req)
        out.requested.append(req)
        for route in routes[user.id]:
            tag = hashlib.sha256(f"{route.channel}:{route.destination}:{route.delay_minutes}".encode()).hexdigest()[:16]
            s.add(Notification(id=new_id(), user_id=user.id, incident_id=incident.id,
                               contact_method_id=route.contact_method_id, channel=route.channel,
                               destination=route.destination, kind="responder", subject=subject, body=body,
                               idempotency_key=f"responder:{req.id}:{tag}", status="queued", created_at=now,
                               send_after=now + timedelta(minutes=route.delay_minutes), attempts=0))
    s.flush()
    names = ", ".join(f"{u.name}" + (f" (via {via})" if via != u.name else "") for u, via in asked)
    timeline.append(s, incident=incident, kind=TimelineKind.responders, actor=actor, now=now,
                    text=f"Paged to respond: {names}" + (f". Message: {message}" if message else ""),
                    data={"step": "requested", "users": [str(u.id) for u, _ in asked], "message": message})
    record(s, actor=actor, action="incident.add_responders", target_type="incident", target_id=incident.id, now=now,
           details={"ref": ref(incident), "targets": [{"kind": t.kind, "key": t.key} for t in targets],
                    "paged": [str(u.id) for u, _ in asked], "skipped": out.skipped})
    return out


def _name(s: Session, actor: Principal) -> str:
    user = s.get(User, actor.user_id)
    return user.name if user is not None else actor.label


def requests_of(s: Session, incident_id: uuid.UUID) -> list[ResponderRequest]:
    """The incident's responder requests, oldest first."""
    return list(s.execute(sa.select(ResponderRequest).where(ResponderRequest.incident_id == incident_id)
                          .order_by(ResponderRequest.requested_at, ResponderRequest.id)).scalars())


def pending_for(s: Session, incident_id: uuid.UUID, user_id: uuid.UUID) -> ResponderRequest | None:
    return s.execute(sa.select(ResponderRequest).where(
        ResponderRequest.incident_id == incident_id, ResponderRequest.user_id == user_id,
        ResponderRequest.status == "pending").order_by(ResponderRequest.requested_at.desc()).limit(1)).scalars().first()


def answer(s: Session, *, incident: Incident, user: User, actor: Principal, accept: bool, now: datetime) -> str:
    """The paged person's reply: acknowledging joins them as a responder. Returns what happened, in
    words; Conflict when there is nothing to answer (already answered, or the incident is over)."""
    req = pending_for(s, incident.id, user.id)
    name = "the restricted incident" if incident.restricted else ref(incident)
    if req is None:
        raise Conflict(f"you have no open request to join {name}: it was already answered")
    req.status, req.answered_at = ("acknowledged" if accept else "declined"), now
    if accept:
        if incident.status not in _OPEN:
            raise Conflict(f"{name} is {incident.status}: there is nothing to join any more")
        roles.set_participant(s, incident=incident, user=user, kind=ParticipantKind.responder, actor=actor, now=now)
    timeline.append(s, incident=incident, kind=TimelineKind.responders, actor=actor, now=now,
                    text=f"{user.name} {'acknowledged: joining as a responder' if accept else 'declined to respond'}",
                    data={"step": req.status, "user_id": str(user.id), "request_id": str(req.id)})
    s.flush()
    if accept:
        return f"You joined {name} as a responder" + ("" if incident.restricted else f": {incident.title}")
    return f"You declined to join {name}."
