"""Guest responders: outside help (an IR firm, outside counsel) invited to ONE restricted incident.

An admin or the incident's commander invites a person by email; the invitation link (256 random
bits, only its SHA-256 kept) is shown once. Following it, the guest chooses a password and gets a
guest account (org role `guest`) or, already a guest, gives the password of that account (the
link is shown to whoever invited, so it must not set the password of an account that may already
see other incidents).
The grant lasts a number of hours chosen at invitation (capped by `TOCSIN_GUEST_MAX_DAYS`), counted
from the invitation. Whether a grant is live is read at every request (`live_incident_ids`), so
expiry needs no job and a revocation acts at once; revoking a guest's last live grant also ends
their console sessions. Who may see what stays in `access.py`: a guest principal carries the
incidents of its live grants and sees those alone.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.session import rowcount
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, WrongSecret
from tocsin.incidents import timeline
from tocsin.incidents.guest_models import GuestGrant
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Role, TimelineKind
from tocsin.keys import key_hash
from tocsin.principal import OrgRole, Principal
from tocsin.users import throttle
from tocsin.users.models import User
from tocsin.users.service import (
    MAX_PASSWORD,
    check_password,
    create_user,
    end_sessions,
    get_user_by_email,
    hash_password,
    normalise_email,
)

_MAX_TOKEN_CHARS = 100
_DEAD_LINK = "this guest invitation link is not valid: it was used already, has expired, was revoked or never existed"


def is_live(grant: GuestGrant, now: datetime) -> bool:
    return grant.revoked_at is None and now < grant.expires_at


def may_manage(session: Session, *, actor: Principal, incident: Incident) -> bool:
    """Admins, and the incident's current commander, invite and revoke its guests."""
    if actor.is_admin:
        return True
    return timeline.holds_role(session, incident.id, actor.user_id, (Role.incident_commander.value,))


def _require_manager(session: Session, actor: Principal, incident: Incident, what: str) -> None:
    if not may_manage(session, actor=actor, incident=incident):
        raise Forbidden(f"{what} is for admins and the incident commander")


def parse_duration(text: str, *, max_days: int) -> timedelta:
    """`12h`, `3d` or a bare number of hours -> a timedelta of 1 hour to `max_days` days; InvalidInput."""
    raw = text.strip().lower()
    unit = 24 if raw.endswith("d") else 1
    number = raw.rstrip("dh").strip()
    if not (number.isascii() and number.isdigit()) or len(number) > 6:
        raise InvalidInput("give the access time as hours (12h) or days (3d)", details={"field": "duration"})
    hours = int(number) * unit
    if not 1 <= hours <= max_days * 24:
        raise InvalidInput(f"guest access lasts from 1 hour to {max_days} days", details={"field": "duration"})
    return timedelta(hours=hours)


def invite(session: Session, *, actor: Principal, now: datetime, incident: Incident, email: str, name: str,
           organisation: str = "", duration: timedelta, max_days: int) -> tuple[GuestGrant, str]:
    """Invite an outside responder to `incident` (restricted only); return the grant and the link's token.

    Raises Forbidden (not an admin or the commander), InvalidInput (not restricted, bad fields or
    duration), Conflict (the address belongs to a staff account, or already has a live grant here)."""
    _require_manager(session, actor, incident, "inviting outside responders")
    if not incident.restricted:
        raise InvalidInput("outside responders are invited to restricted (need-to-know) incidents only: "
                           "restrict the incident first", details={"field": "incident"})
    email = normalise_email(email)
    name, organisation = name.strip(), organisation.strip()
    if not name or len(name) > 200:
        raise InvalidInput("give the guest's name (at most 200 characters)", details={"field": "name"})
    if len(organisation) > 200:
        raise InvalidInput("the organisation may have at most 200 characters", details={"field": "organisation"})
    if not timedelta(hours=1) <= duration <= timedelta(days=max_days):
        raise InvalidInput(f"guest access lasts from 1 hour to {max_days} days", details={"field": "duration"})
    user = get_user_by_email(session, email)
    if user is not None and user.org_role != OrgRole.guest.value:
        raise Conflict(f"{email} already has a tocsin account: add them to the incident as a participant instead",
                       details={"email": email})
    for other in list_grants(session, incident):
        if other.email == email and is_live(other, now):
            raise Conflict(f"{email} already has guest access to this incident: revoke it to invite again",
                           details={"email": email})
    token = secrets.token_urlsafe(32)
    grant = GuestGrant(incident_id=incident.id, email=email, name=name, organisation=organisation,
                       token_hash=key_hash(token), invited_by_id=actor.user_id, created_at=now,
                       expires_at=now + duration)
    session.add(grant)
    session.flush()
    who = f"{name} ({organisation})" if organisation else name
    timeline.append(session, incident=incident, kind=TimelineKind.guest, actor=actor, now=now,
                    text=f"{who} was invited as an outside responder until {grant.expires_at:%Y-%m-%d %H:%M} UTC",
                    data={"grant_id": str(grant.id), "email": email, "expires_at": grant.expires_at.isoformat()})
    record(session, actor=actor, action="incident.guest_invite", target_type="incident", target_id=incident.id,
           now=now, details={"grant": str(grant.id), "email": email, "organisation": organisation,
                             "expires_at": grant.expires_at.isoformat()})
    return grant, token


def list_grants(session: Session, incident: Incident) -> list[GuestGrant]:
    """Every guest grant of the incident, newest first (live, expired and revoked)."""
    return list(session.execute(sa.select(GuestGrant).where(GuestGrant.incident_id == incident.id)
                                .order_by(GuestGrant.created_at.desc(), GuestGrant.id.desc())).scalars())


def require_grant(session: Session, incident: Incident, grant_id: uuid.UUID | None) -> GuestGrant:
    grant = session.get(GuestGrant, grant_id) if grant_id else None
    if grant is None or grant.incident_id != incident.id:
        raise NotFound(f"no guest access {grant_id} on this incident")
    return grant


def require_invitation(session: Session, token: str, *, now: datetime) -> GuestGrant:
    """The open (not accepted, live) invitation of `token`; NotFound with one message for every reason."""
    grant = None
    if token and len(token) <= _MAX_TOKEN_CHARS:
        grant = session.execute(sa.select(GuestGrant).where(GuestGrant.token_hash == key_hash(token))
                                ).scalar_one_or_none()
    if grant is None or grant.accepted_at is not None or not is_live(grant, now):
        raise NotFound(_DEAD_LINK)
    return grant


def has_account(session: Session, grant: GuestGrant) -> bool:
    """Whether the invitation's address is already a guest account (its page then asks for that password)."""
    user = get_user_by_email(session, grant.email)
    return user is not None and user.org_role == OrgRole.guest.value


def accept(session: Session, *, now: datetime, token: str, name: str, password: str) -> tuple[User, GuestGrant]:
    """Take up the invitation: create the guest account (or, for a guest already, check the password
    of that account); the link then stops working. Raises NotFound (dead link), InvalidInput, Conflict."""
    grant = require_invitation(session, token, now=now)
    existing = get_user_by_email(session, grant.email)
    if existing is not None and existing.org_role == OrgRole.guest.value:
        # the link is shown to whoever invited: it must not set the password of an account that
        # already sees other incidents, so an existing guest proves who they are instead
        # (throttled like a change of one's own password: the inviter holds the link and may guess)
        ticket = throttle.take(session, throttle.PASSWORD, str(existing.id), now)
        if ticket.blocked:
            raise TooManyAttempts(f"too many wrong passwords: try again in {ticket.retry_after} s",
                                  retry_after=ticket.retry_after)
        if len(password) > MAX_PASSWORD or not check_password(existing, password):
            raise WrongSecret("you already have a guest account: give the password of your guest account",
                              details={"field": "password"})
        throttle.clear(session, throttle.PASSWORD, str(existing.id))
        hashed = existing.password_hash
    else:
        hashed = hash_password(password)  # InvalidInput for a too short or too long one
    claimed = rowcount(session, sa.update(GuestGrant).where(GuestGrant.id == grant.id, GuestGrant.accepted_at.is_(None))
                       .values(accepted_at=now).execution_options(synchronize_session=False))
    if claimed != 1:
        raise NotFound(_DEAD_LINK)
    session.refresh(grant)
    # the inviter authorised this account; the audit names the grant and who made it
    actor = Principal(user_id=grant.invited_by_id, label=f"guest-invite:{grant.email}", org_role=OrgRole.admin)
    user = get_user_by_email(session, grant.email)
    if user is None:
        user = create_user(session, actor=actor, now=now, email=grant.email, name=name.strip()[:200] or grant.name,
                           org_role=OrgRole.guest, guest=True)
    elif user.org_role != OrgRole.guest.value or not user.is_active:
        raise Conflict("this address belongs to an account that cannot take guest access: ask whoever invited you")
    user.password_hash = hashed  # unchanged for a guest of before (checked above)
    grant.user_id = user.id
    incident = session.get(Incident, grant.incident_id)
    assert incident is not None  # the grant's foreign key
    guest = Principal(user_id=user.id, label=user.email, org_role=OrgRole.guest,
                      guest_incidents=frozenset({incident.id}))
    timeline.append(session, incident=incident, kind=TimelineKind.guest, actor=guest, now=now,
                    text=f"{user.name} joined as an outside responder", data={"grant_id": str(grant.id)})
    record(session, actor=guest, action="incident.guest_accept", target_type="incident", target_id=incident.id,
           now=now, details={"grant": str(grant.id), "email": user.email})
    return user, grant


def revoke(session: Session, *, actor: Principal, now: datetime, incident: Incident, grant: GuestGrant) -> int:
    """End the grant now; when it was the guest's last live one, end their console sessions too.
    Return how many sessions ended. Raises Forbidden, Conflict (already over)."""
    _require_manager(session, actor, incident, "revoking outside responders")
    if not is_live(grant, now):
        raise Conflict("this guest access has already ended")
    grant.revoked_at, grant.revoked_by_id = now, actor.user_id
    session.flush()
    ended = 0
    if grant.user_id is not None and not live_incident_ids(session, grant.user_id, now):
        ended = end_sessions(session, user_id=grant.user_id, now=now)
    timeline.append(session, incident=incident, kind=TimelineKind.guest, actor=actor, now=now,
                    text=f"Outside responder {grant.name}'s access was revoked", data={"grant_id": str(grant.id)})
    record(session, actor=actor, action="incident.guest_revoke", target_type="incident", target_id=incident.id,
           now=now, details={"grant": str(grant.id), "email": grant.email, "sessions_ended": ended})
    return ended


def live_incident_ids(session: Session, user_id: uuid.UUID, now: datetime) -> frozenset[uuid.UUID]:
    """The incidents a guest may see now: their accepted, unrevoked, unexpired grants."""
    return frozenset(session.execute(
        sa.select(GuestGrant.incident_id).where(GuestGrant.user_id == user_id, GuestGrant.accepted_at.is_not(None),
                                                GuestGrant.revoked_at.is_(None), GuestGrant.expires_at > now)
    ).scalars())
