"""/api/v1 contact methods, notification rules, and a person's notifications (delivery status).

A person manages their own (`/users/me/...`); admins manage anyone's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from tocsin.alerts.service import require_alert
from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.contacts import direct, mask
from tocsin.contacts import service as contacts
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.contacts.schemas import (
    ContactMethodIn,
    ContactMethodOut,
    DeliveryOut,
    RuleIn,
    RuleOut,
    SendOut,
    VerifyIn,
    VerifyOut,
)
from tocsin.escalation.models import Notification
from tocsin.escalation.service import notifications_to
from tocsin.net.policy import user_policy
from tocsin.notify.dispatch import webhook_secret
from tocsin.principal import Principal
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}
TAGS: list[str | Any] = ["contacts"]


def _method_out(request: Request, m: ContactMethod) -> dict[str, Any]:
    secret = webhook_secret(request.app.state.settings.resolved_secret_key(), m.id) if m.type == "webhook" else None
    return {"id": m.id, "user_id": m.user_id, "type": m.type, "address": m.address, "label": m.label,
            "verified": m.verified_at is not None, "verified_at": m.verified_at, "created_at": m.created_at,
            "webhook_secret": secret}


def _rule_out(r: NotificationRule, channel: str) -> dict[str, Any]:
    return {"id": r.id, "user_id": r.user_id, "contact_method_id": r.contact_method_id, "channel": channel,
            "delay_minutes": r.delay_minutes, "urgency": r.urgency, "created_at": r.created_at}


@router.get("/users/{key}/contact-methods", response_model=Page[ContactMethodOut], tags=TAGS,
            summary="A person's contact methods ('me' for yourself)")
def list_methods(key: str, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        return {"items": [_method_out(request, m) for m in contacts.list_methods(s, person.id)]}


@router.post("/users/{key}/contact-methods", status_code=201, response_model=ContactMethodOut, tags=TAGS,
             summary="Add a contact method; it pages once verified (send-code, then verify)")
def create_method(key: str, body: ContactMethodIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        method = contacts.create_method(s, actor=me, now=ctx.now, user=person, type=body.type, address=body.address,
                                        label=body.label, policy=user_policy(request.app.state.settings))
        return _method_out(request, method)


@router.get("/contact-methods/{method_id}", response_model=ContactMethodOut, tags=TAGS,
            summary="One contact method")
def get_method(method_id: uuid.UUID, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _method_out(request, contacts.require_method(s, me, method_id))


@router.delete("/contact-methods/{method_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=TAGS, summary="Delete a contact method and its rules")
def delete_method(method_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        contacts.delete_method(s, actor=me, now=ctx.now, method=contacts.require_method(s, me, method_id))
    return Response(status_code=204)


@router.post("/contact-methods/{method_id}/send-code", response_model=SendOut, tags=TAGS,
             summary="Send a verification code through the method (valid 15 minutes, 5 tries)")
def send_code(method_id: uuid.UUID, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        method = contacts.require_method(s, me, method_id)
        code = contacts.new_code(s, actor=me, now=ctx.now, method=method)
        target = direct.Target.of(method)
    sent = direct.send_code(request.app.state.settings, ctx.clock, target, code, now=ctx.now)
    return {"sent": sent.sent, "detail": sent.detail}


@router.post("/contact-methods/{method_id}/verify", response_model=VerifyOut, tags=TAGS,
             summary="Verify a method with the code it received")
def verify(method_id: uuid.UUID, body: VerifyIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        method = contacts.require_method(s, me, method_id)
        return {"verified": contacts.verify(s, actor=me, now=ctx.now, method=method, code=body.code)}


@router.post("/contact-methods/{method_id}/test", response_model=SendOut, tags=TAGS,
             summary="Send a test message through a verified method")
def test_method(method_id: uuid.UUID, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        target = direct.Target.of(contacts.require_testable(s, me, method_id))
    sent = direct.send_test(request.app.state.settings, ctx.clock, target, now=ctx.now)
    return {"sent": sent.sent, "detail": sent.detail}


@router.get("/users/{key}/notification-rules", response_model=Page[RuleOut], tags=TAGS,
            summary="A person's notification rules, by delay")
def list_rules(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        kinds = {m.id: m.type for m in contacts.list_methods(s, person.id)}
        return {"items": [_rule_out(r, kinds.get(r.contact_method_id, "")) for r in contacts.list_rules(s, person.id)]}


@router.post("/users/{key}/notification-rules", status_code=201, response_model=RuleOut, tags=TAGS,
             summary="Add a rule: page this verified method N minutes after a page, if still unacknowledged")
def create_rule(key: str, body: RuleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        rule = contacts.create_rule(s, actor=me, now=ctx.now, user=person, contact_method_id=body.contact_method_id,
                                    delay_minutes=body.delay_minutes, urgency=body.urgency)
        method = s.get(ContactMethod, rule.contact_method_id)
        return _rule_out(rule, method.type if method else "")


@router.delete("/notification-rules/{rule_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=TAGS, summary="Delete a notification rule")
def delete_rule(rule_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        contacts.delete_rule(s, actor=me, now=ctx.now, rule=contacts.require_rule(s, me, rule_id))
    return Response(status_code=204)


def deliveries_out(me: Principal, rows: list[Notification]) -> list[dict[str, Any]]:
    """The notifications; their destinations (and errors naming them) masked unless `me` owns them or is an admin."""
    return [{"id": n.id, "user_id": n.user_id, "alert_id": n.alert_id, "incident_id": n.incident_id, "kind": n.kind,
             "channel": n.channel, "destination": mask.shown(me, n.user_id, n.channel, n.destination),
             "subject": n.subject, "status": n.status,
             "last_error": mask.shown_text(me, n.user_id, n.last_error, n.channel, n.destination),
             "attempts": n.attempts, "created_at": n.created_at,
             "send_after": n.send_after, "sent_at": n.sent_at, "delivered_at": n.delivered_at,
             "bundle_id": n.bundle_id} for n in rows]


@router.get("/users/{key}/notifications", response_model=Page[DeliveryOut], tags=TAGS,
            summary="The notifications sent (or queued, failed ...) to a person, newest first")
def user_notifications(key: str, ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    after = pagination.decode_time_id(cursor)
    with ctx.work() as (s, me):
        person = contacts.require_person(s, me, key)
        rows, more = pagination.split_page(notifications_to(s, person.id, limit=limit + 1, before=after), limit)
        last = rows[-1] if rows else None
        return {"items": deliveries_out(me, rows),
                "next_cursor": pagination.encode(last.created_at.isoformat(), str(last.id)) if more and last else None}


@router.get("/alerts/{alert_id}/notifications", response_model=Page[DeliveryOut], tags=TAGS,
            summary="Every notification written for an alert, with its delivery status")
def alert_notifications(alert_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        alert = require_alert(s, alert_id)
        rows = list(s.execute(sa.select(Notification).where(Notification.alert_id == alert.id)
                              .order_by(Notification.created_at, Notification.id)).scalars())
        return {"items": deliveries_out(me, rows)}
