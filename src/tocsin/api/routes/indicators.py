"""/api/v1/incidents/{key}/indicators, /assets and /export/{stix,misp}; /api/v1/indicators (the search
across incidents). Need-to-know: the incident is looked up through `require_incident` (404 for one
the caller may not see) and the search lists only incidents the caller may see."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.flows import evidence_refs
from tocsin.ids import incident_ref
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.indicators import export
from tocsin.indicators import service as svc
from tocsin.indicators.models import AffectedAsset, Indicator
from tocsin.indicators.schemas import (
    AssetIn,
    AssetOut,
    AssetPatch,
    IndicatorIn,
    IndicatorOut,
    IndicatorPatch,
    SightingOut,
)
from tocsin.indicators.types import IndicatorType, Tlp
from tocsin.principal import Principal
from tocsin.schemas import Page

router = APIRouter(tags=["indicators"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
BASE = "/api/v1/incidents/{key}"
MaxTlp = Annotated[Tlp | None, Query(description="Leave out indicators marked stricter than this TLP level")]


def _indicators_out(s: Session, me: Principal, incident: Incident, rows: list[Indicator]) -> list[dict[str, Any]]:
    seen = svc.also_seen_in(s, me, incident)
    ref = incident_ref(incident.number)
    return [{**_fields(row), "incident": ref, "type": row.type, "value": row.value,
             "also_seen_in": [incident_ref(n) for n in seen.get(row.id, [])]} for row in rows]


def _fields(row: Indicator | AffectedAsset) -> dict[str, Any]:
    return {"id": row.id, "tlp": row.tlp, "first_seen": row.first_seen, "last_seen": row.last_seen,
            "source": row.source, "evidence_id": row.evidence_id, "notes": row.notes, "created_at": row.created_at,
            "updated_at": row.updated_at}


def _asset_out(incident: Incident, row: AffectedAsset) -> dict[str, Any]:
    return {**_fields(row), "incident": incident_ref(incident.number), "kind": row.kind, "name": row.name,
            "state": row.state}


@router.get(BASE + "/indicators", response_model=Page[IndicatorOut],
            summary="The incident's indicators of compromise, each with the other incidents it was seen in")
def list_indicators(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        return {"items": _indicators_out(s, me, incident, svc.list_indicators(s, incident)), "next_cursor": None}


@router.post(BASE + "/indicators", status_code=201, response_model=IndicatorOut,
             summary="Record an indicator (its value is checked and normalised for its type)")
def add_indicator(key: str, body: IndicatorIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        evidence_refs.require_own(s, incident, [body.evidence_id], "evidence_id")
        row = svc.add_indicator(s, incident=incident, actor=me, now=ctx.now, spec=svc.IndicatorSpec(**body.model_dump()))
        return _indicators_out(s, me, incident, [row])[0]


@router.patch(BASE + "/indicators/{indicator_id}", response_model=IndicatorOut,
              summary="Change an indicator's TLP, seen times, source, evidence or notes")
def patch_indicator(key: str, indicator_id: uuid.UUID, body: IndicatorPatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        row = svc.require_indicator(s, incident, indicator_id)
        evidence_refs.require_own(s, incident, [body.evidence_id], "evidence_id")
        row = svc.update_indicator(s, incident=incident, indicator=row, actor=me, now=ctx.now,
                                   changes=body.model_dump(exclude_unset=True))
        return _indicators_out(s, me, incident, [row])[0]


@router.delete(BASE + "/indicators/{indicator_id}", status_code=204, response_class=Response,
               summary="Remove an indicator (noted on the timeline)")
def delete_indicator(key: str, indicator_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.delete_indicator(s, incident=incident, indicator=svc.require_indicator(s, incident, indicator_id),
                             actor=me, now=ctx.now)
    return Response(status_code=204)


@router.get(BASE + "/assets", response_model=Page[AssetOut], summary="The incident's affected assets")
def list_assets(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        return {"items": [_asset_out(incident, a) for a in svc.list_assets(s, incident)], "next_cursor": None}


@router.post(BASE + "/assets", status_code=201, response_model=AssetOut, summary="Record an affected asset")
def add_asset(key: str, body: AssetIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        evidence_refs.require_own(s, incident, [body.evidence_id], "evidence_id")
        row = svc.add_asset(s, incident=incident, actor=me, now=ctx.now, spec=svc.AssetSpec(**body.model_dump()))
        return _asset_out(incident, row)


@router.patch(BASE + "/assets/{asset_id}", response_model=AssetOut,
              summary="Change an asset's containment state (on the timeline) or its other fields")
def patch_asset(key: str, asset_id: uuid.UUID, body: AssetPatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        row = svc.require_asset(s, incident, asset_id, for_update=True)
        evidence_refs.require_own(s, incident, [body.evidence_id], "evidence_id")
        return _asset_out(incident, svc.update_asset(s, incident=incident, asset=row, actor=me, now=ctx.now,
                                                     changes=body.model_dump(exclude_unset=True)))


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get(BASE + "/export/stix", summary="The incident's indicators as a STIX 2.1 bundle", response_class=Response,
            responses={200: {"content": {"application/stix+json;version=2.1": {}}}})
def export_stix(key: str, ctx: CtxDep, max_tlp: MaxTlp = None) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        ref = incident_ref(incident.number)
        body = export.stix_bundle(incident, ref, export.up_to(svc.list_indicators(s, incident), max_tlp))
    return _download(body, "application/stix+json;version=2.1", f"{ref}-indicators.stix.json")


@router.get(BASE + "/export/misp", summary="The incident's indicators as a MISP event (core format JSON)",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
def export_misp(key: str, ctx: CtxDep, max_tlp: MaxTlp = None) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        ref = incident_ref(incident.number)
        body = export.misp_json(incident, ref, export.up_to(svc.list_indicators(s, incident), max_tlp))
    return _download(body, "application/json", f"{ref}-misp-event.json")


@router.get("/api/v1/indicators", response_model=Page[SightingOut],
            summary="Find an indicator across incidents (exact normalised value; only incidents you may see)")
def search(ctx: CtxDep, value: Annotated[str, Query(min_length=1, max_length=2000)],
           type: Annotated[IndicatorType | None, Query(description="Normalise for this type only")] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50,
           cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        rows = svc.search(s, me, value=value, kind=type, before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        items = [{"incident": incident_ref(inc.number), "incident_title": inc.title, "indicator_id": row.id,
                  "type": row.type, "value": row.value, "tlp": row.tlp, "first_seen": row.first_seen,
                  "last_seen": row.last_seen, "created_at": row.created_at} for row, inc in page]
        return {"items": items, "next_cursor": pagination.encode(str(page[-1][0].id)) if more else None}
