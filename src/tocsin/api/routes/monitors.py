"""/api/v1/heartbeats and /checks: monitors that open alerts on their own.

Anyone authenticated may read them; admins create, change and delete them. A heartbeat's key
appears only in the response that created it; pings go to `/heartbeats/<key>` (routes/ingest.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.checks import service as checks
from tocsin.checks.models import Check
from tocsin.checks.schemas import (
    CheckIn,
    CheckOut,
    CheckPatch,
    CheckResultOut,
    UptimeOut,
)
from tocsin.heartbeats import service as heartbeats
from tocsin.heartbeats.schemas import HeartbeatIn, HeartbeatOut, NewHeartbeatOut
from tocsin.net.policy import check_policy
from tocsin.principal import Principal
from tocsin.schemas import Page, UTCInput
from tocsin.services.service import require_service

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]
ServiceQ = Annotated[str | None, Query(max_length=64, description="Only this service's (slug or id)")]
REDACTED = "<redacted>"


def _page(rows: list[Any], limit: int, out: list[Any]) -> dict[str, Any]:
    page, more = pagination.split_page(rows, limit)
    return {"items": out[: len(page)], "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


# --- heartbeats --------------------------------------------------------------------------------

@router.post("/heartbeats", status_code=201, response_model=NewHeartbeatOut, tags=["heartbeats"],
             summary="Create a heartbeat (admin); the key and ping path are shown only in this response")
def create_heartbeat(body: HeartbeatIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        row, key = heartbeats.create_heartbeat(s, actor=me, now=ctx.now, **body.model_dump())
        return {**HeartbeatOut.model_validate(row).model_dump(), "key": key, "ping_path": heartbeats.ping_path(key)}


@router.get("/heartbeats", response_model=Page[HeartbeatOut], tags=["heartbeats"], summary="List heartbeats")
def list_heartbeats(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None, service: ServiceQ = None
                    ) -> dict[str, Any]:
    after = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        service_id = require_service(s, service).id if service else None
        rows = heartbeats.list_heartbeats(s, service_id=service_id, after=after, limit=limit + 1)
        return _page(rows, limit, rows)


@router.get("/heartbeats/{heartbeat_id}", response_model=HeartbeatOut, tags=["heartbeats"], summary="Get a heartbeat")
def get_heartbeat(heartbeat_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return heartbeats.require_heartbeat(s, heartbeat_id)


@router.delete("/heartbeats/{heartbeat_id}", response_model=HeartbeatOut, tags=["heartbeats"],
               summary="Delete a heartbeat (admin); its key stops working and its open alert is resolved")
def delete_heartbeat(heartbeat_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        row = heartbeats.require_heartbeat(s, heartbeat_id)
        out = HeartbeatOut.model_validate(row).model_dump()
        heartbeats.delete_heartbeat(s, actor=me, now=ctx.now, heartbeat=row)
        return out


# --- checks ------------------------------------------------------------------------------------

def _check_out(check: Check, me: Principal) -> dict[str, Any]:
    out = CheckOut.model_validate(check).model_dump()
    if not me.is_admin:  # header values may be credentials for the checked endpoint
        out["headers"] = {name: REDACTED for name in out["headers"]}
    return out


@router.post("/checks", status_code=201, response_model=CheckOut, tags=["checks"],
             summary="Create a synthetic check (admin); it runs at once, then every interval")
def create_check(body: CheckIn, request: Request, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return _check_out(checks.create_check(s, actor=me, now=ctx.now, policy=check_policy(request.app.state.settings),
                                              **body.model_dump()), me)


@router.get("/checks", response_model=Page[CheckOut], tags=["checks"], summary="List checks")
def list_checks(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None, service: ServiceQ = None) -> dict[str, Any]:
    after = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        service_id = require_service(s, service).id if service else None
        rows = checks.list_checks(s, service_id=service_id, after=after, limit=limit + 1)
        return _page(rows, limit, [_check_out(c, me) for c in rows[:limit]])


@router.get("/checks/{check_id}", response_model=CheckOut, tags=["checks"], summary="Get a check")
def get_check(check_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return _check_out(checks.require_check(s, check_id), me)


@router.patch("/checks/{check_id}", response_model=CheckOut, tags=["checks"],
              summary="Change a check (admin); disabling a failing check resolves its alert")
def patch_check(check_id: uuid.UUID, body: CheckPatch, request: Request, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        check = checks.require_check(s, check_id)
        return _check_out(checks.update_check(s, actor=me, now=ctx.now, check=check,
                                              policy=check_policy(request.app.state.settings),
                                              **body.model_dump(exclude_unset=True)), me)


@router.delete("/checks/{check_id}", response_model=CheckOut, tags=["checks"],
               summary="Delete a check and its results (admin); its open alert is resolved")
def delete_check(check_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        check = checks.require_check(s, check_id)
        out = _check_out(check, me)
        checks.delete_check(s, actor=me, now=ctx.now, check=check)
        return out


@router.get("/checks/{check_id}/results", response_model=Page[CheckResultOut], tags=["checks"],
            summary="A check's results, newest first")
def check_results(check_id: uuid.UUID, ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  since: Annotated[UTCInput | None, Query(description="Only results at or after this time")] = None
                  ) -> Any:
    with ctx.work() as (s, _me):
        return {"items": checks.results(s, checks.require_check(s, check_id), since=since, limit=limit)}


@router.get("/checks/{check_id}/uptime", response_model=UptimeOut, tags=["checks"],
            summary="Uptime and latency (p50/p95) over the last `hours`")
def check_uptime(check_id: uuid.UUID, ctx: CtxDep, hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24) -> Any:
    with ctx.work() as (s, _me):
        up = checks.uptime(s, checks.require_check(s, check_id), window=timedelta(hours=hours), now=ctx.now)
        return {"window_hours": hours, "since": up.since, "checks": up.checks, "failures": up.failures,
                "uptime_percent": up.uptime_percent, "latency_ms": {"p50": up.p50_ms, "p95": up.p95_ms}}
