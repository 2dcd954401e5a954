"""Who a verified ID token is in tocsin: find or (just in time) create the user, bind the subject, apply
the group mapping. The console's callback calls `sign_in` and starts a session for the user it returns.

Matching: a user bound to this `iss` + `sub` is that user, whatever email the token carries now;
otherwise the user with the token's email is bound at this first SSO login, unless it is bound to
another subject already (a provider account that later received someone else's address cannot take
over their tocsin account). With just-in-time creation off (the default) a token whose email has no
user is refused. A token whose `email_verified` is false is refused, and so is an email outside
`sso_email_domains` when that is set (a provider such as Google vouches for every account it has).

Mapping: with `sso_role_map` set, the user's org role follows their groups at every login (the
highest mapped role, else `sso_default_role`; an empty default refuses users in no mapped group).
Without a role map, existing users keep their role and new ones get the default. Membership of the
teams `sso_team_map` names (the security team among them) follows the groups; other teams are left
alone. Every login, refusal, creation and change is audited.

Guests: an outside responder's account (org role `guest`) is made only by an invitation; SSO refuses
it (a role map would otherwise make the guest staff), and the role map cannot name `guest`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.principal import OrgRole, Principal
from tocsin.sso import mapping
from tocsin.sso.models import SsoAccount
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User
from tocsin.users.service import create_user, get_user_by_email, normalise_email

log = logging.getLogger("tocsin.sso")


@dataclass(frozen=True)
class SignIn:
    """The user to start a session for, or None with the reason to show (and audit)."""

    user: User | None
    message: str = ""


def _name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    return (name or email.split("@")[0]).strip()[:200]


def _refuse(session: Session, *, now: datetime, issuer: str, subject: str, email: str, why: str,
            user: User | None = None) -> SignIn:
    actor = Principal(user_id=None, label=f"sso:{email or subject}"[:320], org_role=OrgRole.viewer)
    record(session, actor=actor, action="user.sso_refused", target_type="user" if user else "login",
           target_id=user.id if user else None, now=now,
           details={"issuer": issuer, "subject": subject, "email": email, "reason": why})
    return SignIn(None, why)


def account_of(session: Session, user_id: Any) -> SsoAccount | None:
    return session.get(SsoAccount, user_id)


def ensure_account(session: Session, user: User, *, now: datetime) -> SsoAccount:
    """The user's SSO row, made when missing."""
    account = session.get(SsoAccount, user.id)
    if account is None:
        account = SsoAccount(user_id=user.id, created_at=now, updated_at=now)
        session.add(account)
        session.flush()
    return account


def sign_in(session: Session, *, settings: Settings, claims: dict[str, Any], now: datetime) -> SignIn:
    """Return the user these verified claims log in as, or a refusal; audited either way."""
    issuer, subject = str(claims.get("iss", "")).rstrip("/"), str(claims.get("sub", ""))
    raw_email = claims.get(settings.sso_email_claim)
    try:
        email = normalise_email(raw_email) if isinstance(raw_email, str) else ""
    except InvalidInput:
        email = ""
    if not subject or len(subject) > 255:
        return _refuse(session, now=now, issuer=issuer, subject=subject[:255], email=email,
                       why="The identity provider sent no usable subject.")
    if not email:
        return _refuse(session, now=now, issuer=issuer, subject=subject, email="",
                       why=f"The identity provider sent no email address (claim {settings.sso_email_claim!r}).")
    domains = {d.strip().lower().lstrip("@") for d in settings.sso_email_domains.split(",") if d.strip()}
    if domains and email.rpartition("@")[2] not in domains:
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email,
                       why="Accounts of this email domain may not sign in to tocsin.")
    if claims.get("email_verified") is False:
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email,
                       why="The identity provider has not verified this email address.")
    groups = mapping.groups_of(claims.get(settings.sso_groups_claim))
    role_map = mapping.parse_role_map(settings.sso_role_map)
    decision = mapping.decide_role(groups, role_map, settings.sso_default_role)
    if decision.role is None:
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email,
                       why="Your account is not in a group that may use tocsin; ask an administrator.")

    bound = session.execute(sa.select(SsoAccount).where(SsoAccount.oidc_issuer == issuer,
                                                        SsoAccount.oidc_subject == subject)).scalar_one_or_none()
    user = session.get(User, bound.user_id) if bound is not None else get_user_by_email(session, email)
    system = Principal(user_id=None, label=f"sso:{issuer}"[:320], org_role=OrgRole.admin)
    if user is None:
        if not settings.sso_jit:
            return _refuse(session, now=now, issuer=issuer, subject=subject, email=email,
                           why="There is no tocsin account for this email address; ask an administrator.")
        user = create_user(session, actor=system, now=now, email=email, name=_name(claims, email),
                           org_role=decision.role)
        record(session, actor=system, action="user.sso_jit_create", target_type="user", target_id=user.id, now=now,
               details={"email": email, "org_role": decision.role.value, "because": decision.reason})
    if user.org_role == OrgRole.guest.value:  # only an invitation makes a guest, and no login changes one
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email, user=user,
                       why="This is an outside responder's account: sign in with the password of its invitation.")
    account = ensure_account(session, user, now=now)
    if account.oidc_subject is not None and (account.oidc_issuer, account.oidc_subject) != (issuer, subject):
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email, user=user,
                       why="This tocsin account is linked to another identity at the provider.")
    if not user.is_active or account.scim_deleted_at is not None:
        return _refuse(session, now=now, issuer=issuer, subject=subject, email=email, user=user,
                       why="This tocsin account is deactivated.")
    if account.oidc_subject is None:
        account.oidc_issuer, account.oidc_subject, account.updated_at = issuer, subject, now
    changes: dict[str, Any] = {}
    if role_map and decision.role.value != user.org_role:
        changes["org_role"] = {"from": user.org_role, "to": decision.role.value, "because": decision.reason}
        user.org_role = decision.role.value
    changes.update(_sync_teams(session, user, groups, settings))
    if changes:
        record(session, actor=system, action="user.sso_sync", target_type="user", target_id=user.id, now=now,
               details=changes)
    me = Principal(user_id=user.id, label=user.email, org_role=OrgRole(user.org_role))
    record(session, actor=me, action="user.sso_login", target_type="user", target_id=user.id, now=now,
           details={"issuer": issuer, "subject": subject, "role": decision.reason})
    return SignIn(user)


def _sync_teams(session: Session, user: User, groups: list[str], settings: Settings) -> dict[str, Any]:
    team_map = mapping.parse_pairs(settings.sso_team_map, what="sso_team_map")
    if not team_map:
        return {}
    decision = mapping.decide_teams(groups, team_map)
    slugs = decision.join | decision.leave
    teams = {t.slug: t for t in session.execute(sa.select(Team).where(Team.slug.in_(slugs))).scalars()}
    for slug in sorted(slugs - set(teams)):
        log.warning("sso_team_map names team %r, which does not exist", slug)
    held = set(session.execute(sa.select(TeamMember.team_id).where(TeamMember.user_id == user.id)).scalars())
    joined = [t for s, t in sorted(teams.items()) if s in decision.join and t.id not in held]
    left = [t for s, t in sorted(teams.items()) if s in decision.leave and t.id in held]
    for team in joined:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    if left:
        session.execute(sa.delete(TeamMember).where(TeamMember.user_id == user.id,
                                                    TeamMember.team_id.in_([t.id for t in left])))
    session.flush()
    out: dict[str, Any] = {}
    if joined:
        out["teams_joined"] = [t.slug for t in joined]
    if left:
        out["teams_left"] = [t.slug for t in left]
    return out
