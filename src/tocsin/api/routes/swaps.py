"""/api/v1/shift-swaps: "cover me" requests, offers, acceptance (an override) and cancellation; and
/api/v1/me/shifts, /api/v1/me/ical-token: a person's own shifts across schedules and their feed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import Forbidden, InvalidInput
from tocsin.escalation import swap_notices
from tocsin.http.requests import public_url_for
from tocsin.oncall import mine, swaps
from tocsin.oncall import service as oncall
from tocsin.oncall.schemas import AcceptIn, IcalTokenOut, MyShiftOut, OfferIn, SwapIn, SwapOut, SwapState
from tocsin.schemas import Page, UTCInput

router = APIRouter(prefix="/api/v1", tags=["schedules"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def _public_url(request: Request) -> str:
    return str(request.app.state.settings.resolved_public_url())


@router.get("/shift-swaps", response_model=Page[SwapOut], summary="List shift swap requests by start time")
def list_swaps(ctx: CtxDep, schedule: Annotated[str | None, Query(max_length=64)] = None,
               state: Annotated[SwapState | None, Query(description="open: not yet started")] = None,
               mine_only: Annotated[bool, Query(alias="mine", description="Only my requests")] = False,
               limit: Annotated[int, Query(ge=1, le=500)] = 200) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rows = swaps.list_swaps(s, now=ctx.now, schedule=oncall.require_schedule(s, schedule) if schedule else None,
                                requester_id=me.user_id if mine_only else None, state=state, limit=limit)
        return {"items": swaps.describe(s, rows, ctx.now), "next_cursor": None}


@router.post("/shift-swaps", status_code=201, response_model=SwapOut,
             summary="Ask for cover for your own shifts in a time range; the schedule's members are emailed")
def create_swap(body: SwapIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = swaps.create_swap(s, actor=me, now=ctx.now, schedule=oncall.require_schedule(s, body.schedule),
                                starts_at=body.starts_at, ends_at=body.ends_at, note=body.note)
        swap_notices.request_made(s, swap=row, now=ctx.now, public_url=_public_url(request))
        return swaps.describe(s, [row], ctx.now)[0]


@router.get("/shift-swaps/{swap_id}", response_model=SwapOut, summary="Get a shift swap request")
def get_swap(swap_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return swaps.describe(s, [swaps.require_swap(s, swap_id)], ctx.now)[0]


@router.post("/shift-swaps/{swap_id}/offers", status_code=201, response_model=SwapOut,
             summary="Offer to cover an open request (people on the schedule, admins); the requester is emailed")
def offer(swap_id: uuid.UUID, body: OfferIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = swaps.require_swap(s, swap_id)
        made = swaps.offer(s, actor=me, now=ctx.now, swap=row, note=body.note)
        swap_notices.offer_made(s, swap=row, offer=made, now=ctx.now, public_url=_public_url(request))
        return swaps.describe(s, [row], ctx.now)[0]


@router.post("/shift-swaps/{swap_id}/accept", response_model=SwapOut,
             summary="Accept an offer: it becomes an override for the offerer, who is emailed (the requester, or an admin)")
def accept(swap_id: uuid.UUID, body: AcceptIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = swaps.accept(s, actor=me, now=ctx.now, swap=swaps.require_swap(s, swap_id), offer_id=body.offer_id)
        swap_notices.offer_accepted(s, swap=row, now=ctx.now, public_url=_public_url(request))
        return swaps.describe(s, [row], ctx.now)[0]


@router.post("/shift-swaps/{swap_id}/cancel", response_model=SwapOut,
             summary="Withdraw an open request (the requester, or an admin)")
def cancel(swap_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = swaps.cancel(s, actor=me, now=ctx.now, swap=swaps.require_swap(s, swap_id))
        return swaps.describe(s, [row], ctx.now)[0]


@router.get("/me/shifts", response_model=Page[MyShiftOut],
            summary="My shifts across every schedule between start and end (default: the next 28 days)")
def my_shifts(ctx: CtxDep,
              start: Annotated[UTCInput | None, Query(description="Default: now; with a UTC offset")] = None,
              end: Annotated[UTCInput | None, Query(description="Default: 28 days after start; at most 90 "
                                                                "days after it")] = None) -> dict[str, Any]:
    begin: datetime = start or ctx.now
    if abs(begin - ctx.now) > timedelta(days=3660):
        raise InvalidInput("start must be within ten years of now", details={"field": "start"})
    with ctx.work() as (s, me):
        if me.user_id is None:
            raise Forbidden("only a person has shifts", details={})
        found = mine.my_shifts(s, user_id=me.user_id, start=begin, end=end or begin + timedelta(days=28),
                               now=ctx.now)
        return {"items": [{"schedule": m.schedule.slug, "schedule_name": m.schedule.name, "start": m.shift.start,
                           "end": m.shift.end, "source": m.shift.source} for m in found], "next_cursor": None}


@router.post("/me/ical-token", response_model=IcalTokenOut,
             summary="Make my personal iCalendar feed URL (my shifts in every schedule), shown once; "
                     "the previous URL stops working")
def rotate_my_feed(request: Request, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        token = mine.rotate_feed_token(s, actor=me, now=ctx.now)
    return {"url": public_url_for(request, "ical_personal_feed", token=token), "token": token}
