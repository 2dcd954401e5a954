"""API shapes for users and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.principal import OrgRole
from tocsin.schemas import Name, Out, StrictIn


class UserIn(StrictIn):
    email: str = Field(min_length=3, max_length=320)
    name: Name
    org_role: OrgRole = OrgRole.responder
    password: str | None = Field(None, min_length=8, max_length=1024)
    time_zone: str = Field("UTC", min_length=1, max_length=64)


class UserPatch(StrictIn):
    name: Name | None = None
    org_role: OrgRole | None = None
    is_active: bool | None = Field(None, description="Admins only. Deactivating ends the user's console sessions "
                                                     "and revokes their API tokens, for good")
    password: str | None = Field(None, min_length=8, max_length=1024,
                                 description="Your own: needs current_password, and ends your console sessions. "
                                             "Someone else's (admins): a reset, audited, ending their sessions")
    current_password: str | None = Field(None, max_length=1024,
                                         description="Your current password, to change your own")
    time_zone: str | None = Field(None, min_length=1, max_length=64)
    handoff_notices: bool | None = Field(None, description="\"You go on call in 1 hour\" and \"you are now off "
                                                           "call\" notices (docs/oncall.md)")


class UserOut(Out):
    id: uuid.UUID
    email: str
    name: str
    org_role: OrgRole
    time_zone: str
    is_active: bool
    created_at: datetime
    handoff_notices: bool = True


class UserRef(Out):
    id: uuid.UUID
    name: str
    email: str


class TokenIn(StrictIn):
    name: str = Field("api", min_length=1, max_length=200)
    user: str | None = Field(None, max_length=320, description="User id or email (admins only); default: yourself")


class TokenOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself. Shown only in this response; tocsin stores a hash.")
