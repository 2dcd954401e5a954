"""Chat users linked to tocsin users. A chat user acts in tocsin as exactly the user it is linked to,
with that user's role, teams and need-to-know. A link is made by the workspace's verified email (the
chat platform's profile email equals the tocsin user's) or by a one-time link: the chat user asks for
one, opens it while signed in to tocsin, and confirms (`link_token` / `read_link_token`). Guests and
deactivated users never act through chat."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.chatops.models import ChatAccount
from tocsin.keys import derived_secret
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User
from tocsin.users.service import get_user_by_email, principal_for

LINK_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class ChatIdentity:
    """Who did something on a chat platform: the workspace (Slack team, Mattermost team) and the user."""

    platform: str
    team_id: str
    external_id: str


def _usable(user: User | None) -> User | None:
    if user is None or not user.is_active or user.org_role == OrgRole.guest.value:
        return None
    return user


def find_user(s: Session, who: ChatIdentity) -> User | None:
    """The active, non-guest tocsin user `who` is linked to, if any."""
    user_id = s.execute(sa.select(ChatAccount.user_id).where(
        ChatAccount.platform == who.platform, ChatAccount.team_id == who.team_id,
        ChatAccount.external_id == who.external_id)).scalar_one_or_none()
    return _usable(s.get(User, user_id)) if user_id is not None else None


def principal_of(s: Session, who: ChatIdentity) -> Principal | None:
    user = find_user(s, who)
    return principal_for(s, user) if user is not None else None


def _account(s: Session, who: ChatIdentity) -> ChatAccount | None:
    return s.execute(sa.select(ChatAccount).where(
        ChatAccount.platform == who.platform, ChatAccount.team_id == who.team_id,
        ChatAccount.external_id == who.external_id)).scalar_one_or_none()


def link(s: Session, who: ChatIdentity, *, user: User, via: str, now: datetime,
         actor: Principal | None = None) -> ChatAccount:
    """Link `who` to `user` (replacing an earlier link of the same chat user); audited as `actor` (default:
    the user linked; a caller who named them, e.g. `role scribe @bob`, when that linked them). Two requests
    of one chat user linking at once (two clicks, a platform's retry) both succeed: the insert runs
    in a savepoint, and the one that loses the unique constraint updates the winner's row."""
    row = _account(s, who)
    if row is None:
        try:
            with s.begin_nested():
                row = ChatAccount(platform=who.platform, team_id=who.team_id, external_id=who.external_id,
                                  user_id=user.id, linked_via=via, linked_at=now)
                s.add(row)
        except IntegrityError:
            row = _account(s, who)
            if row is None:
                raise
            row.user_id, row.linked_via, row.linked_at = user.id, via, now
    else:
        row.user_id, row.linked_via, row.linked_at = user.id, via, now
    s.flush()
    actor = actor or Principal(user_id=user.id, label=user.email, org_role=OrgRole(user.org_role))
    record(s, actor=actor, action="chat.account_linked", target_type="user", target_id=user.id, now=now,
           details={"platform": who.platform, "team": who.team_id, "chat_user": who.external_id, "via": via})
    return row


def link_by_email(s: Session, who: ChatIdentity, *, email: str | None, now: datetime,
                  actor: Principal | None = None) -> User | None:
    """Link `who` to the active tocsin user with the platform's verified `email`, if there is one."""
    user = _usable(get_user_by_email(s, email)) if email else None
    if user is None:
        return None
    link(s, who, user=user, via="email", now=now, actor=actor)
    return user


def unlink(s: Session, *, account: ChatAccount, actor: Principal, now: datetime) -> None:
    s.delete(account)
    s.flush()
    record(s, actor=actor, action="chat.account_unlinked", target_type="user", target_id=account.user_id, now=now,
           details={"platform": account.platform, "chat_user": account.external_id})


def accounts_of(s: Session, user_id: uuid.UUID) -> list[ChatAccount]:
    return list(s.execute(sa.select(ChatAccount).where(ChatAccount.user_id == user_id)
                          .order_by(ChatAccount.linked_at)).scalars())


def chat_ids(s: Session, *, platform: str, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The linked chat user of each tocsin user on `platform` (the newest link wins)."""
    if not user_ids:
        return {}
    rows = s.execute(sa.select(ChatAccount.user_id, ChatAccount.external_id).where(
        ChatAccount.platform == platform, ChatAccount.user_id.in_(user_ids)).order_by(ChatAccount.linked_at)).all()
    return {user_id: external for user_id, external in rows}


# -- the one-time link: signed, short-lived, names the chat identity it links -----------------------

def _mac(server_key: str, body: str) -> str:
    return derived_secret(server_key, "chat-link", body)[:32]


def link_token(server_key: str, who: ChatIdentity, *, now: datetime) -> str:
    body = base64.urlsafe_b64encode(json.dumps(
        [who.platform, who.team_id, who.external_id, int((now + LINK_TTL).timestamp())]).encode()).decode().rstrip("=")
    return f"{body}.{_mac(server_key, body)}"


def read_link_token(server_key: str, token: str, *, now: datetime) -> ChatIdentity | None:
    """The identity a valid, unexpired link token names; None for anything else."""
    body, _, mac = token.partition(".")
    if not body or len(token) > 1000 or not hmac.compare_digest(mac.encode(), _mac(server_key, body).encode()):
        return None
    try:
        platform, team_id, external_id, expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    if not all(isinstance(x, str) for x in (platform, team_id, external_id)) or not isinstance(expires, int):
        return None
    if len(platform) > 16 or len(team_id) > 64 or not 0 < len(external_id) <= 64:  # what chat_accounts holds
        return None
    if now.timestamp() > expires:
        return None
    return ChatIdentity(platform, team_id, external_id)


def token_fingerprint(token: str) -> str:
    """What a used link token is remembered by (chat_receipts), so it links once."""
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:40]
