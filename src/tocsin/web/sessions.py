"""Console sessions and user invitations: the service the login, logout and invite pages call.

A session token and an invite token each carry 256 random bits; only their SHA-256 is
stored, so a leaked database does not leak live sessions. A session ends when it is idle
for `session_idle_minutes`, `session_max_hours` after login, when the user logs out, when
the user changes their password (their other sessions), when an admin resets it, or when the
user is deactivated (users/service.py; a reactivated user's old sessions stay ended).

Logging in is throttled (`login`, users/throttle.py) per account and source address, per address,
and per account over all addresses, before any password hash is computed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.db.session import rowcount
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents.guests import live_incident_ids
from tocsin.keys import key_hash
from tocsin.principal import STAFF_ROLES, OrgRole, Principal
from tocsin.users import throttle
from tocsin.users.models import User
from tocsin.users.service import (
    check_password,
    create_user,
    end_sessions,
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
    """The active user with this email and password, or None (not throttled: `login` is).

    Always verifies one argon2 hash, even when the email is unknown, the user is deactivated or
    has no password, so the answer's timing does not tell which emails have accounts."""
    user = get_user_by_email(session, email)
    if user is None or not user.is_active or not user.password_hash:
        check_password(_no_user(), password)
        return None
    return user if check_password(user, password) else None


@dataclass(frozen=True)
class Login:
    """What a login attempt came to: a session token, or `retry_after` seconds to wait (throttled), or neither
    (wrong email or password)."""

    token: str | None = None
    retry_after: int = 0


@dataclass(frozen=True)
class _Hash:
    password_hash: str


def login(db: Database, *, email: str, password: str, address: str, now: datetime, settings: Settings) -> Login:
    """Check an email and password from `address`; start a session when they are right.

    Before any argon2 work, in its own short transaction, the try is counted (users/throttle.py) on
    three keys: the account from this address (5 free tries), the address over all accounts (20),
    and the account over all addresses (50, a ceiling that does not apply to an address that has
    not failed on the account, so an attacker cannot lock the real user out of their own address).
    A blocked key refuses the try uncounted. The hash is then checked outside any transaction (on
    SQLite a transaction holds the write lock), and a right password clears the account's counts."""
    email = email.strip().lower()
    source = throttle.address_subject(address)  # an IPv6 address counts as its /64
    pair, account = f"{email}\x00{source}", email
    with db.unit_of_work() as s:
        refused = _blocked(s, pair, account, source, now)
        if refused:
            return Login(retry_after=refused)
        tickets = [throttle.take(s, throttle.LOGIN_PAIR, pair, now), throttle.take(s, throttle.LOGIN_ADDRESS, source, now)]
        ceiling = throttle.take(s, throttle.LOGIN_ACCOUNT, account, now)
        if ceiling.blocked and tickets[0].failures > 1:  # a parallel try got here first
            return Login(retry_after=ceiling.retry_after)
        if any(t.blocked for t in tickets):
            return Login(retry_after=max(t.retry_after for t in tickets))
        user = get_user_by_email(s, email)
        user_id = user.id if user is not None else None
        stored = user.password_hash if user is not None and user.is_active else None
    ok = check_password(_Hash(stored) if stored else _no_user(), password) and stored is not None
    with db.unit_of_work() as s:
        user = s.get(User, user_id) if ok and user_id is not None else None
        if user is not None and user.org_role == OrgRole.guest.value and not live_incident_ids(s, user.id, now):
            user = None  # an outside responder whose access has ended: as if the password were wrong
        if user is None or not user.is_active or user.password_hash != stored:
            _record_lockouts(s, tickets + [ceiling], email=email, address=address, user_id=user_id, now=now)
            return Login()
        throttle.clear(s, throttle.LOGIN_PAIR, pair)
        throttle.clear(s, throttle.LOGIN_ACCOUNT, account)
        throttle.give_back(s, throttle.LOGIN_ADDRESS, source)
        return Login(token=create_session(s, user=user, now=now, settings=settings))


def _blocked(s: Session, pair: str, account: str, address: str, now: datetime) -> int:
    """Seconds to wait if a key refuses this try (the ceiling only for an address that failed on the account)."""
    own = throttle.peek(s, throttle.LOGIN_PAIR, pair, now)
    waits = [own.retry_after, throttle.peek(s, throttle.LOGIN_ADDRESS, address, now).retry_after]
    if own.failures > 0:
        waits.append(throttle.peek(s, throttle.LOGIN_ACCOUNT, account, now).retry_after)
    return max(waits)


_LOCK_POLICIES = (throttle.LOGIN_PAIR, throttle.LOGIN_ADDRESS, throttle.LOGIN_ACCOUNT)


def _record_lockouts(s: Session, tickets: list[throttle.Ticket], *, email: str, address: str,
                     user_id: uuid.UUID | None, now: datetime) -> None:
    """Audit each key this failure blocked for the first time (once per key, not once per try)."""
    for policy, ticket in zip(_LOCK_POLICIES, tickets, strict=True):
        if not ticket.blocked and ticket.failures == policy.free:
            actor = Principal(user_id=None, label=f"login:{address}", org_role=OrgRole.viewer)
            record(s, actor=actor, action="login.throttled", target_type="user" if user_id else "login",
                   target_id=user_id, now=now,
                   details={"email": email, "address": address, "failures": ticket.failures, "per": policy.kind})


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
    """End every open session of a user except `keep`; return how many ended (users.service.end_sessions)."""
    return end_sessions(session, user_id=user_id, now=now, keep=keep)


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
        if role not in STAFF_ROLES:
            raise ValueError(org_role)
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


def require_open_invite(session: Session, invite_id: uuid.UUID, *, now: datetime) -> UserInvite:
    """The open invite with this id; NotFound when unknown, accepted, revoked or expired."""
    invite = session.get(UserInvite, invite_id)
    if invite is None or invite.accepted_at is not None or now >= invite.expires_at:
        raise NotFound(f"no open invitation {invite_id}")
    return invite


def revoke_invite(session: Session, *, actor: Principal, now: datetime, invite: UserInvite) -> None:
    """End the invite now (admin only): its link stops working at once. It ends by expiring, so the
    row stays as the record of who was invited by whom."""
    actor.require(OrgRole.admin, "revoking invitations")
    invite.expires_at = now
    session.flush()
    record(session, actor=actor, action="user.invite_revoke", target_type="user_invite", target_id=invite.id,
           now=now, details={"email": invite.email})


def resend_invite(session: Session, *, actor: Principal, now: datetime,
                  invite: UserInvite) -> tuple[UserInvite, str]:
    """Replace the invite with a new one for the same person and role (a new link, a new expiry);
    the old link stops working. Return the new invite and its one-time token."""
    revoke_invite(session, actor=actor, now=now, invite=invite)
    return create_invite(session, actor=actor, now=now, email=invite.email, name=invite.name,
                         org_role=invite.org_role)


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
    # Claim the invite with one conditional UPDATE: of parallel uses of the link, one matches the row
    # (PostgreSQL makes the others wait for its commit, then re-check accepted_at), the rest are refused.
    claimed = rowcount(session, sa.update(UserInvite).where(UserInvite.id == invite.id, UserInvite.accepted_at.is_(None))
                       .values(accepted_at=now).execution_options(synchronize_session=False))
    if claimed != 1:
        raise NotFound("this invitation link is not valid: it was used already, has expired or never existed")
    # The admin authorised this account when inviting; the audit names the invite and its inviter.
    actor = Principal(user_id=invite.invited_by_id, label=f"invite:{invite.email}", org_role=OrgRole.admin)
    user = create_user(session, actor=actor, now=now, email=invite.email, name=name.strip() or invite.name,
                       org_role=OrgRole(invite.org_role), password=password)
    invite.accepted_at = now
    invite.user_id = user.id
    record(session, actor=actor, action="user.invite_accept", target_type="user_invite", target_id=invite.id,
           now=now, details={"email": invite.email, "user_id": str(user.id)})
    return user


# --- first run: the first admin ------------------------------------------------------------------

_SETUP_PURPOSE = b"tocsin: create the first admin"


def setup_token(settings: Settings) -> str:
    """The secret of the first-run link (`/setup/<token>`): derived from the server's secret key, so
    every process of one installation prints the same link and nothing is stored. It works only
    while the database has no users."""
    return hmac.new(settings.resolved_secret_key().encode(), _SETUP_PURPOSE, hashlib.sha256).hexdigest()[:40]


def needs_setup(session: Session) -> bool:
    return session.execute(sa.select(User.id).limit(1)).first() is None


def require_setup(session: Session, settings: Settings, token: str) -> None:
    """NotFound unless `token` is the setup secret and no user exists yet (one message for both)."""
    if not (token and len(token) <= _MAX_TOKEN_CHARS and token.isascii() and hmac.compare_digest(token, setup_token(settings))
            and needs_setup(session)):
        raise NotFound("this setup link is not valid: tocsin already has users (log in), or the link is wrong")


def create_first_admin(session: Session, *, settings: Settings, token: str, now: datetime, email: str, name: str,
                       password: str, time_zone: str) -> User:
    """Create the first user, an admin, through the first-run link; audited as done by `setup`."""
    require_setup(session, settings, token)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                           details={"field": "password"})
    actor = Principal.system("setup")
    user = create_user(session, actor=actor, now=now, email=email, name=name, org_role=OrgRole.admin,
                       password=password, time_zone=time_zone or "UTC")
    record(session, actor=actor, action="user.first_admin", target_type="user", target_id=user.id, now=now,
           details={"email": user.email})
    return user
