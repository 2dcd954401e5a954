"""SCIM 2.0 Users (RFC 7643/7644): the identity provider creates, changes, deactivates and deletes people.

A SCIM User is a tocsin user: `id` is the user's id, `userName` their email (lower-cased),
`active` their `is_active`. Deactivating (`active: false` by PUT or PATCH) goes through
`users.service.set_active`, which ends every console session and revokes every API token in the
same transaction, and the session and token checks read `is_active` on every request, so access
ends at the next request. DELETE does the same and hides the user from SCIM (404 afterwards); the
row stays, because incidents, timelines and the audit chain name it. Creating a deleted user's
userName again brings that user back (active, with no old session or token).

Errors are `ScimError`s with the status and `scimType` the RFC names; the API edge answers them in
the SCIM error schema. Attributes tocsin does not keep (title, phone numbers, the enterprise
extension) are accepted and ignored, as identity providers send them unasked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import InvalidInput
from tocsin.principal import OrgRole, Principal
from tocsin.sso.accounts import ensure_account
from tocsin.sso.models import SsoAccount
from tocsin.users.models import User
from tocsin.users.service import create_user, get_user_by_email, normalise_email, set_active

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_COUNT = 200
MAX_START = 1_000_000_000  # far past any directory; a bigger offset overflows SQLite's integer
_FILTER = re.compile(r'^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class ScimError(Exception):
    """A SCIM error answer: HTTP status, optional scimType (RFC 7644 §3.12) and a detail to show."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            out["scimType"] = self.scim_type
        return out


def resource(user: User, account: SsoAccount | None, base_url: str) -> dict[str, Any]:
    """The SCIM User representation of `user`."""
    out: dict[str, Any] = {
        "schemas": [USER_SCHEMA], "id": str(user.id), "userName": user.email, "displayName": user.name,
        "name": {"formatted": user.name}, "emails": [{"value": user.email, "primary": True, "type": "work"}],
        "active": bool(user.is_active),
        "meta": {"resourceType": "User", "created": user.created_at.isoformat().replace("+00:00", "Z"),
                 "lastModified": (account.updated_at if account else user.created_at).isoformat().replace("+00:00", "Z"),
                 "location": f"{base_url}/scim/v2/Users/{user.id}"},
    }
    if account is not None and account.external_id:
        out["externalId"] = account.external_id
    return out


def _visible() -> Any:
    return sa.select(User, SsoAccount).outerjoin(SsoAccount, SsoAccount.user_id == User.id).where(
        SsoAccount.scim_deleted_at.is_(None))


def require(session: Session, user_id: str) -> tuple[User, SsoAccount | None]:
    """The user and their SSO row; ScimError 404 for an unknown, malformed or SCIM-deleted id."""
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        raise ScimError(404, f"no User {user_id[:64]}") from None
    row = session.execute(_visible().where(User.id == key)).first()
    if row is None:
        raise ScimError(404, f"no User {user_id[:64]}")
    return row[0], row[1]


@dataclass(frozen=True)
class Listing:
    total: int
    start_index: int
    users: list[tuple[User, SsoAccount | None]]


def list_users(session: Session, *, filter_text: str | None, start_index: int, count: int) -> Listing:
    """Users in id order, `filter` `userName eq "..."` or `externalId eq "..."` (RFC 7644 §3.4.2.2)."""
    stmt = _visible()
    if filter_text:
        match = _FILTER.match(filter_text)
        if match is None:
            raise ScimError(400, 'filters supported: userName eq "..." and externalId eq "..."', "invalidFilter")
        attribute, value = match.group(1).lower(), re.sub(r"\\(.)", r"\1", match.group(2))
        if "\x00" in value:
            raise ScimError(400, "the filter's value must not contain NUL", "invalidFilter")
        if attribute == "username":
            stmt = stmt.where(User.email == value.strip().lower())
        else:
            stmt = stmt.where(SsoAccount.external_id == value)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    start_index, count = min(max(start_index, 1), MAX_START), min(max(count, 0), MAX_COUNT)
    rows = session.execute(stmt.order_by(User.id).offset(start_index - 1).limit(count)).all() if count else []
    return Listing(total=total, start_index=start_index, users=[(u, a) for u, a in rows])


# --- reading a User body ------------------------------------------------------------------------------

def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):  # Azure AD sends "False"
        return value.strip().lower() == "true"
    raise ScimError(400, f"{field} must be true or false", "invalidValue")


def _str(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ScimError(400, f"{field} must be a string of at most {limit} characters", "invalidValue")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):  # NUL cannot be stored; no field needs controls
        raise ScimError(400, f"{field} must not contain control characters", "invalidValue")
    return value.strip()


def _email(value: Any) -> str:
    try:
        return normalise_email(_str(value, "userName", 320))
    except InvalidInput:
        raise ScimError(400, "userName must be the person's email address", "invalidValue") from None


def _primary_email(emails: Any) -> str | None:
    if not isinstance(emails, list):
        return None
    values = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    chosen = next((e for e in values if e.get("primary") in (True, "true", "True")), values[0] if values else None)
    return chosen["value"] if chosen else None


def _display_name(body: dict[str, Any]) -> str | None:
    if isinstance(body.get("displayName"), str) and body["displayName"].strip():
        return _str(body["displayName"], "displayName", 200)
    name = body.get("name")
    if isinstance(name, dict):
        if isinstance(name.get("formatted"), str) and name["formatted"].strip():
            return _str(name["formatted"], "name.formatted", 200)
        parts = [name.get("givenName"), name.get("familyName")]
        joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if joined:
            return joined[:200]
    return None


@dataclass
class _Fields:
    email: str | None = None
    name: str | None = None
    active: bool | None = None
    external_id: str | None = None
    clear_external_id: bool = False


def _fields(body: dict[str, Any], *, full: bool) -> _Fields:
    """The attributes tocsin keeps, read from a full (POST/PUT) or partial (PATCH without path) body."""
    out = _Fields()
    if "userName" in body:
        try:
            out.email = _email(body["userName"])
        except ScimError:  # a userName that is not an email (an employee number): the primary email then
            primary = _primary_email(body.get("emails"))
            if primary is None:
                raise
            out.email = _email(primary)
    elif full:
        raise ScimError(400, "userName is required", "invalidValue")
    out.name = _display_name(body)
    if "active" in body:
        out.active = _bool(body["active"], "active")
    if "externalId" in body:
        if body["externalId"] is None:
            out.clear_external_id = True
        else:
            out.external_id = _str(body["externalId"], "externalId", 255)
    return out


def _body(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return value


# --- writing ------------------------------------------------------------------------------------------

def _apply(session: Session, *, actor: Principal, now: datetime, user: User, account: SsoAccount, fields: _Fields,
           action: str) -> None:
    changes: dict[str, Any] = {}
    if fields.email is not None and fields.email != user.email:
        other = get_user_by_email(session, fields.email)
        if other is not None and other.id != user.id:
            raise ScimError(409, f"another user has userName {fields.email}", "uniqueness")
        changes["email"] = {"from": user.email, "to": fields.email}
        user.email = fields.email
    if fields.name is not None and fields.name and fields.name != user.name:
        changes["name"] = fields.name
        user.name = fields.name
    if fields.clear_external_id and account.external_id is not None:
        account.external_id = changes["externalId"] = None
    elif fields.external_id is not None and fields.external_id != account.external_id:
        account.external_id = changes["externalId"] = fields.external_id
    account.updated_at = now
    if changes:
        session.flush()
        record(session, actor=actor, action=action, target_type="user", target_id=user.id, now=now, details=changes)
    if fields.active is not None:
        set_active(session, actor=actor, now=now, user=user, active=fields.active)


def create(session: Session, *, actor: Principal, now: datetime, body: Any, default_role: str) -> User:
    """POST /Users: a new user (role `default_role`, no password: they log in by SSO); 409 if the
    userName is taken by a visible user. A SCIM-deleted user with that userName comes back."""
    fields = _fields(_body(body), full=True)
    assert fields.email is not None
    existing = get_user_by_email(session, fields.email)
    if existing is not None:
        account = ensure_account(session, existing, now=now)
        if account.scim_deleted_at is None:
            raise ScimError(409, f"a user with userName {fields.email} exists", "uniqueness")
        account.scim_deleted_at = None
        if fields.active is None:
            fields.active = True
        _apply(session, actor=actor, now=now, user=existing, account=account, fields=fields, action="scim.user_restore")
        return existing
    user = create_user(session, actor=actor, now=now, email=fields.email, name=fields.name or fields.email.split("@")[0],
                       org_role=OrgRole(default_role or "viewer"))
    account = ensure_account(session, user, now=now)
    account.external_id = fields.external_id
    if fields.active is False:
        set_active(session, actor=actor, now=now, user=user, active=False)
    return user


def replace(session: Session, *, actor: Principal, now: datetime, user_id: str, body: Any) -> User:
    """PUT /Users/{id}: the attributes tocsin keeps take the body's values."""
    user, _ = require(session, user_id)
    account = ensure_account(session, user, now=now)
    fields = _fields(_body(body), full=True)
    if fields.external_id is None:
        fields.clear_external_id = True
    _apply(session, actor=actor, now=now, user=user, account=account, fields=fields, action="scim.user_replace")
    return user


_PATHS = {"active": "active", "username": "userName", "displayname": "displayName", "externalid": "externalId",
          "name.formatted": "name.formatted", "name.givenname": "name.givenName", "name.familyname": "name.familyName"}


def patch(session: Session, *, actor: Principal, now: datetime, user_id: str, body: Any) -> User:
    """PATCH /Users/{id} (RFC 7644 §3.5.2): add/replace/remove operations, with or without a path, as Okta
    (`{"op": "replace", "value": {"active": false}}`) and Azure AD (`{"op": "Replace", "path": "active",
    "value": "False"}`) send them."""
    body = _body(body)
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list", "invalidSyntax")
    user, _ = require(session, user_id)
    account = ensure_account(session, user, now=now)
    merged: dict[str, Any] = {}
    names: dict[str, Any] = {}
    for op in operations:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() not in ("add", "replace", "remove"):
            raise ScimError(400, "each operation needs op add, replace or remove", "invalidSyntax")
        kind, path, value = str(op["op"]).lower(), op.get("path"), op.get("value")
        if path is None:
            if kind == "remove" or not isinstance(value, dict):
                raise ScimError(400, "an operation without a path needs an object value", "invalidValue")
            for key, item in value.items():
                attr = _PATHS.get(str(key).lower())
                if attr and attr.startswith("name."):
                    names[attr[5:]] = item
                elif attr:
                    merged[attr] = item
                elif str(key).lower() == "name" and isinstance(item, dict):
                    names.update(item)
            continue
        if not isinstance(path, str):
            raise ScimError(400, "path must be a string", "invalidPath")
        attr = _PATHS.get(path.lower())
        if attr is None:
            continue  # an attribute tocsin does not keep
        if kind == "remove":
            if attr == "externalId":
                merged["externalId"] = None
                continue
            raise ScimError(400, f"{attr} cannot be removed", "mutability")
        if attr.startswith("name."):
            names[attr[5:]] = value
        else:
            merged[attr] = value
    if names:
        merged["name"] = names
    fields = _fields(merged, full=False)
    _apply(session, actor=actor, now=now, user=user, account=account, fields=fields, action="scim.user_patch")
    return user


def delete(session: Session, *, actor: Principal, now: datetime, user_id: str) -> None:
    """DELETE /Users/{id}: deactivate (sessions end, tokens are revoked) and hide from SCIM."""
    user, _ = require(session, user_id)
    account = ensure_account(session, user, now=now)
    set_active(session, actor=actor, now=now, user=user, active=False)
    account.scim_deleted_at = account.updated_at = now
    record(session, actor=actor, action="scim.user_delete", target_type="user", target_id=user.id, now=now,
           details={"email": user.email})
