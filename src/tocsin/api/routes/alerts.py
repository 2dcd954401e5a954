"""/api/v1/alerts, /integrations, and change events: what detection stored, and its inbound keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import (
    AlertDetailOut,
    AlertOut,
    AttachIn,
    ChangeOut,
    GroupActionOut,
    IntegrationIn,
    IntegrationOut,
    NewIntegrationOut,
)
from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import InvalidInput
from tocsin.flows import alerts as alert_flows
from tocsin.http.present import alerts_out, decisions_out
from tocsin.incidents.access import require_incident
from tocsin.incidents.changes import for_incident as incident_changes_of
from tocsin.ingest.formats import signing_secret
from tocsin.integrations import service as integrations
from tocsin.integrations.models import ChangeEvent, Integration
from tocsin.runbooks.present import links as runbook_links
from tocsin.runbooks.service import for_alert as runbooks_for_alert
from tocsin.schemas import Page
from tocsin.services.service import require_service

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]


def _label_filter(label: list[str]) -> dict[str, str]:
    out = {}
    for item in label:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidInput(f"label filter {item!r} must be name=value", details={"field": "label"})
        out[name] = value
    return out


@router.get("/alerts", response_model=Page[AlertOut], tags=["alerts"], summary="List alerts, newest first")
def list_alerts(ctx: CtxDep, status: Annotated[list[str], Query(max_length=3)] = [],  # noqa: B006
                service: Annotated[str | None, Query(max_length=64)] = None, group: uuid.UUID | None = None,
                incident: Annotated[str | None, Query(max_length=64)] = None,
                label: Annotated[list[str], Query(max_length=20, description="name=value, repeatable")] = [],  # noqa: B006
                limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        inc = require_incident(s, me, incident).id if incident else None
        flt = alerts.AlertFilter(status=status or None, service=service, group_id=group, incident_id=inc,
                                 labels=_label_filter(label))
        rows = alerts.list_alerts(s, flt=flt, before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": alerts_out(s, me, page), "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, tags=["alerts"],
            summary="An alert with its decisions (why it did or did not page), occurrences and group")
def get_alert(alert_id: uuid.UUID, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        alert = alerts.require_alert(s, alert_id)
        h = alerts.history(s, alert)
        runbooks = runbook_links(runbooks_for_alert(s, alert), request.app.state.settings.resolved_public_url())
        return {**alerts_out(s, me, [alert])[0], "decisions": decisions_out(s, me, h["decisions"]), "runbooks": runbooks,
                "occurrences_log": h["occurrences"], "group": h["group"]}


def _command(ctx: Ctx, alert_id: uuid.UUID, verb: Any, **kw: Any) -> dict[str, Any]:
    with ctx.work() as (s, me):
        alert = verb(s, alert=alerts.require_alert(s, alert_id), actor=me, now=ctx.now, **kw)
        return alerts_out(s, me, [alert])[0]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, tags=["alerts"], summary="Acknowledge")
def acknowledge(alert_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    return _command(ctx, alert_id, alert_flows.acknowledge)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, tags=["alerts"], summary="Resolve")
def resolve(alert_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    return _command(ctx, alert_id, alert_flows.resolve)


def _group_command(ctx: Ctx, group_id: uuid.UUID, verb: Any) -> dict[str, Any]:
    with ctx.work() as (s, me):
        group = alerts.require_group(s, group_id)
        changed = verb(s, group=group, actor=me, now=ctx.now)
        s.flush()
        s.refresh(group)
        return {"group": group, "alert_ids": [a.id for a in changed]}


@router.post("/alert-groups/{group_id}/acknowledge", response_model=GroupActionOut, tags=["alerts"],
             summary="Acknowledge every triggered alert of a group (and stop the group's paging)")
def acknowledge_group(group_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    return _group_command(ctx, group_id, alert_flows.acknowledge_group)


@router.post("/alert-groups/{group_id}/resolve", response_model=GroupActionOut, tags=["alerts"],
             summary="Resolve every open alert of a group (and close it)")
def resolve_group(group_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    return _group_command(ctx, group_id, alert_flows.resolve_group)


@router.post("/alerts/{alert_id}/attach", response_model=AlertOut, tags=["alerts"],
             summary="Attach to an incident (shown on its timeline)")
def attach(alert_id: uuid.UUID, body: AttachIn, ctx: CtxDep) -> dict[str, Any]:
    return _command(ctx, alert_id, alerts.attach, incident_key=body.incident)


# --- integrations ------------------------------------------------------------------------------

def integration_out(row: Integration) -> dict[str, Any]:
    return {**{c: getattr(row, c) for c in IntegrationOut.model_fields if hasattr(row, c)}, "url": integrations.ENDPOINTS[row.type]}


@router.get("/integrations", response_model=Page[IntegrationOut], tags=["integrations"], summary="List integrations")
def list_integrations(ctx: CtxDep, service: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        sid = require_service(s, service).id if service else None
        return {"items": [integration_out(r) for r in integrations.list_integrations(s, service_id=sid)]}


@router.post("/integrations", status_code=201, response_model=NewIntegrationOut, tags=["integrations"],
             summary="Create an integration (admin); the key is shown once")
def create_integration(body: IntegrationIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row, key = integrations.create_integration(
            s, actor=me, now=ctx.now, service=body.service, kind=integrations.IntegrationType(body.type),
            name=body.name, config=body.config)
        secret = None
        if row.type == "grafana" and row.config.get("hmac"):
            secret = signing_secret(request.app.state.settings.resolved_secret_key(), row.id)
        return {**integration_out(row), "key": key, "signing_secret": secret}


@router.get("/integrations/{integration_id}", response_model=IntegrationOut, tags=["integrations"],
            summary="Get an integration")
def get_integration(integration_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return integration_out(integrations.require_integration(s, integration_id))


@router.post("/integrations/{integration_id}/rotate-key", response_model=NewIntegrationOut, tags=["integrations"],
             summary="Replace the key (admin); the old key stops working at once")
def rotate_key(integration_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row, key = integrations.rotate_key(s, actor=me, now=ctx.now, integration_id=integration_id)
        return {**integration_out(row), "key": key}


@router.delete("/integrations/{integration_id}", status_code=204, tags=["integrations"],
               summary="Delete an integration (admin); its alerts stay")
def delete_integration(integration_id: uuid.UUID, ctx: CtxDep) -> None:
    with ctx.work() as (s, me):
        integrations.delete_integration(s, actor=me, now=ctx.now, integration_id=integration_id)


# --- change events -----------------------------------------------------------------------------

def _changes(s: Session, service_ids: list[uuid.UUID], since: Any, until: Any, limit: int) -> list[ChangeEvent]:
    stmt = sa.select(ChangeEvent).where(ChangeEvent.service_id.in_(service_ids)).order_by(
        ChangeEvent.occurred_at.desc(), ChangeEvent.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(ChangeEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(ChangeEvent.occurred_at <= until)
    return list(s.execute(stmt).scalars())


@router.get("/services/{key}/changes", response_model=Page[ChangeOut], tags=["services"],
            summary="Change events (deploys) of a service, newest first")
def service_changes(key: str, ctx: CtxDep, limit: LimitQ = 50) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": _changes(s, [require_service(s, key).id], None, None, limit)}


@router.get("/incidents/{key}/changes", response_model=Page[ChangeOut], tags=["incidents"],
            summary="Changes to the incident's services from 24 h before it was detected until it resolved")
def incident_changes(key: str, ctx: CtxDep, limit: LimitQ = 50) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": incident_changes_of(s, require_incident(s, me, key), limit=limit)}
