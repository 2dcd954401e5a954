"""Console pages for shift swaps and my shifts: /shift-swaps (ask for cover, offer, accept, cancel),
/me/shifts (my shifts across schedules for the next four weeks, my requests, my calendar feed).

Every action goes through `oncall.swaps` (the API's functions) and redirects back to the page it
came from (`back`, a local path) with a flash message.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.escalation import swap_notices
from tocsin.http.requests import public_url_for
from tocsin.localtime import zone
from tocsin.oncall import mine, swaps
from tocsin.oncall import service as oncall
from tocsin.oncall.models import ShiftSwap
from tocsin.principal import OrgRole, Principal
from tocsin.web.auth import WebCtx, csrf_form, safe_next, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_local, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
MY_DAYS = 28


def swap_cards(s: Session, me: Principal, rows: list[ShiftSwap], now: Any) -> list[dict[str, Any]]:
    """The requests as `swaps.describe` gives them, with what `me` may do to each."""
    members: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in rows:
        if row.schedule_id not in members:
            schedule = oncall.require_schedule(s, row.schedule_id)
            members[row.schedule_id] = swaps.schedule_members(s, schedule)
    out = []
    for row, card in zip(rows, swaps.describe(s, rows, now), strict=True):
        mine_ = me.user_id == row.requester_id
        is_open = card["state"] == "open"
        offered = any(o["user"]["id"] == me.user_id for o in card["offers"])  # type: ignore[attr-defined]
        card.update(
            mine=mine_, can_decide=is_open and me.at_least(OrgRole.responder) and (mine_ or me.is_admin),
            can_offer=is_open and me.at_least(OrgRole.responder) and not mine_ and not offered
            and (me.is_admin or me.user_id in members[row.schedule_id]), offered=offered)
        out.append(card)
    return out


def zone_or_utc(name: str) -> Any:
    try:
        return zone(name or "UTC")
    except ValueError:
        return zone("UTC")


def _back(form: dict[str, str], default: str = "/shift-swaps") -> str:
    back = safe_next(form.get("back", "")[:300])
    return back if back != "/" else default


@router.get("/shift-swaps")
def swaps_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        open_rows = swaps.list_swaps(s, now=ctx.now, state="open")
        past = [r for r in swaps.list_swaps(s, now=ctx.now, limit=500)
                if swaps.swap_state(r, ctx.now) != "open"][-20:]
        schedules = oncall.list_schedules(s)
        mine_on = [sch for sch in schedules if me.user_id in swaps.schedule_members(s, sch)]
        cards = swap_cards(s, me, open_rows, ctx.now)
        history = swap_cards(s, me, list(reversed(past)), ctx.now)
    tz = ctx.user.time_zone
    start, end = default_range(ctx)
    return render(request, ctx, "shift_swaps.html", swaps=cards, history=history,
                  my_schedules=[(x.slug, x.name) for x in mine_on], tz_name=tz, default_start=start,
                  default_end=end)


def default_range(ctx: WebCtx) -> tuple[str, str]:
    """Tomorrow 09:00 to 17:00 in the viewer's zone, as `datetime-local` values (a form's starting point)."""
    day = (ctx.now + timedelta(days=1)).astimezone(zone_or_utc(ctx.user.time_zone)).date()
    return f"{day.isoformat()}T09:00", f"{day.isoformat()}T17:00"


@router.post("/shift-swaps")
def ask_for_cover(request: Request, ctx: WebCtx = Depends(web_ctx),
                  form: dict[str, str] = Depends(csrf_form)) -> Response:
    tz = ctx.user.time_zone
    starts_at = parse_local(field(form, "start", max_len=40), tz, "start")
    ends_at = parse_local(field(form, "end", max_len=40), tz, "end")
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, field(form, "schedule", max_len=64))
        row = swaps.create_swap(s, actor=me, now=ctx.now, schedule=schedule, starts_at=starts_at, ends_at=ends_at,
                                note=form.get("note", "")[:2000])
        told = swap_notices.request_made(s, swap=row, now=ctx.now, public_url=ctx.settings.resolved_public_url())
    return redirect(_back(form), f"Cover requested; {told} {'person' if told == 1 else 'people'} emailed")


@router.post("/shift-swaps/{swap_id}/offer")
def offer_cover(request: Request, swap_id: str, ctx: WebCtx = Depends(web_ctx),
                form: dict[str, str] = Depends(csrf_form)) -> Response:
    sid = parse_uuid(swap_id, "shift swap")
    with ctx.work() as (s, me):
        row = swaps.require_swap(s, sid)
        made = swaps.offer(s, actor=me, now=ctx.now, swap=row, note=form.get("note", "")[:2000])
        swap_notices.offer_made(s, swap=row, offer=made, now=ctx.now, public_url=ctx.settings.resolved_public_url())
    return redirect(_back(form), "Offer sent")


@router.post("/shift-swaps/{swap_id}/accept")
def accept_offer(request: Request, swap_id: str, ctx: WebCtx = Depends(web_ctx),
                 form: dict[str, str] = Depends(csrf_form)) -> Response:
    sid = parse_uuid(swap_id, "shift swap")
    oid = parse_uuid(form.get("offer_id"), "offer")
    with ctx.work() as (s, me):
        row = swaps.accept(s, actor=me, now=ctx.now, swap=swaps.require_swap(s, sid), offer_id=oid)
        swap_notices.offer_accepted(s, swap=row, now=ctx.now, public_url=ctx.settings.resolved_public_url())
    return redirect(_back(form), "Offer accepted: the override is on the schedule")


@router.post("/shift-swaps/{swap_id}/cancel")
def cancel_request(request: Request, swap_id: str, ctx: WebCtx = Depends(web_ctx),
                   form: dict[str, str] = Depends(csrf_form)) -> Response:
    sid = parse_uuid(swap_id, "shift swap")
    with ctx.work() as (s, me):
        swaps.cancel(s, actor=me, now=ctx.now, swap=swaps.require_swap(s, sid))
    return redirect(_back(form), "Request cancelled")


# --- my shifts -----------------------------------------------------------------------------------

def _my_page(request: Request, ctx: WebCtx, feed_url: str | None = None) -> Response:
    with ctx.work() as (s, me):
        found = mine.my_shifts(s, user_id=ctx.user.id, start=ctx.now, end=ctx.now + timedelta(days=MY_DAYS),
                               now=ctx.now)
        rows = [r for r in swaps.list_swaps(s, now=ctx.now, requester_id=ctx.user.id, limit=500)
                if swaps.swap_state(r, ctx.now) == "open"]
        cards = swap_cards(s, me, rows, ctx.now)
        has_feed = mine.has_feed(s, ctx.user.id)
    shifts = [{"schedule": m.schedule, "start": m.shift.start, "end": m.shift.end, "source": m.shift.source}
              for m in found]
    return render(request, ctx, "my_shifts.html", shifts=shifts, swaps=cards, has_feed=has_feed, feed_url=feed_url,
                  days=MY_DAYS)


@router.get("/me/shifts")
def my_shifts_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    return _my_page(request, ctx)


@router.post("/me/shifts/feed")
def make_feed(request: Request, ctx: WebCtx = Depends(web_ctx),
              _form: dict[str, str] = Depends(csrf_form)) -> Response:
    """Make a new feed URL and show it once, on this response (it is not stored)."""
    with ctx.work() as (s, me):
        token = mine.rotate_feed_token(s, actor=me, now=ctx.now)
    return _my_page(request, ctx, feed_url=public_url_for(request, "ical_personal_feed", token=token))
