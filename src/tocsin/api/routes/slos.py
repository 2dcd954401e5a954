"""/api/v1/services/{key}/slos and /api/v1/slos/{id}: service level objectives.

Anyone authenticated may read them, as they may read services and checks; admins create, change
and delete them; responders and admins push counts to a push SLO (`POST /slos/{id}/events`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.services.service import require_service
from tocsin.slo import service as slos
from tocsin.slo.schemas import SloEventsIn, SloEventsOut, SloIn, SloPatch, SloStatusOut

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["slos"])
CtxDep = Annotated[Ctx, Depends(context)]
ServiceP = Annotated[str, Path(max_length=64, description="Service slug or id")]


def _status(s: Any, slo: Any, ctx: Ctx) -> dict[str, Any]:
    return slos.status_out(slos.status(s, slo, now=ctx.now))


@router.get("/services/{key}/slos", response_model=list[SloStatusOut],
            summary="A service's SLOs with their SLI, error budget and burn rates")
def list_slos(key: ServiceP, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        svc = require_service(s, key)
        return [_status(s, slo, ctx) for slo in slos.list_slos(s, service_id=svc.id)]


@router.post("/services/{key}/slos", status_code=201, response_model=SloStatusOut,
             summary="Create an SLO on a service (admin)")
def create_slo(key: ServiceP, body: SloIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        slo = slos.create_slo(s, actor=me, now=ctx.now, service=key, **body.model_dump())
        return _status(s, slo, ctx)


@router.get("/slos/{slo_id}", response_model=SloStatusOut, summary="An SLO with its SLI, error budget and burn rates")
def get_slo(slo_id: uuid.UUID, ctx: CtxDep,
            windows: Annotated[str, Query(max_length=200, description="More burn-rate windows, e.g. 15m,2h,1d")] = ""
            ) -> Any:
    extra = slos.parse_windows(windows)
    with ctx.work() as (s, _me):
        return slos.status_out(slos.status(s, slos.require_slo(s, slo_id), now=ctx.now, extra=extra))


@router.patch("/slos/{slo_id}", response_model=SloStatusOut,
              summary="Change an SLO (admin); turning alerting off resolves its burn-rate alerts")
def patch_slo(slo_id: uuid.UUID, body: SloPatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        slo = slos.update_slo(s, actor=me, now=ctx.now, slo=slos.require_slo(s, slo_id),
                              **body.model_dump(exclude_unset=True))
        return _status(s, slo, ctx)


@router.delete("/slos/{slo_id}", response_model=SloStatusOut,
               summary="Delete an SLO and its counts (admin); its burn-rate alerts are resolved")
def delete_slo(slo_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        slo = slos.require_slo(s, slo_id)
        out = _status(s, slo, ctx)
        slos.delete_slo(s, actor=me, now=ctx.now, slo=slo)
        return out


@router.post("/slos/{slo_id}/events", response_model=SloEventsOut,
             summary="Count good and total events for a push SLO (responder); an idempotency key makes a retry safe")
def push_events(slo_id: uuid.UUID, body: SloEventsIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        slo = slos.require_slo(s, slo_id)
        pushed = slos.push_events(s, actor=me, now=ctx.now, slo=slo, **body.model_dump())
        return {"slo_id": slo.id, "good": body.good, "total": body.total, "bucket": pushed.bucket,
                "duplicate": pushed.duplicate}
