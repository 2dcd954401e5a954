"""/api/v1/schedules: on-call schedules, their layers and overrides, who is on call and when,
and the iCalendar feed token. The feed itself is served by `routes/ical.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.escalation import schedule_use
from tocsin.http.requests import public_url_for
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ScheduleOverride
from tocsin.oncall.resolve import Shift
from tocsin.oncall.schemas import (
    IcalTokenOut,
    LayerIn,
    LayerOut,
    LayerPatch,
    OnCallOut,
    OverrideIn,
    OverrideOut,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
    ShiftOut,
)
from tocsin.principal import OrgRole
from tocsin.schemas import Page, UTCInput
from tocsin.users.models import User

router = APIRouter(prefix="/api/v1", tags=["schedules"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}


def _user(u: User | None, uid: uuid.UUID) -> dict[str, Any]:
    return {"id": uid, "name": u.name if u else str(uid), "email": u.email if u else ""}


def _schedules_out(s: Session, rows: list[Schedule]) -> list[dict[str, Any]]:
    layers = oncall.list_layers(s, [r.id for r in rows])
    members = oncall.layer_members(s, [layer.id for ls in layers.values() for layer in ls])
    users = oncall.users_by_id(s, [uid for ids in members.values() for uid in ids])
    teams = oncall.team_slugs(s, [r.team_id for r in rows])
    return [{"id": r.id, "name": r.name, "slug": r.slug, "description": r.description, "timezone": r.timezone,
             "team_id": r.team_id, "team": teams.get(r.team_id) if r.team_id else None,
             "ical_feed": r.ical_token_hash is not None, "created_at": r.created_at, "updated_at": r.updated_at,
             "layers": [{"id": layer.id, "position": layer.position, "name": layer.name, "kind": layer.rotation_kind,
                         "timezone": layer.rotation_timezone, "start": layer.rotation_start,
                         "shift_hours": layer.shift_hours, "restrictions": layer.restrictions,
                         "shadow": layer.shadow,
                         "members": [_user(users.get(uid), uid) for uid in members[layer.id]],
                         "created_at": layer.created_at} for layer in layers[r.id]]}
            for r in rows]


def _overrides_out(s: Session, rows: list[ScheduleOverride]) -> list[dict[str, Any]]:
    users = oncall.users_by_id(s, [uid for o in rows for uid in (o.user_id, o.replaces_user_id)])
    return [{"id": o.id, "user": _user(users.get(o.user_id), o.user_id),
             "replaces": _user(users.get(o.replaces_user_id), o.replaces_user_id) if o.replaces_user_id else None,
             "starts_at": o.starts_at, "ends_at": o.ends_at, "created_by_id": o.created_by_id,
             "created_at": o.created_at} for o in rows]


def _shifts_out(s: Session, shifts: list[Shift]) -> list[dict[str, Any]]:
    users = oncall.users_by_id(s, [uuid.UUID(x.user) for x in shifts])
    return [{"user": _user(users.get(uuid.UUID(x.user)), uuid.UUID(x.user)), "start": x.start, "end": x.end,
             "source": x.source} for x in shifts]


# --- schedules ---------------------------------------------------------------------------------

@router.get("/schedules", response_model=Page[ScheduleOut], summary="List on-call schedules by slug")
def list_schedules(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": _schedules_out(s, oncall.list_schedules(s))}


@router.post("/schedules", status_code=201, response_model=ScheduleOut,
             summary="Create an on-call schedule; add layers to it next (admin)")
def create_schedule(body: ScheduleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _schedules_out(s, [oncall.create_schedule(s, actor=me, now=ctx.now, **body.model_dump())])[0]


@router.get("/schedules/{key}", response_model=ScheduleOut, summary="Get a schedule by slug or id")
def get_schedule(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _schedules_out(s, [oncall.require_schedule(s, key)])[0]


@router.patch("/schedules/{key}", response_model=ScheduleOut, summary="Change a schedule (admin)")
def patch_schedule(key: str, body: SchedulePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = oncall.update_schedule(s, actor=me, now=ctx.now, schedule=oncall.require_schedule(s, key),
                                     **body.model_dump(exclude_unset=True))
        return _schedules_out(s, [row])[0]


@router.delete("/schedules/{key}", status_code=204, response_class=Response, responses=NO_CONTENT,
               summary="Delete a schedule with its layers and overrides (admin); refused while a policy pages it")
def delete_schedule(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key)
        me.require(OrgRole.admin, "deleting schedules")
        schedule_use.refuse_if_used(s, schedule)
        oncall.delete_schedule(s, actor=me, now=ctx.now, schedule=schedule)
    return Response(status_code=204)


@router.post("/schedules/{key}/ical-token", response_model=IcalTokenOut,
             summary="Make a new iCalendar feed URL, shown once; the previous URL stops working (admin)")
def rotate_ical_token(key: str, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        token = oncall.rotate_ical_token(s, actor=me, now=ctx.now, schedule=oncall.require_schedule(s, key))
    return {"url": public_url_for(request, "ical_schedule_feed", token=token), "token": token}


# --- layers ------------------------------------------------------------------------------------

@router.post("/schedules/{key}/layers", status_code=201, response_model=LayerOut,
             summary="Add a layer (a rotation) above the existing ones; it wins where they overlap (admin)")
def create_layer(key: str, body: LayerIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key)
        layer = oncall.create_layer(s, actor=me, now=ctx.now, schedule=schedule, **body.model_dump())
        return next(x for x in _schedules_out(s, [schedule])[0]["layers"] if x["id"] == layer.id)


@router.patch("/schedules/{key}/layers/{layer_id}", response_model=LayerOut, summary="Change a layer (admin)")
def patch_layer(key: str, layer_id: uuid.UUID, body: LayerPatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key)
        layer = oncall.update_layer(s, actor=me, now=ctx.now, schedule=schedule,
                                    layer=oncall.require_layer(s, schedule, layer_id),
                                    **body.model_dump(exclude_unset=True))
        return next(x for x in _schedules_out(s, [schedule])[0]["layers"] if x["id"] == layer.id)


@router.delete("/schedules/{key}/layers/{layer_id}", status_code=204, response_class=Response,
               responses=NO_CONTENT, summary="Delete a layer (admin)")
def delete_layer(key: str, layer_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key)
        oncall.delete_layer(s, actor=me, now=ctx.now, schedule=schedule,
                            layer=oncall.require_layer(s, schedule, layer_id))
    return Response(status_code=204)


# --- overrides ---------------------------------------------------------------------------------

@router.get("/schedules/{key}/overrides", response_model=Page[OverrideOut],
            summary="List a schedule's overrides by start time (those not yet ended, unless include_past)")
def list_overrides(key: str, ctx: CtxDep,
                   include_past: Annotated[bool, Query(description="Also overrides that have ended")] = False,
                   limit: Annotated[int, Query(ge=1, le=500)] = 500) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        rows = oncall.list_overrides(s, schedule=oncall.require_schedule(s, key), now=ctx.now,
                                     include_past=include_past, limit=limit)
        return {"items": _overrides_out(s, rows)}


@router.post("/schedules/{key}/overrides", status_code=201, response_model=OverrideOut,
             summary="Put someone on call for a while (responders: themselves; admins: anyone)")
def create_override(key: str, body: OverrideIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = oncall.create_override(s, actor=me, now=ctx.now, schedule=oncall.require_schedule(s, key),
                                     **body.model_dump())
        return _overrides_out(s, [row])[0]


@router.delete("/schedules/{key}/overrides/{override_id}", status_code=204, response_class=Response,
               responses=NO_CONTENT, summary="Delete an override (responders: their own; admins: any)")
def delete_override(key: str, override_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key)
        oncall.delete_override(s, actor=me, now=ctx.now, schedule=schedule,
                               override=oncall.require_override(s, schedule, override_id))
    return Response(status_code=204)


# --- who is on call ----------------------------------------------------------------------------

@router.get("/schedules/{key}/oncall", response_model=OnCallOut, summary="Who is on call now, or at `at`")
def get_on_call(key: str, ctx: CtxDep,
                at: Annotated[UTCInput | None, Query(description="Default: now; with a UTC offset")] = None
                ) -> dict[str, Any]:
    when: datetime = at or ctx.now
    with ctx.work() as (s, _me):
        schedule = oncall.require_schedule(s, key)
        shift = oncall.on_call(s, schedule=schedule, at=when, now=ctx.now)
        shadows = oncall.shadows_at(s, schedule=schedule, at=when)
        users = oncall.users_by_id(s, shadows)
        return {"schedule": schedule.slug, "schedule_name": schedule.name, "at": when,
                "on_call": _shifts_out(s, [shift])[0] if shift else None,
                "shadows": [_user(users.get(uid), uid) for uid in shadows]}


@router.get("/schedules/{key}/shifts", response_model=Page[ShiftOut],
            summary="The final schedule between start and end (at most 90 days): layers, restrictions, overrides")
def get_shifts(key: str, ctx: CtxDep,
               start: Annotated[UTCInput | None, Query(description="Default: now; with a UTC offset")] = None,
               end: Annotated[UTCInput | None, Query(description="Default: 7 days after start; at most 90 days "
                                                                 "after it")] = None) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        found = oncall.shifts(s, schedule=oncall.require_schedule(s, key), start=start or ctx.now, end=end,
                              now=ctx.now)
        return {"items": _shifts_out(s, found)}
