"""/api/v1/routing-rules, /silences, /maintenance-windows, /auto-incident-rules, /inhibition-rules:
what decides where an alert goes, what keeps it from paging, and when it declares an incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.routing import service as rules
from tocsin.routing.models import (
    AutoIncidentRule,
    InhibitionRule,
    MaintenanceWindow,
    RoutingRule,
    Silence,
)
from tocsin.routing.schemas import (
    AutoIncidentRuleIn,
    AutoIncidentRuleOut,
    AutoIncidentRulePatch,
    InhibitionRuleIn,
    InhibitionRuleOut,
    InhibitionRulePatch,
    MaintenanceWindowIn,
    MaintenanceWindowOut,
    MaintenanceWindowPatch,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    RuleOrderIn,
    SilenceIn,
    SilenceOut,
    SilencePatch,
)
from tocsin.schemas import Page
from tocsin.services.service import require_service

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}


def _page(items: list[Any], more: bool, last_id: uuid.UUID | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": pagination.encode(str(last_id)) if more and last_id else None}


# --- routing rules -----------------------------------------------------------------------------

def _rules_out(s: Session, rows: list[RoutingRule]) -> list[dict[str, Any]]:
    slugs = rules.service_slugs(s, [r.service_id for r in rows])
    return [{"id": r.id, "position": r.position, "name": r.name, "matchers": r.matchers, "service_id": r.service_id,
             "service": slugs.get(r.service_id) if r.service_id else None, "urgency": r.urgency,
             "created_at": r.created_at} for r in rows]


@router.get("/routing-rules", response_model=Page[RoutingRuleOut], tags=["routing"],
            summary="List routing rules in the order they are tried (the first match wins)")
def list_routing_rules(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": _rules_out(s, rules.list_routing_rules(s))}


@router.post("/routing-rules", status_code=201, response_model=RoutingRuleOut, tags=["routing"],
             summary="Add a routing rule after the existing ones (admin)")
def create_routing_rule(body: RoutingRuleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rule = rules.create_routing_rule(s, actor=me, now=ctx.now, name=body.name, matchers=body.matchers,
                                         service=body.service, urgency=body.urgency)
        return _rules_out(s, [rule])[0]


@router.put("/routing-rules/order", response_model=Page[RoutingRuleOut], tags=["routing"],
            summary="Reorder the routing rules: send every rule's id once, in the new order (admin)")
def reorder_routing_rules(body: RuleOrderIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": _rules_out(s, rules.reorder_routing_rules(s, actor=me, now=ctx.now, ids=body.ids))}


@router.get("/routing-rules/{rule_id}", response_model=RoutingRuleOut, tags=["routing"], summary="Get a routing rule")
def get_routing_rule(rule_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _rules_out(s, [rules.require_routing_rule(s, rule_id)])[0]


@router.patch("/routing-rules/{rule_id}", response_model=RoutingRuleOut, tags=["routing"],
              summary="Change a routing rule (admin)")
def patch_routing_rule(rule_id: uuid.UUID, body: RoutingRulePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rule = rules.require_routing_rule(s, rule_id)
        rule = rules.update_routing_rule(s, actor=me, now=ctx.now, rule=rule, **body.model_dump(exclude_unset=True))
        return _rules_out(s, [rule])[0]


@router.delete("/routing-rules/{rule_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=["routing"], summary="Delete a routing rule (admin)")
def delete_routing_rule(rule_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rules.delete_routing_rule(s, actor=me, now=ctx.now, rule=rules.require_routing_rule(s, rule_id))
    return Response(status_code=204)


# --- silences ----------------------------------------------------------------------------------

def _silence_out(row: Silence, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "matchers": row.matchers, "starts_at": row.starts_at, "ends_at": row.ends_at,
            "state": rules.silence_state(row, now), "author": row.author, "author_id": row.author_id,
            "reason": row.reason, "created_at": row.created_at}


@router.get("/silences", response_model=Page[SilenceOut], tags=["silences"], summary="List silences, newest first")
def list_silences(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None,
                  state: Annotated[Literal["active", "pending", "expired"] | None,
                                   Query(description="Only silences in this state now")] = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        rows = rules.list_silences(s, now=ctx.now, state=state, before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return _page([_silence_out(r, ctx.now) for r in page], more, page[-1].id if page else None)


@router.post("/silences", status_code=201, response_model=SilenceOut, tags=["silences"],
             summary="Silence matching alerts for a while (responder)")
def create_silence(body: SilenceIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = rules.create_silence(s, actor=me, now=ctx.now, matchers=body.matchers, starts_at=body.starts_at,
                                   ends_at=body.ends_at, reason=body.reason)
        return _silence_out(row, ctx.now)


@router.get("/silences/{silence_id}", response_model=SilenceOut, tags=["silences"], summary="Get a silence")
def get_silence(silence_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _silence_out(rules.require_silence(s, silence_id), ctx.now)


@router.patch("/silences/{silence_id}", response_model=SilenceOut, tags=["silences"],
              summary="Change a silence's end or reason; new matchers replace it with a new silence (responder)")
def patch_silence(silence_id: uuid.UUID, body: SilencePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = rules.update_silence(s, actor=me, now=ctx.now, silence=rules.require_silence(s, silence_id),
                                   **body.model_dump(exclude_unset=True))
        return _silence_out(row, ctx.now)


@router.post("/silences/{silence_id}/expire", response_model=SilenceOut, tags=["silences"],
             summary="End a silence now (responder); silences are kept, never deleted")
def expire_silence(silence_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = rules.expire_silence(s, actor=me, now=ctx.now, silence=rules.require_silence(s, silence_id))
        return _silence_out(row, ctx.now)


# --- maintenance windows -----------------------------------------------------------------------

def _windows_out(s: Session, rows: list[MaintenanceWindow], now: datetime) -> list[dict[str, Any]]:
    slugs = rules.service_slugs(s, [w.service_id for w in rows])
    out = []
    for w in rows:
        active, next_change = rules.window_status(w, now)
        out.append({"id": w.id, "service_id": w.service_id, "service": slugs.get(w.service_id, ""), "name": w.name,
                    "starts_at": w.starts_at, "ends_at": w.ends_at, "recurrence": w.recurrence,
                    "timezone": w.timezone, "until": w.until, "reason": w.reason, "author": w.author,
                    "author_id": w.author_id, "created_at": w.created_at, "active": active,
                    "next_change_at": next_change})
    return out


@router.get("/maintenance-windows", response_model=Page[MaintenanceWindowOut], tags=["maintenance"],
            summary="List maintenance windows, newest first")
def list_windows(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None,
                 service: Annotated[str | None, Query(max_length=64, description="Service slug or id")] = None,
                 active: Annotated[bool | None, Query(description="Only windows (not) in an occurrence now")] = None
                 ) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        sid = require_service(s, service).id if service else None
        rows = rules.list_windows(s, now=ctx.now, service_id=sid, active=active, before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return _page(_windows_out(s, page, ctx.now), more, page[-1].id if page else None)


@router.post("/maintenance-windows", status_code=201, response_model=MaintenanceWindowOut, tags=["maintenance"],
             summary="Plan a (recurring) maintenance window for a service (responder)")
def create_window(body: MaintenanceWindowIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = rules.create_window(s, actor=me, now=ctx.now, **body.model_dump())
        return _windows_out(s, [row], ctx.now)[0]


@router.get("/maintenance-windows/{window_id}", response_model=MaintenanceWindowOut, tags=["maintenance"],
            summary="Get a maintenance window")
def get_window(window_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _windows_out(s, [rules.require_window(s, window_id)], ctx.now)[0]


@router.patch("/maintenance-windows/{window_id}", response_model=MaintenanceWindowOut, tags=["maintenance"],
              summary="Change a maintenance window (responder)")
def patch_window(window_id: uuid.UUID, body: MaintenanceWindowPatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = rules.update_window(s, actor=me, now=ctx.now, window=rules.require_window(s, window_id),
                                  **body.model_dump(exclude_unset=True))
        return _windows_out(s, [row], ctx.now)[0]


@router.delete("/maintenance-windows/{window_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=["maintenance"], summary="Delete a maintenance window (responder); the audit log keeps it")
def delete_window(window_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rules.delete_window(s, actor=me, now=ctx.now, window=rules.require_window(s, window_id))
    return Response(status_code=204)


# --- auto-incident rules -----------------------------------------------------------------------

def _auto_out(row: AutoIncidentRule) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "matchers": row.matchers, "incident_severity": row.incident_severity,
            "incident_kind": row.incident_kind, "created_at": row.created_at}


@router.get("/auto-incident-rules", response_model=Page[AutoIncidentRuleOut], tags=["auto-incident"],
            summary="List auto-incident rules in the order they are tried")
def list_auto_rules(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": [_auto_out(r) for r in rules.list_auto_rules(s)]}


@router.post("/auto-incident-rules", status_code=201, response_model=AutoIncidentRuleOut, tags=["auto-incident"],
             summary="Declare an incident when a new alert matches (admin)")
def create_auto_rule(body: AutoIncidentRuleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _auto_out(rules.create_auto_rule(s, actor=me, now=ctx.now, **body.model_dump()))


@router.patch("/auto-incident-rules/{rule_id}", response_model=AutoIncidentRuleOut, tags=["auto-incident"],
              summary="Change an auto-incident rule (admin)")
def patch_auto_rule(rule_id: uuid.UUID, body: AutoIncidentRulePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rule = rules.update_auto_rule(s, actor=me, now=ctx.now, rule=rules.require_auto_rule(s, rule_id),
                                      **body.model_dump(exclude_unset=True))
        return _auto_out(rule)


@router.delete("/auto-incident-rules/{rule_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=["auto-incident"], summary="Delete an auto-incident rule (admin)")
def delete_auto_rule(rule_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rules.delete_auto_rule(s, actor=me, now=ctx.now, rule=rules.require_auto_rule(s, rule_id))
    return Response(status_code=204)


# --- inhibition rules --------------------------------------------------------------------------

def _inhibitions_out(s: Session, rows: list[InhibitionRule]) -> list[dict[str, Any]]:
    slugs = rules.service_slugs(s, [r.service_id for r in rows])
    return [{"id": r.id, "name": r.name, "service_id": r.service_id,
             "service": slugs.get(r.service_id) if r.service_id else None, "source_matchers": r.source_matchers,
             "target_matchers": r.target_matchers, "equal": r.equal, "created_at": r.created_at} for r in rows]


@router.get("/inhibition-rules", response_model=Page[InhibitionRuleOut], tags=["inhibition"],
            summary="List inhibition rules in the order they are tried")
def list_inhibition_rules(ctx: CtxDep, service: Annotated[str | None, Query(
        max_length=64, description="Only the rules of this service (slug or id)")] = None) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        sid = require_service(s, service).id if service else None
        return {"items": _inhibitions_out(s, rules.list_inhibition_rules(s, service_id=sid))}


@router.post("/inhibition-rules", status_code=201, response_model=InhibitionRuleOut, tags=["inhibition"],
             summary="Hold matching alerts back while a matching source alert fires (admin)")
def create_inhibition_rule(body: InhibitionRuleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rule = rules.create_inhibition_rule(s, actor=me, now=ctx.now, **body.model_dump())
        return _inhibitions_out(s, [rule])[0]


@router.get("/inhibition-rules/{rule_id}", response_model=InhibitionRuleOut, tags=["inhibition"],
            summary="Get an inhibition rule")
def get_inhibition_rule(rule_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _inhibitions_out(s, [rules.require_inhibition_rule(s, rule_id)])[0]


@router.patch("/inhibition-rules/{rule_id}", response_model=InhibitionRuleOut, tags=["inhibition"],
              summary="Change an inhibition rule (admin)")
def patch_inhibition_rule(rule_id: uuid.UUID, body: InhibitionRulePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rule = rules.update_inhibition_rule(s, actor=me, now=ctx.now, rule=rules.require_inhibition_rule(s, rule_id),
                                            **body.model_dump(exclude_unset=True))
        return _inhibitions_out(s, [rule])[0]


@router.delete("/inhibition-rules/{rule_id}", status_code=204, response_class=Response, responses=NO_CONTENT,
               tags=["inhibition"], summary="Delete an inhibition rule (admin); alerts it held page if still firing")
def delete_inhibition_rule(rule_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rules.delete_inhibition_rule(s, actor=me, now=ctx.now, rule=rules.require_inhibition_rule(s, rule_id))
    return Response(status_code=204)
