"""Console pages for people: the user list (admins invite, change roles, deactivate) and a user's
contact methods and notification rules.

An invite link is shown once, in the answer to the POST that made it: only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.contacts import service as contacts
from tocsin.errors import InvalidInput
from tocsin.principal import STAFF_ROLES, OrgRole
from tocsin.users import service as users
from tocsin.users.service import list_users, require_user, update_user
from tocsin.web import sessions
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
ROLES = [r.value for r in STAFF_ROLES]


def _users_page(request: Request, ctx: WebCtx, s: Session, **extra: Any) -> Response:
    rows = sorted(list_users(s, limit=1000), key=lambda u: (not u.is_active, u.name.lower()))
    invites = sessions.list_invites(s, now=ctx.now) if ctx.principal.is_admin else []
    return render(request, ctx, "users.html", users=rows, invites=invites, roles=ROLES, **extra)


@router.get("/users")
def users_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        return _users_page(request, ctx, s)


@router.post("/users/invite")
def invite(request: Request, ctx: WebCtx = Depends(web_ctx),
           form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        inv, token = sessions.create_invite(s, actor=me, now=ctx.now, email=field(form, "email", max_len=320),
                                            name=field(form, "name", max_len=200),
                                            org_role=form.get("org_role", "responder"))
        link = f"{ctx.settings.resolved_public_url()}/invite/{token}"
        return _users_page(request, ctx, s, invite_link=link, invited=inv)


@router.post("/users/invites/{invite_id}/revoke")
def revoke_invite(invite_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    iid = parse_uuid(invite_id, "invitation")
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "revoking invitations")
        inv = sessions.require_open_invite(s, iid, now=ctx.now)
        sessions.revoke_invite(s, actor=me, now=ctx.now, invite=inv)
        email = inv.email
    return redirect("/users", f"Invitation for {email} revoked: its link no longer works")


@router.post("/users/invites/{invite_id}/resend")
def resend_invite(request: Request, invite_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    iid = parse_uuid(invite_id, "invitation")
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "inviting users")
        old = sessions.require_open_invite(s, iid, now=ctx.now)
        inv, token = sessions.resend_invite(s, actor=me, now=ctx.now, invite=old)
        link = f"{ctx.settings.resolved_public_url()}/invite/{token}"
        return _users_page(request, ctx, s, invite_link=link, invited=inv)


def _role(value: str) -> OrgRole:
    try:
        role = OrgRole(value)
        if role not in STAFF_ROLES:
            raise ValueError(value)
        return role
    except ValueError:
        raise InvalidInput("role must be admin, responder or viewer", details={"field": "org_role"}) from None


@router.post("/users/{user_id}/role")
def change_role(request: Request, user_id: str, ctx: WebCtx = Depends(web_ctx),
                form: dict[str, str] = Depends(csrf_form)) -> Response:
    uid = parse_uuid(user_id, "user")
    with ctx.work() as (s, me):
        user = require_user(s, uid)
        if user.id == me.user_id:
            raise InvalidInput("you cannot change your own role; ask another admin")
        update_user(s, actor=me, now=ctx.now, user=user, org_role=_role(form.get("org_role", "")))
        name = user.name
    return redirect("/users", f"Changed the role of {name}")


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: str, ctx: WebCtx = Depends(web_ctx),
               form: dict[str, str] = Depends(csrf_form)) -> Response:
    uid = parse_uuid(user_id, "user")
    active = form.get("active") == "true"
    with ctx.work() as (s, me):
        user = require_user(s, uid)
        users.set_active(s, actor=me, now=ctx.now, user=user, active=active)  # ends sessions and tokens
        name = user.name
    return redirect("/users", f"{name} is now {'active' if active else 'deactivated'}")


@router.get("/users/{user_id}")
def user_page(request: Request, user_id: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    uid = parse_uuid(user_id, "user")
    with ctx.work() as (s, me):
        user = require_user(s, uid)
        # Phone numbers and addresses are private: the person and admins see them (as in the API).
        private = me.is_admin or me.user_id == user.id
        if private:
            person = contacts.require_person(s, me, str(user.id))
            methods, rules = contacts.list_methods(s, person.id), contacts.list_rules(s, person.id)
        else:
            methods, rules = [], []
    by_id = {m.id: m for m in methods}
    return render(request, ctx, "user.html", person=user, private=private, methods=methods,
                  rules=[{"delay": r.delay_minutes, "urgency": r.urgency, "method": by_id.get(r.contact_method_id)}
                         for r in rules])
