"""/api/v1/escalation-policies, a service's policy, and an alert's escalation (read it, re-escalate,
reassign): who gets paged, when."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from tocsin.alerts.service import require_alert
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.contacts import mask
from tocsin.errors import NotFound
from tocsin.escalation import service as esc
from tocsin.escalation.models import Escalation, EscalationPolicy
from tocsin.escalation.schemas import (
    EscalationOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ReassignIn,
    ReescalateIn,
    ServicePolicyIn,
    ServicePolicyOut,
)
from tocsin.principal import Principal
from tocsin.schemas import Page
from tocsin.services.service import require_service
from tocsin.users.models import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}


def _policies_out(s: Session, rows: list[EscalationPolicy]) -> list[dict[str, Any]]:
    levels = esc.list_levels(s, [p.id for p in rows])
    names = esc.target_names(s, [lv for lvs in levels.values() for lv in lvs])
    used = esc.services_using(s, [p.id for p in rows])
    return [{"id": p.id, "name": p.name, "slug": p.slug, "description": p.description, "repeat": p.repeat,
             "levels": [{"position": lv.position, "delay_minutes": lv.delay_minutes,
                         "targets": [{**t, "name": names.get(t["id"])} for t in lv.targets]} for lv in levels[p.id]],
             "services": used[p.id], "created_at": p.created_at, "updated_at": p.updated_at} for p in rows]


def _target_specs(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if v is not None} for t in targets]


def _specs(body: PolicyIn | PolicyPatch) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if "levels" in data:  # targets without the keys the client left out
        data["levels"] = [{**lv, "targets": _target_specs(lv["targets"])} for lv in data["levels"]]
    return data


@router.get("/escalation-policies", response_model=Page[PolicyOut], tags=["escalation"],
            summary="List escalation policies")
def list_policies(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": _policies_out(s, esc.list_policies(s))}


@router.post("/escalation-policies", status_code=201, response_model=PolicyOut, tags=["escalation"],
             summary="Create an escalation policy with its levels (admin)")
def create_policy(body: PolicyIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _policies_out(s, [esc.create_policy(s, actor=me, now=ctx.now, **_specs(body))])[0]


@router.get("/escalation-policies/{key}", response_model=PolicyOut, tags=["escalation"],
            summary="Get an escalation policy by slug or id")
def get_policy(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _policies_out(s, [esc.require_policy(s, key)])[0]


@router.patch("/escalation-policies/{key}", response_model=PolicyOut, tags=["escalation"],
              summary="Change an escalation policy; levels are replaced as a whole list (admin)")
def patch_policy(key: str, body: PolicyPatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        policy = esc.require_policy(s, key)
        return _policies_out(s, [esc.update_policy(s, actor=me, now=ctx.now, policy=policy, **_specs(body))])[0]


@router.delete("/escalation-policies/{key}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=["escalation"], summary="Delete an escalation policy no service uses (admin); 409 names the services using it")
def delete_policy(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        esc.delete_policy(s, actor=me, now=ctx.now, policy=esc.require_policy(s, key))
    return Response(status_code=204)


@router.put("/services/{key}/escalation-policy", response_model=ServicePolicyOut, tags=["escalation"],
            summary="Set or clear the escalation policy a service pages with (admin)")
def set_service_policy(key: str, body: ServicePolicyIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        svc = require_service(s, key)
        policy = esc.set_service_policy(s, actor=me, now=ctx.now, service=svc, policy=body.policy)
        return {"service": svc.slug, "policy": policy.slug if policy else None,
                "policy_id": policy.id if policy else None}


def _escalation_out(s: Session, me: Principal, row: Escalation) -> dict[str, Any]:
    """The escalation; its notifications' destinations (and errors naming them) masked unless `me`
    owns them or is an admin."""
    notes = esc.notifications_for(s, row.id)
    emails = dict(s.execute(sa.select(User.id, User.email).where(User.id.in_({n.user_id for n in notes})))
                  .all()) if notes else {}
    return {"id": row.id, "alert_id": row.alert_id, "incident_id": row.incident_id, "service_id": row.service_id,
            "status": row.status, "stop_reason": row.stop_reason, "level": row.level, "loop": row.loop,
            "next_at": row.next_at, "epoch": row.epoch, "started_at": row.started_at, "updated_at": row.updated_at,
            "snapshot": row.policy_snapshot,
            "notifications": [{"id": n.id, "user_id": n.user_id, "user": emails.get(n.user_id), "kind": n.kind,
                               "channel": n.channel,
                               "destination": mask.shown(me, n.user_id, n.channel, n.destination),
                               "subject": n.subject, "status": n.status,
                               "idempotency_key": mask.shown_key(me, n.user_id, n.idempotency_key),
                               "created_at": n.created_at, "send_after": n.send_after, "attempts": n.attempts,
                               "last_error": mask.shown_text(me, n.user_id, n.last_error, n.channel, n.destination),
                               "sent_at": n.sent_at, "delivered_at": n.delivered_at, "provider_id": n.provider_id,
                               "bundle_id": n.bundle_id} for n in notes]}


@router.get("/alerts/{alert_id}/escalation", response_model=EscalationOut, tags=["escalation"],
            summary="An alert's escalation: status, next step, policy snapshot and the notifications written")
def get_escalation(alert_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        alert = require_alert(s, alert_id)
        row = esc.get_escalation(s, alert.id)
        if row is None:
            raise NotFound(f"alert {alert_id} has no escalation", details={"alert_id": str(alert_id)})
        return _escalation_out(s, me, row)


@router.post("/alerts/{alert_id}/escalate", response_model=EscalationOut, tags=["escalation"],
             summary="Re-escalate: notify a level of the alert's escalation again now; an acknowledged alert "
                     "is triggered again (responder)")
def reescalate(alert_id: uuid.UUID, body: ReescalateIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = esc.reescalate(s, actor=me, now=ctx.now, alert=require_alert(s, alert_id), level=body.level)
        return _escalation_out(s, me, row)


@router.post("/alerts/{alert_id}/reassign", response_model=EscalationOut, tags=["escalation"],
             summary="Reassign: page the alert from now on with other targets or another policy; an acknowledged "
                     "alert is triggered again (responder)")
def reassign(alert_id: uuid.UUID, body: ReassignIn, ctx: CtxDep) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    targets = _target_specs(data["targets"]) if data.get("targets") is not None else None
    with ctx.work() as (s, me):
        row = esc.reassign(s, actor=me, now=ctx.now, alert=require_alert(s, alert_id), targets=targets,
                           policy=body.policy)
        return _escalation_out(s, me, row)
