"""Console page for silences and maintenance windows, through the routing service (as the API's
rules routes do): list active and upcoming ones, create a silence for a duration, expire one,
plan a one-off maintenance window."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.routing import service as rules
from tocsin.services.service import list_services
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import (
    field,
    local_input,
    parse_local,
    parse_minutes,
    parse_uuid,
    redirect,
)

router = APIRouter(include_in_schema=False)
MAX_SILENCE_MINUTES = 366 * 24 * 60


@router.get("/silences")
def silences_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        current = (rules.list_silences(s, now=ctx.now, state="active", limit=200)
                   + rules.list_silences(s, now=ctx.now, state="pending", limit=200))
        recent = rules.list_silences(s, now=ctx.now, state="expired", limit=10)
        windows = []
        service_ids = []
        for w in rules.list_windows(s, now=ctx.now, limit=200):
            active, next_change = rules.window_status(w, ctx.now)
            if active or next_change is not None:  # ended one-offs are history, not "upcoming"
                windows.append({"row": w, "active": active, "next_change": next_change})
                service_ids.append(w.service_id)
        slugs = rules.service_slugs(s, service_ids)
        service_keys = sorted(svc.slug for svc in list_services(s, limit=500))
    silences = [{"row": x, "state": rules.silence_state(x, ctx.now), "matchers": rules.matchers_text(x.matchers)}
                for x in current]
    expired = [{"row": x, "matchers": rules.matchers_text(x.matchers)} for x in recent]
    return render(request, ctx, "silences.html", silences=silences, expired=expired, windows=windows, slugs=slugs,
                  service_keys=service_keys, default_start=local_input(ctx.now, ctx.user.time_zone),
                  tz_name=ctx.user.time_zone)


@router.post("/silences")
def create_silence(request: Request, ctx: WebCtx = Depends(web_ctx),
                   form: dict[str, str] = Depends(csrf_form)) -> Response:
    matchers = [line.strip() for line in field(form, "matchers", max_len=10_000).splitlines() if line.strip()]
    duration = parse_minutes(field(form, "duration", max_len=20), "duration", high=MAX_SILENCE_MINUTES)
    start_text = form.get("start", "").strip()
    starts_at = parse_local(start_text, ctx.user.time_zone, "start") if start_text else ctx.now
    with ctx.work() as (s, me):
        rules.create_silence(s, actor=me, now=ctx.now, matchers=matchers, starts_at=starts_at,
                             ends_at=max(starts_at, ctx.now) + duration, reason=form.get("reason", "")[:2000])
    return redirect("/silences", "Silence created")


@router.post("/silences/{silence_id}/expire")
def expire_silence(request: Request, silence_id: str, ctx: WebCtx = Depends(web_ctx),
                   _form: dict[str, str] = Depends(csrf_form)) -> Response:
    sid = parse_uuid(silence_id, "silence")
    with ctx.work() as (s, me):
        rules.expire_silence(s, actor=me, now=ctx.now, silence=rules.require_silence(s, sid))
    return redirect("/silences", "Silence expired")


@router.post("/maintenance-windows")
def create_window(request: Request, ctx: WebCtx = Depends(web_ctx),
                  form: dict[str, str] = Depends(csrf_form)) -> Response:
    tz = ctx.user.time_zone
    starts_at = parse_local(field(form, "start", max_len=40), tz, "start")
    ends_at = parse_local(field(form, "end", max_len=40), tz, "end")
    with ctx.work() as (s, me):
        rules.create_window(s, actor=me, now=ctx.now, service=field(form, "service", max_len=64),
                            name=field(form, "name", max_len=200), starts_at=starts_at, ends_at=ends_at,
                            timezone=tz, reason=form.get("reason", "")[:2000])
    return redirect("/silences", "Maintenance window planned")
