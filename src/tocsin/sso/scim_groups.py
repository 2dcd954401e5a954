"""SCIM 2.0 Groups: the identity provider's groups as tocsin teams, membership included.

A SCIM Group is a team: `id` is the team id, `displayName` its name, `members` its users. Pushing a
group's members into the security team (a team with `is_security`) gives them the security role's
view of restricted incidents, and taking them out ends it at their next request (membership is read
per request). DELETE empties the team rather than deleting it, because services, schedules and
escalation policies may refer to it; nobody keeps access through it. Membership changes go through
`teams.service.set_members` (audited as `team.members`, by `scim:<token name>`).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.errors import Conflict, InvalidInput
from tocsin.principal import Principal
from tocsin.sso.scim import MAX_COUNT, MAX_START, ScimError
from tocsin.teams.models import Team, TeamMember
from tocsin.teams.service import create_team, member_ids, set_members, update_team
from tocsin.users.models import User

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_FILTER = re.compile(r'^\s*displayName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_MEMBER_PATH = re.compile(r'^\s*members\s*\[\s*value\s+eq\s+"([^"]*)"\s*\]\s*$', re.IGNORECASE)


def resource(session: Session, team: Team, base_url: str) -> dict[str, Any]:
    rows = session.execute(sa.select(User.id, User.email).join(TeamMember, TeamMember.user_id == User.id)
                           .where(TeamMember.team_id == team.id).order_by(User.email)).all()
    return {"schemas": [GROUP_SCHEMA], "id": str(team.id), "displayName": team.name,
            "members": [{"value": str(uid), "display": email, "type": "User"} for uid, email in rows],
            "meta": {"resourceType": "Group", "created": team.created_at.isoformat().replace("+00:00", "Z"),
                     "location": f"{base_url}/scim/v2/Groups/{team.id}"}}


def require(session: Session, group_id: str) -> Team:
    try:
        team = session.get(Team, uuid.UUID(group_id))
    except ValueError:
        team = None
    if team is None:
        raise ScimError(404, f"no Group {group_id[:64]}")
    return team


def list_groups(session: Session, *, filter_text: str | None, start_index: int, count: int) -> tuple[int, list[Team]]:
    stmt = sa.select(Team)
    if filter_text:
        match = _FILTER.match(filter_text)
        if match is None or "\x00" in match.group(1):
            raise ScimError(400, 'the filter supported is displayName eq "..."', "invalidFilter")
        stmt = stmt.where(Team.name == re.sub(r"\\(.)", r"\1", match.group(1)))
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    start_index, count = min(max(start_index, 1), MAX_START), min(max(count, 0), MAX_COUNT)
    teams = list(session.execute(stmt.order_by(Team.id).offset(start_index - 1).limit(count)).scalars()) if count else []
    return total, teams


def _users(session: Session, members: Any) -> list[User]:
    if not isinstance(members, list):
        raise ScimError(400, "members must be a list of {\"value\": user id}", "invalidValue")
    ids = []
    for m in members:
        try:
            ids.append(uuid.UUID(str(m["value"])))
        except (TypeError, KeyError, ValueError):
            raise ScimError(400, "each member needs the value of a User id", "invalidValue") from None
    found = list(session.execute(sa.select(User).where(User.id.in_(ids))).scalars()) if ids else []
    if len({u.id for u in found}) != len(set(ids)):
        raise ScimError(400, "a member is not a User of this tocsin", "invalidValue")
    return found


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or any(ord(c) < 0x20 for c in value):
        raise ScimError(400, "displayName must be 1 to 200 characters", "invalidValue")
    return value.strip()


def _body(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return value


def create(session: Session, *, actor: Principal, now: datetime, body: Any) -> Team:
    body = _body(body)
    name = _name(body.get("displayName"))
    try:
        team = create_team(session, actor=actor, now=now, name=name)
    except Conflict:
        raise ScimError(409, f"a team like {name!r} exists", "uniqueness") from None
    except InvalidInput as exc:
        raise ScimError(400, exc.message, "invalidValue") from None
    set_members(session, actor=actor, now=now, team=team, users=_users(session, body.get("members", [])))
    return team


def replace(session: Session, *, actor: Principal, now: datetime, group_id: str, body: Any) -> Team:
    body = _body(body)
    team = require(session, group_id)
    update_team(session, actor=actor, now=now, team=team, name=_name(body.get("displayName")))
    set_members(session, actor=actor, now=now, team=team, users=_users(session, body.get("members", [])))
    return team


def patch(session: Session, *, actor: Principal, now: datetime, group_id: str, body: Any) -> Team:
    """add/remove/replace of `members` (with a `members[value eq "id"]` path for one) and `displayName`."""
    operations = _body(body).get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list", "invalidSyntax")
    team = require(session, group_id)
    members = set(member_ids(session, team.id))
    for op in operations:
        kind = str(op.get("op", "")).lower() if isinstance(op, dict) else ""
        if kind not in ("add", "remove", "replace"):
            raise ScimError(400, "each operation needs op add, replace or remove", "invalidSyntax")
        path, value = op.get("path"), op.get("value")
        if path is None and isinstance(value, dict):  # {"op": "replace", "value": {"displayName": ...}}
            if "displayName" in value:
                update_team(session, actor=actor, now=now, team=team, name=_name(value["displayName"]))
            if "members" in value:
                members = {u.id for u in _users(session, value["members"])}
            continue
        if not isinstance(path, str):
            raise ScimError(400, "path must be a string", "invalidPath")
        one = _MEMBER_PATH.match(path)
        if path.lower() == "displayname" and kind != "remove":
            update_team(session, actor=actor, now=now, team=team, name=_name(value))
        elif path.lower() == "members":
            given = {u.id for u in _users(session, value if value is not None else [])}
            members = (members | given if kind == "add" else given if kind == "replace"
                       else members - given if value is not None else set())
        elif one is not None and kind == "remove":
            members -= {u.id for u in _users(session, [{"value": one.group(1)}])}
        else:
            raise ScimError(400, f"cannot {kind} {path[:64]} of a Group", "invalidPath")
    users = list(session.execute(sa.select(User).where(User.id.in_(members))).scalars()) if members else []
    set_members(session, actor=actor, now=now, team=team, users=users)
    return team


def delete(session: Session, *, actor: Principal, now: datetime, group_id: str) -> None:
    """Empty the team (it stays: services and policies may name it)."""
    team = require(session, group_id)
    set_members(session, actor=actor, now=now, team=team, users=[])
