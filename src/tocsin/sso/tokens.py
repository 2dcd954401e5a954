"""SCIM bearer tokens: made and revoked by an admin (console or CLI), checked on every SCIM request.

A token is `scim_` + 43 url-safe characters (256 random bits), shown once; the database keeps its
SHA-256, so a request finds its token by an indexed equality lookup. `last_used_at` is written at
most once a minute per token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import InvalidInput, NotFound
from tocsin.principal import OrgRole, Principal
from tocsin.sso.models import ScimToken

PREFIX = "scim_"
_LAST_USED_GRANULARITY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, *, actor: Principal, now: datetime, name: str) -> tuple[ScimToken, str]:
    """Make a SCIM token (admin); return the row and the plaintext, which is never stored."""
    actor.require(OrgRole.admin, "making SCIM tokens")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name the token (1 to 200 characters), e.g. after the identity provider",
                           details={"field": "name"})
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(name=name, token_hash=_digest(plaintext), prefix=plaintext[:10], created_by=actor.label,
                      created_at=now)
    session.add(token)
    session.flush()
    record(session, actor=actor, action="scim.token_create", target_type="scim_token", target_id=token.id, now=now,
           details={"name": name, "prefix": token.prefix})
    return token, plaintext


def list_tokens(session: Session) -> list[ScimToken]:
    return list(session.execute(sa.select(ScimToken).order_by(ScimToken.created_at, ScimToken.id)).scalars())


def revoke_token(session: Session, *, actor: Principal, now: datetime, token_id: uuid.UUID | str) -> ScimToken:
    """Revoke a SCIM token (admin) by id or prefix; it stops working on the next request. NotFound otherwise."""
    actor.require(OrgRole.admin, "revoking SCIM tokens")
    token = None
    try:
        token = session.get(ScimToken, token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(token_id))
    except ValueError:
        rows = list(session.execute(sa.select(ScimToken).where(ScimToken.prefix == str(token_id))).scalars())
        token = rows[0] if len(rows) == 1 else None
    if token is None:
        raise NotFound(f"no SCIM token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, actor=actor, action="scim.token_revoke", target_type="scim_token", target_id=token.id,
               now=now, details={"name": token.name, "prefix": token.prefix})
    return token


def authenticate(session: Session, plaintext: str | None, *, now: datetime) -> Principal | None:
    """The principal SCIM changes are made and audited as (`scim:<token name>`), or None for a missing,
    unknown or revoked token. The identity provider administers people, so it acts as an admin."""
    if not plaintext or not plaintext.startswith(PREFIX) or len(plaintext) > 200:
        return None
    token = session.execute(sa.select(ScimToken).where(ScimToken.token_hash == _digest(plaintext))).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_GRANULARITY:
        token.last_used_at = now
    return Principal(user_id=None, label=f"scim:{token.name}", org_role=OrgRole.admin)
