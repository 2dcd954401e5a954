"""The user's own page: name and time zone, password, contact methods and API tokens.

A new API token is shown once, in the answer to the POST that made it. Changing the password
needs the current one and ends the user's other console sessions (this one stays).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.contacts import service as contacts
from tocsin.contacts.models import TYPES
from tocsin.errors import InvalidInput, NotFound
from tocsin.net.policy import user_policy
from tocsin.users.service import (
    change_own_password,
    create_token,
    list_tokens,
    require_token,
    require_user,
    revoke_token,
    update_user,
)
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"]


def _me_page(request: Request, ctx: WebCtx, s: Session, status_code: int = 200, **extra: Any) -> Response:
    me = require_user(s, ctx.user.id)
    return render(request, ctx, "me.html", status_code=status_code, me=me, methods=contacts.list_methods(s, me.id),
                  tokens=list_tokens(s, user_id=me.id), types=TYPES, zones=ZONES, **extra)


@router.get("/me")
def me_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        return _me_page(request, ctx, s)


@router.post("/me/profile")
def profile(request: Request, ctx: WebCtx = Depends(web_ctx),
            form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        update_user(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id),
                    name=field(form, "name", max_len=200), time_zone=field(form, "time_zone", max_len=64))
    return redirect("/me", "Profile saved")


@router.post("/me/password")
def password(request: Request, ctx: WebCtx = Depends(web_ctx),
             form: dict[str, str] = Depends(csrf_form)) -> Response:
    current, new = form.get("current_password", ""), form.get("new_password", "")
    if len(new) > 1024:
        raise InvalidInput("the new password is too long (at most 1024 characters)", details={"field": "new_password"})
    if new != form.get("confirm_password", new):
        raise InvalidInput("the new passwords differ", details={"field": "confirm_password"})
    with ctx.work() as (s, me):
        ended = change_own_password(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id),
                                    current_password=current, new_password=new, keep_session=ctx.session_id)
    return redirect("/me", f"Password changed; {ended} other session{'s' if ended != 1 else ''} logged out")


@router.post("/me/contacts")
def add_contact(request: Request, ctx: WebCtx = Depends(web_ctx),
                form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        contacts.create_method(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id),
                               type=field(form, "type", max_len=16), address=field(form, "address", max_len=1000),
                               label=form.get("label", "")[:200], policy=user_policy(ctx.settings))
    return redirect("/me", "Contact method added")


@router.post("/me/contacts/{method_id}/delete")
def remove_contact(request: Request, method_id: str, ctx: WebCtx = Depends(web_ctx),
                   _form: dict[str, str] = Depends(csrf_form)) -> Response:
    mid = parse_uuid(method_id, "contact method")
    with ctx.work() as (s, me):
        method = contacts.require_method(s, me, mid)
        if method.user_id != ctx.user.id:
            raise NotFound(f"no contact method {mid}")
        contacts.delete_method(s, actor=me, now=ctx.now, method=method)
    return redirect("/me", "Contact method removed")


@router.post("/me/tokens")
def new_token(request: Request, ctx: WebCtx = Depends(web_ctx),
              form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        row, plaintext = create_token(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id),
                                      name=field(form, "name", max_len=200))
        return _me_page(request, ctx, s, new_token=plaintext, new_token_name=row.name)


@router.post("/me/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: str, ctx: WebCtx = Depends(web_ctx),
           _form: dict[str, str] = Depends(csrf_form)) -> Response:
    tid = parse_uuid(token_id, "token")
    with ctx.work() as (s, me):
        token = require_token(s, tid)
        if token.user_id != ctx.user.id:
            raise NotFound(f"no token {tid}")
        revoke_token(s, actor=me, now=ctx.now, token=token)
    return redirect("/me", "Token revoked")
