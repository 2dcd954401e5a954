"""The console as an installable web app (PWA), and Web Push for "this device" from /me.

- `/manifest.webmanifest` and `/sw.js`: the app manifest and the service worker, served from the
  package at the site's root, so the worker's scope is the whole console. The worker shows a
  pushed page as a notification with Acknowledge and Resolve buttons, which POST to the page's
  one-time link (`/n/<token>`, the link the email carries).
- `/me/push/key`: the VAPID public key `static/push.js` subscribes with (JSON).
- `POST /me/push`: the subscription `push.js` made, as a form (so the CSRF check is the console's
  usual one), becomes a verified `push` contact method (`contacts/push.py`), optionally with the
  rule "page this device at once". Then a test push, or removal, per device.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from tocsin.contacts import push
from tocsin.contacts import service as contacts
from tocsin.contacts.models import ContactMethod
from tocsin.errors import NotFound
from tocsin.net.policy import user_policy
from tocsin.notify.dispatch import Dispatcher
from tocsin.notify.types import Message
from tocsin.principal import Principal
from tocsin.users.service import require_user
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import CSP
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
MANIFEST = json.dumps({
    "id": "/", "name": "tocsin", "short_name": "tocsin", "description": "Incident response: pages, incidents, on-call",
    "start_url": "/", "scope": "/", "display": "standalone", "background_color": "#ffffff", "theme_color": "#1f2937",
    "icons": [{"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
              {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
              {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
}, indent=1)


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    return Response(MANIFEST, media_type="application/manifest+json",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/sw.js")
def service_worker() -> Response:
    # no-cache: browsers check for a new worker on every visit, so a fix reaches installed apps.
    return Response((STATIC / "sw.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP,
                             "X-Content-Type-Options": "nosniff"})


@router.get("/me/push/key")
def push_key(ctx: WebCtx = Depends(web_ctx)) -> JSONResponse:
    return JSONResponse(push.key_status(ctx.settings), headers={"Cache-Control": "no-store"})


def _own_device(s: Session, me: Principal, ctx: WebCtx, method_id: str) -> ContactMethod:
    mid = parse_uuid(method_id, "device")
    method = contacts.require_method(s, me, mid)
    if method.user_id != ctx.user.id or method.type != push.PUSH:
        raise NotFound(f"no push device {mid}")
    return method


@router.post("/me/push")
def enable(request: Request, ctx: WebCtx = Depends(web_ctx), form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        user = require_user(s, ctx.user.id)
        method = push.subscribe(s, actor=me, now=ctx.now, user=user, endpoint=field(form, "endpoint", max_len=900),
                                p256dh=field(form, "p256dh", max_len=100), auth=field(form, "auth", max_len=32),
                                label=form.get("label", "")[:200], policy=user_policy(ctx.settings))
        added = push.page_at_once(s, actor=me, now=ctx.now, user=user, method=method) \
            if form.get("page_at_once") else []
        label = method.label
    if "email" in added:
        then = " Pages reach it at once, and your account email too (a rule was added for each)."
    elif added:
        then = " Pages reach it at once."
    else:
        then = " Add a notification rule to page it."
    return redirect("/me#push", f"Push is on for “{label}”.{then}")


@router.post("/me/push/{method_id}/test")
def test_push(request: Request, method_id: str, ctx: WebCtx = Depends(web_ctx),
              _form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        method = _own_device(s, me, ctx, method_id)
        mid, address, label = method.id, method.address, method.label
    dispatcher = Dispatcher(ctx.settings, ctx.clock)  # sent now, outside the transaction, as the API's test
    try:
        result = dispatcher.send(push.PUSH, Message(
            idempotency_key=f"test:{mid}:{ctx.now.timestamp()}", to=address, subject="tocsin test push",
            body="Push works on this device: pages will look like this.", data={"kind": "test"}, created_at=ctx.now),
            contact_method_id=mid)
    finally:
        dispatcher.close()
    if result.delivered:
        return redirect("/me#push", f"Test push sent to “{label}”; it should appear in a few seconds.")
    return redirect("/me#push", f"The test push to “{label}” failed: {result.detail}")


@router.post("/me/push/{method_id}/delete")
def remove(request: Request, method_id: str, ctx: WebCtx = Depends(web_ctx),
           _form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        method = _own_device(s, me, ctx, method_id)
        label = method.label
        contacts.delete_method(s, actor=me, now=ctx.now, method=method)
    return redirect("/me#push", f"Push is off for “{label}”: it gets no more pages.")
