"""/api/v1 Web Push: the server's VAPID public key, and subscribing a browser for its signed-in person.

A subscription becomes a contact method of type `push` (`contacts/push.py`): list, test and delete it
with the contact-method routes, and give it notification rules like any other method.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.contacts import push
from tocsin.contacts import service as contacts
from tocsin.contacts.schemas import ContactMethodOut, PushKeyOut, PushSubscriptionIn
from tocsin.net.policy import user_policy

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
TAGS: list[str | Any] = ["contacts"]


@router.get("/push/vapid-public-key", response_model=PushKeyOut, tags=TAGS,
            summary="The VAPID public key browsers subscribe with (applicationServerKey)")
def vapid_public_key(request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work():
        pass  # a signed-in caller only, like every /api/v1 route
    return push.key_status(request.app.state.settings)


@router.post("/users/{key}/push-subscriptions", status_code=201, response_model=ContactMethodOut, tags=TAGS,
             summary="Subscribe your own browser or phone: a verified `push` contact method")
def subscribe(key: str, body: PushSubscriptionIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        method = push.subscribe(s, actor=me, now=ctx.now, user=person, endpoint=body.endpoint,
                                p256dh=body.keys.p256dh, auth=body.keys.auth, label=body.label,
                                policy=user_policy(request.app.state.settings))
        if body.page_at_once:
            push.page_at_once(s, actor=me, now=ctx.now, user=person, method=method)
        return {"id": method.id, "user_id": method.user_id, "type": method.type, "address": method.address,
                "label": method.label, "verified": True, "verified_at": method.verified_at,
                "created_at": method.created_at}
