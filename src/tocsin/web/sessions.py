"""Console sessions and user invitations: the service the login, logout and invite pages call.

A session token and an invite token each carry 256 random bits; only their SHA-256 is
stored, so a leaked database does not leak live sessions. A session ends when it is idle
for `session_idle_minutes`, `session_max_hours` after login, when the user logs out, when
the user changes their password (their other sessions), or when the user is deactivated.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.config import Settings
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.keys import key_hash
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User
from tocsin.users.service import (
    check_password,
    create_user,
    get_user_by_email,
    hash_password,
    normalise_email,
)
from tocsin.web.models import UserInvite, WebSession

# last_seen_at is written at most this often, so page views do not all turn into writes
_SEEN_GRANULARITY = timedelta(minutes=1)
INVITE_TTL = timedelta(days=7)
_MAX_TOKEN_CHARS = 100
MIN_PASSWORD, MAX_PASSWORD = 8, 1024


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class LiveSession:
    """A valid session with its user (detached rows; read-only use)."""

    session_id: uuid.UUID
    user: User


@dataclass(frozen=True)
class _NoUser:
    """Stands in for a missing user so a failed login costs one argon2 verification either way."""

    password_hash: str


@functools.cache
def _no_user() -> _NoUser:
    # a hash of a random password nobody knows, made once per process (same parameters as real ones)
    return _NoUser(hash_password(secrets.token_urlsafe(24)))


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    Always verifies one argon2 hash, even when the email is unknown, the user is deactivated or
    has no password, so the answer's timing does not tell which emails have accounts."""
    user = get_user_by_email(session, email)
    if user is None or not user.is_active or not user.password_hash:
        check_password(_no_user(), password)
        return None
    return user if check_password(user, password) else None


def create_session(session: Session, *, user: User, now: datetime, settings: Settings) -> str:
    """Start a session for `user` (who has just proved who they are); return the plaintext token."""
    token = new_token()
    session.add(WebSession(token_hash=key_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(hours=settings.session_max_hours)))
    session.flush()
    return token


def is_live(web: WebSession | None, user: User | None, now: datetime, settings: Settings) -> bool:
    """Whether the session is still valid: not revoked, expired or idle, and its user still active.
    Read only: the caller decides whether this use counts as activity."""
    if web is None or user is None or not user.is_active:
        return False
    idle = timedelta(minutes=settings.session_idle_minutes)
    return web.revoked_at is None and now < web.expires_at and now - web.last_seen_at < idle


def lookup(session: Session, token: str | None, *, now: datetime, settings: Settings) -> LiveSession | None:
    """Return the live session for `token`, refreshing last_seen_at; None if absent, expired or revoked."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    row = session.execute(
        sa.select(WebSession, User).join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == key_hash(token))
    ).first()
    if row is None:
        return None
    web, user = row
    if not is_live(web, user, now, settings):
        return None
    if now - web.last_seen_at >= _SEEN_GRANULARITY:
        web.last_seen_at = now
    return LiveSession(session_id=web.id, user=user)


def revoke(session: Session, token: str | None, *, now: datetime) -> None:
    """End the session of `token` (logout); unknown tokens are ignored."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return
    web = session.execute(sa.select(WebSession).where(WebSession.token_hash == key_hash(token))).scalar_one_or_none()
    if web is not None and web.revoked_at is None:
        web.revoked_at = now


def revoke_all(session: Session, *, user_id: uuid.UUID, now: datetime, keep: uuid.UUID | None = None) -> int:
    """End every open session of a user except `keep`; return how many ended (password change, deactivation)."""
    stmt = sa.select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    rows = list(session.execute(stmt).scalars())
    for web in rows:
        web.revoked_at = now
    return len(rows)


# --- invites ---------------------------------------------------------------------------------

def create_invite(session: Session, *, actor: Principal, now: datetime, email: str, name: str,
                  org_role: str) -> tuple[UserInvite, str]:
    """Invite someone (admin only); return the invite and its one-time token for `/invite/<token>`."""
    actor.require(OrgRole.admin, "inviting users")
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", details={"field": "name"})
    if len(name) > 200:
        raise InvalidInput("name must have at most 200 characters", details={"field": "name"})
    try:
        role = OrgRole(org_role)
    except ValueError:
        raise InvalidInput("role must be admin, responder or viewer", details={"field": "org_role"}) from None
    if get_user_by_email(session, email):
        raise Conflict(f"a user with email {email} already exists", details={"email": email})
    token = new_token()
    invite = UserInvite(email=email, name=name, org_role=role.value, token_hash=key_hash(token),
                        invited_by_id=actor.user_id, created_at=now, expires_at=now + INVITE_TTL)
    session.add(invite)
    session.flush()
    record(session, actor=actor, action="user.invite", target_type="user_invite", target_id=invite.id, now=now,
           details={"email": email, "org_role": role.value})
    return invite, token


def list_invites(session: Session, *, now: datetime) -> list[UserInvite]:
    """Open invites (not accepted, not expired), newest first."""
    return list(session.execute(
        sa.select(UserInvite).where(UserInvite.accepted_at.is_(None), UserInvite.expires_at > now)
        .order_by(UserInvite.created_at.desc())
    ).scalars())


def require_invite(session: Session, token: str, *, now: datetime) -> UserInvite:
    """Return the open invite for `token`; NotFound when unknown, used or expired (one message for all)."""
    invite = None
    if token and len(token) <= _MAX_TOKEN_CHARS:
        invite = session.execute(
            sa.select(UserInvite).where(UserInvite.token_hash == key_hash(token))
        ).scalar_one_or_none()
    if invite is None or invite.accepted_at is not None or now >= invite.expires_at:
        raise NotFound("this invitation link is not valid: it was used already, has expired or never existed")
    return invite


def accept_invite(session: Session, *, now: datetime, token: str, name: str, password: str) -> User:
    """Create the invited user with their chosen name and password; the link then stops working.

    The password is required: an account without one could never log in to the console."""
    invite = require_invite(session, token, now=now)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                           details={"field": "password"})
    # The admin authorised this account when inviting; the audit names the invite and its inviter.
    actor = Principal(user_id=invite.invited_by_id, label=f"invite:{invite.email}", org_role=OrgRole.admin)
    user = create_user(session, actor=actor, now=now, email=invite.email, name=name.strip() or invite.name,
                       org_role=OrgRole(invite.org_role), password=password)
    invite.accepted_at = now
    invite.user_id = user.id
    record(session, actor=actor, action="user.invite_accept", target_type="user_invite", target_id=invite.id,
           now=now, details={"email": invite.email, "user_id": str(user.id)})
    return user
