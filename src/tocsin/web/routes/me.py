"""The user's own page: name and time zone, password, API tokens, and everything about being
paged: contact methods (added, verified in the page with a code, tested, removed), notification
rules, the hand-off notices switch, the pages sent to them and their open action items, and their
linked chat accounts (unlinked in web/routes/chat_pages.py).

A new API token is shown once, in the answer to the POST that made it. Changing the password
needs the current one and ends the user's other console sessions (this one stays). Codes and
test messages are sent after the transaction that issued them commits (`contacts.direct`), as
the API does. What the page shows about paging is gathered in `web/me_view.py`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.contacts import direct
from tocsin.contacts import service as contacts
from tocsin.contacts.models import TYPES, ContactMethod
from tocsin.errors import InvalidInput, NotFound
from tocsin.net.policy import user_policy
from tocsin.notify import push_subscription
from tocsin.users.service import (
    change_own_password,
    create_token,
    list_tokens,
    require_token,
    require_user,
    revoke_token,
    update_user,
)
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx, csrf_form, web_ctx
from tocsin.web.chat_view import account_rows
from tocsin.web.me_view import paging_view
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"]


def _me_page(request: Request, ctx: WebCtx, s: Session, status_code: int = 200, **extra: Any) -> Response:
    me = require_user(s, ctx.user.id)
    return render(request, ctx, "me.html", status_code=status_code, me=me, tokens=list_tokens(s, user_id=me.id),
                  types=TYPES, zones=ZONES, chat_accounts=account_rows(s, me.id), **paging_view(s, ctx, me),
                  **extra)


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


# --- contact methods: verify, test ------------------------------------------------------------------

def _own_method(s: Session, ctx: WebCtx, method_id: str) -> ContactMethod:
    """The viewer's own method (an admin sees others' methods on /users/<id>, not here)."""
    mid = parse_uuid(method_id, "contact method")
    method = contacts.require_method(s, ctx.principal, mid)
    if method.user_id != ctx.user.id:
        raise NotFound(f"no contact method {mid}")
    return method


@router.post("/me/contacts/{method_id}/send-code")
def send_code(request: Request, method_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        method = _own_method(s, ctx, method_id)
        code = contacts.new_code(s, actor=me, now=ctx.now, method=method)
        target = direct.Target.of(method)
    sent = direct.send_code(ctx.settings, ctx.clock, target, code, now=ctx.now)
    if not sent.sent:
        return redirect(f"/me#method-{target.id}", f"The code could not be sent to {_shown(target)}: {sent.detail}")
    return redirect(f"/me#method-{target.id}", f"Code sent to {_shown(target)}: type it in below within 15 minutes")


@router.post("/me/contacts/{method_id}/verify")
def verify_code(request: Request, method_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    code = field(form, "code", max_len=12)
    with ctx.work() as (s, me):
        method = _own_method(s, ctx, method_id)
        ok = contacts.verify(s, actor=me, now=ctx.now, method=method, code=code)
        left = max(0, contacts.CODE_ATTEMPTS - method.verify_attempts)
        mid, address = method.id, _shown(direct.Target.of(method))
    if not ok:
        tries = f"{left} {'try' if left == 1 else 'tries'} left" if left else "ask for a new code"
        return redirect(f"/me#method-{mid}", f"That code is wrong ({tries})")
    return redirect(f"/me#method-{mid}", f"{address} is verified")


@router.post("/me/contacts/{method_id}/test")
def test_method(request: Request, method_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, _me):
        target = direct.Target.of(contacts.require_testable(s, ctx.principal, _own_method(s, ctx, method_id).id))
    sent = direct.send_test(ctx.settings, ctx.clock, target, now=ctx.now)
    if not sent.sent:
        return redirect(f"/me#method-{target.id}", f"The test message to {_shown(target)} failed: {sent.detail}")
    return redirect(f"/me#method-{target.id}", f"Test message sent to {_shown(target)}")


# --- notification rules, hand-off notices -----------------------------------------------------------

def _shown(target: direct.Target) -> str:
    """A method's address as /me shows it (a push device by its service: its address carries its keys)."""
    return push_subscription.shown(target.address) if target.type == "push" else target.address


@router.post("/me/rules")
def add_rule(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    method_id = parse_uuid(field(form, "contact_method_id", max_len=64), "contact method")
    delay = field(form, "delay_minutes", required=False, max_len=8) or "0"
    if not (delay.isascii() and delay.isdigit()):
        raise InvalidInput("delay must be a whole number of minutes (0 to 1440)", details={"field": "delay_minutes"})
    with ctx.work() as (s, me):
        contacts.create_rule(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id), contact_method_id=method_id,
                             delay_minutes=int(delay), urgency=field(form, "urgency", max_len=8))
    return redirect("/me#rules", "Notification rule added")


@router.post("/me/rules/{rule_id}/delete")
def remove_rule(request: Request, rule_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    rid = parse_uuid(rule_id, "notification rule")
    with ctx.work() as (s, me):
        rule = contacts.require_rule(s, me, rid)
        if rule.user_id != ctx.user.id:
            raise NotFound(f"no notification rule {rid}")
        contacts.delete_rule(s, actor=me, now=ctx.now, rule=rule)
    return redirect("/me#rules", "Notification rule removed")


@router.post("/me/handoff-notices")
def handoff_notices(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    on = form.get("handoff_notices") == "on"
    with ctx.work() as (s, me):
        update_user(s, actor=me, now=ctx.now, user=require_user(s, ctx.user.id), handoff_notices=on)
    return redirect("/me#handoff", "Hand-off notices turned on" if on else "Hand-off notices turned off")
