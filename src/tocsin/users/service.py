"""Users, passwords and API tokens, and the account changes both edges (API, console) make.

Tokens are `tcs_` + 43 url-safe characters (256 random bits), shown once and stored as
SHA-256. Passwords use argon2id. `last_used_at` is written at most once a minute per
token so that reads do not turn into writes on every request.

Account changes, one function each, whichever edge asks:

- `change_own_password`: needs the current password (wrong ones are throttled like logins) and
  ends the user's other console sessions; API tokens stay (they are separate credentials the
  user manages and revokes on their own).
- `reset_password`: an admin sets someone else's password; audited, and ends all their console
  sessions.
- `set_active`: deactivating ends every console session and revokes every API token, so
  reactivating the user brings none of them back.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, InvalidInput, NotFound, TooManyAttempts, WrongSecret
from tocsin.principal import OrgRole, Principal
from tocsin.teams.models import Team, TeamMember
from tocsin.users import throttle
from tocsin.users.models import ApiToken, User, WebSession

TOKEN_PREFIX = "tcs_"
_hasher = PasswordHasher()  # argon2-cffi's defaults until configure_password_hashing() is called
_LAST_USED_GRANULARITY = timedelta(minutes=1)
MIN_PASSWORD, MAX_PASSWORD = 8, 1024


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320 or " " in email:
        raise InvalidInput(f"not an email address: {email!r}", details={"field": "email"})
    return email


def check_time_zone(name: str) -> str:
    """Return `name` if it is an IANA time zone (Europe/Berlin); raise InvalidInput."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin",
                           details={"field": "time_zone"}) from None
    return name


def configure_password_hashing(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Make new password hashes with these argon2id parameters (the `password_*` settings).

    Called once at process start (the app, the CLI). Hashes made with other parameters still
    verify: each hash carries its own."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password must have at least 8 characters", details={"field": "password"})
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password must have at most 1024 characters", details={"field": "password"})
    return _hasher.hash(password)


class PasswordHolder(Protocol):
    """What check_password reads: a user row, or a stand-in with a hash nobody knows the password of."""

    @property
    def password_hash(self) -> str | None: ...


def check_password(user: PasswordHolder, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(sa.select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def require_user(session: Session, key: str | uuid.UUID) -> User:
    """Return the user with this id or email; raise NotFound."""
    user = None
    if isinstance(key, uuid.UUID):
        user = session.get(User, key)
    else:
        try:
            user = session.get(User, uuid.UUID(key))
        except ValueError:
            user = get_user_by_email(session, key)
    if user is None:
        raise NotFound(f"no user {key}", details={"user": str(key)})
    return user


def list_users(session: Session, *, after: uuid.UUID | None = None, limit: int = 50) -> list[User]:
    stmt = sa.select(User).order_by(User.id).limit(limit)
    if after:
        stmt = stmt.where(User.id > after)
    return list(session.execute(stmt).scalars())


def create_user(session: Session, *, actor: Principal, now: datetime, email: str, name: str,
                org_role: OrgRole, password: str | None = None, time_zone: str = "UTC",
                guest: bool = False) -> User:
    """Create a user (admin). A guest account (`org_role` guest) is made only by accepting a guest
    invitation (`guest=True`, incidents/guests.py), never by choosing the role."""
    actor.require(OrgRole.admin, "creating users")
    if (OrgRole(org_role) == OrgRole.guest) != guest:
        raise InvalidInput("guest accounts are made by inviting an outside responder to an incident",
                           details={"field": "org_role"})
    email = normalise_email(email)
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    if get_user_by_email(session, email):
        raise Conflict(f"a user with email {email} already exists", details={"email": email})
    user = User(email=email, name=name.strip(), org_role=OrgRole(org_role).value,
                password_hash=hash_password(password) if password else None, time_zone=check_time_zone(time_zone),
                is_active=True, created_at=now)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.create", target_type="user", target_id=user.id, now=now,
           details={"email": email, "org_role": user.org_role})
    return user


def update_user(session: Session, *, actor: Principal, now: datetime, user: User, name: str | None = None,
                org_role: OrgRole | None = None, is_active: bool | None = None, password: str | None = None,
                time_zone: str | None = None, current_password: str | None = None,
                keep_session: uuid.UUID | None = None, handoff_notices: bool | None = None) -> User:
    """Change a user. Users may change their own name, password (with `current_password`), time
    zone and whether they get hand-off notices; the rest is admin-only. A password goes through `change_own_password` (yourself) or
    `reset_password` (an admin, for someone else); `is_active` through `set_active`."""
    is_self = actor.user_id == user.id
    changes: dict[str, object] = {}
    if org_role is not None or is_active is not None or not is_self:
        actor.require(OrgRole.admin, "changing another user's account or any role")
    if name is not None:
        if not name.strip():
            raise InvalidInput("name must not be empty", details={"field": "name"})
        user.name = changes["name"] = name.strip()
    if org_role is not None and org_role != user.org_role:
        if OrgRole.guest in (org_role, user.org_role):
            raise InvalidInput("a guest account stays a guest, and no account becomes one",
                               details={"field": "org_role"})
        changes["org_role"] = {"from": user.org_role, "to": org_role.value}
        user.org_role = org_role.value
    if time_zone is not None:
        user.time_zone = changes["time_zone"] = check_time_zone(time_zone)
    if handoff_notices is not None and handoff_notices != user.handoff_notices:
        user.handoff_notices = changes["handoff_notices"] = handoff_notices
    if changes:
        record(session, actor=actor, action="user.update", target_type="user", target_id=user.id, now=now,
               details=changes)
    if password is not None:
        if is_self:
            if current_password is None:
                raise InvalidInput("changing your password needs your current password (current_password)",
                                   details={"field": "current_password"})
            change_own_password(session, actor=actor, now=now, user=user, current_password=current_password,
                                new_password=password, keep_session=keep_session)
        else:
            reset_password(session, actor=actor, now=now, user=user, new_password=password)
    if is_active is not None:
        set_active(session, actor=actor, now=now, user=user, active=is_active)
    return user


def end_sessions(session: Session, *, user_id: uuid.UUID, now: datetime, keep: uuid.UUID | None = None) -> int:
    """End every open console session of a user except `keep`; return how many ended."""
    stmt = sa.update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    ended = session.execute(stmt.values(revoked_at=now).returning(WebSession.id)).all()
    return len(ended)


def change_own_password(session: Session, *, actor: Principal, now: datetime, user: User, current_password: str,
                        new_password: str, keep_session: uuid.UUID | None = None) -> int:
    """Set your own password, proving the current one; end your other console sessions (all but
    `keep_session`, the one asking) and return how many ended.

    Wrong current passwords are throttled per user (users/throttle.py): after 5, TooManyAttempts
    before any hash is computed. A wrong one raises WrongSecret, whose unit of work still commits
    the count."""
    if actor.user_id != user.id:
        raise InvalidInput("only the user themselves changes their password this way; an admin resets it")
    if not MIN_PASSWORD <= len(new_password) <= MAX_PASSWORD:
        raise InvalidInput(f"choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                           details={"field": "password"})
    ticket = throttle.take(session, throttle.PASSWORD, str(user.id), now)
    if ticket.blocked:
        raise TooManyAttempts(f"too many wrong passwords: try again in {ticket.retry_after} s",
                              retry_after=ticket.retry_after)
    if len(current_password) > MAX_PASSWORD or not check_password(user, current_password):
        raise WrongSecret("the current password is wrong", details={"field": "current_password"})
    throttle.clear(session, throttle.PASSWORD, str(user.id))
    user.password_hash = hash_password(new_password)
    ended = end_sessions(session, user_id=user.id, now=now, keep=keep_session)
    record(session, actor=actor, action="user.password_change", target_type="user", target_id=user.id, now=now,
           details={"sessions_ended": ended})
    return ended


def reset_password(session: Session, *, actor: Principal, now: datetime, user: User, new_password: str) -> int:
    """An admin sets another user's password; every console session of theirs ends (returned: how many)."""
    actor.require(OrgRole.admin, "resetting another user's password")
    if actor.user_id == user.id:
        raise InvalidInput("change your own password with your current password", details={"field": "password"})
    user.password_hash = hash_password(new_password)
    ended = end_sessions(session, user_id=user.id, now=now)
    record(session, actor=actor, action="user.password_reset", target_type="user", target_id=user.id, now=now,
           details={"sessions_ended": ended})
    return ended


def set_active(session: Session, *, actor: Principal, now: datetime, user: User, active: bool) -> None:
    """Activate or deactivate a user (admin). Deactivating ends every console session and revokes
    every API token, so that reactivating brings none of them back."""
    actor.require(OrgRole.admin, "activating or deactivating users")
    if user.id == actor.user_id and not active:
        raise InvalidInput("you cannot deactivate yourself; ask another admin", details={"field": "is_active"})
    if active == user.is_active:
        return
    user.is_active = active
    details: dict[str, object] = {"is_active": active}
    if not active:
        details["sessions_ended"] = end_sessions(session, user_id=user.id, now=now)
        revoked = session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=now).returning(ApiToken.id)).all()
        details["tokens_revoked"] = len(revoked)
    record(session, actor=actor, action="user.activate" if active else "user.deactivate", target_type="user",
           target_id=user.id, now=now, details=details)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, actor: Principal, now: datetime, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; return the row and the plaintext (shown once, never stored)."""
    if actor.user_id != user.id:
        actor.require(OrgRole.admin, "creating tokens for another user")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip() or "token", token_hash=_token_digest(plaintext),
                     prefix=plaintext[:10], created_at=now)
    session.add(token)
    session.flush()
    record(session, actor=actor, action="token.create", target_type="api_token", target_id=token.id, now=now,
           details={"user": user.email, "name": token.name})
    return token, plaintext


def list_tokens(session: Session, *, user_id: uuid.UUID) -> list[ApiToken]:
    return list(session.execute(
        sa.select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
    ).scalars())


def require_token(session: Session, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}", details={"token": str(token_id)})
    return token


def revoke_token(session: Session, *, actor: Principal, now: datetime, token: ApiToken) -> ApiToken:
    if actor.user_id != token.user_id:
        actor.require(OrgRole.admin, "revoking another user's token")
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, actor=actor, action="token.revoke", target_type="api_token", target_id=token.id, now=now,
               details={"prefix": token.prefix})
    return token


def principal_for(session: Session, user: User) -> Principal:
    """Return the principal for an active user, with team and security-team membership."""
    rows = session.execute(
        sa.select(Team.id, Team.is_security).join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user.id)
    ).all()
    return Principal(user_id=user.id, label=user.email, org_role=OrgRole(user.org_role),
                     security_team=any(sec for _, sec in rows), team_ids=frozenset(tid for tid, _ in rows))


def authenticate_token(session: Session, plaintext: str, *, now: datetime) -> Principal | None:
    """Return the principal for a valid, unrevoked token of an active user, else None."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    row = session.execute(
        sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_digest(plaintext))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_GRANULARITY:
        token.last_used_at = now
    return principal_for(session, user)
