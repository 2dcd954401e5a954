"""Console pages for silences and maintenance windows, through the routing service (as the API's
rules routes do): list active and upcoming ones, create a silence for a duration, change one
(end and reason in place; new matchers replace it, as the service decides), expire one; plan
one-off, daily or weekly maintenance windows, change them, delete them, and see when each
next starts or ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.localtime import zone
from tocsin.routing import service as rules
from tocsin.routing.matchers import lines
from tocsin.routing.models import MaintenanceWindow
from tocsin.services.service import list_services
from tocsin.web.auth import CsrfForm, CtxDep
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
RECURRENCE_WORDS = {"none": "once", "daily": "every day", "weekly": "every week"}


def _matchers(form: dict[str, str]) -> list[str]:
    return [line.strip() for line in field(form, "matchers", max_len=10_000).splitlines() if line.strip()]


def _window_view(w: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    active, next_change = rules.window_status(w, now)
    return {"row": w, "active": active, "next_change": next_change,
            "repeats": RECURRENCE_WORDS.get(w.recurrence, w.recurrence)}


@router.get("/silences")
def silences_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        current = (rules.list_silences(s, now=ctx.now, state="active", limit=200)
                   + rules.list_silences(s, now=ctx.now, state="pending", limit=200))
        recent = rules.list_silences(s, now=ctx.now, state="expired", limit=10)
        windows = []
        for w in rules.list_windows(s, now=ctx.now, limit=200):
            view = _window_view(w, ctx.now)
            if view["active"] or view["next_change"] is not None:  # ended ones are history, not "upcoming"
                windows.append(view)
        slugs = rules.service_slugs(s, [w["row"].service_id for w in windows])
        service_keys = sorted(svc.slug for svc in list_services(s, limit=500))
    silences = [{"row": x, "state": rules.silence_state(x, ctx.now), "matchers": rules.matchers_text(x.matchers)}
                for x in current]
    expired = [{"row": x, "matchers": rules.matchers_text(x.matchers)} for x in recent]
    return render(request, ctx, "silences.html", silences=silences, expired=expired, windows=windows, slugs=slugs,
                  service_keys=service_keys, default_start=local_input(ctx.now, ctx.user.time_zone),
                  tz_name=ctx.user.time_zone)


@router.post("/silences")
def create_silence(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    matchers = _matchers(form)
    duration = parse_minutes(field(form, "duration", max_len=20), "duration", high=MAX_SILENCE_MINUTES)
    start_text = form.get("start", "").strip()
    starts_at = parse_local(start_text, ctx.user.time_zone, "start") if start_text else ctx.now
    with ctx.work() as (s, me):
        rules.create_silence(s, actor=me, now=ctx.now, matchers=matchers, starts_at=starts_at,
                             ends_at=max(starts_at, ctx.now) + duration, reason=form.get("reason", "")[:2000])
    return redirect("/silences", "Silence created")


@router.get("/silences/{silence_id}")
def silence_page(request: Request, silence_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        silence = rules.require_silence(s, parse_uuid(silence_id, "silence"))
    return render(request, ctx, "silence_edit.html", silence=silence, state=rules.silence_state(silence, ctx.now),
                  matchers=lines(silence.matchers), end=local_input(silence.ends_at, ctx.user.time_zone),
                  tz_name=ctx.user.time_zone)


@router.post("/silences/{silence_id}")
def update_silence(request: Request, silence_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    matchers = _matchers(form)
    end_text = field(form, "end", max_len=40)
    extend = form.get("extend", "").strip()
    with ctx.work() as (s, me):
        silence = rules.require_silence(s, parse_uuid(silence_id, "silence"))
        ends_at = None if end_text == local_input(silence.ends_at, ctx.user.time_zone) else \
            parse_local(end_text, ctx.user.time_zone, "end")
        if extend:
            ends_at = (ends_at or silence.ends_at) + parse_minutes(extend, "extend by", high=MAX_SILENCE_MINUTES)
        new = rules.update_silence(s, actor=me, now=ctx.now, silence=silence, matchers=matchers, ends_at=ends_at,
                                   reason=field(form, "reason", max_len=2000))
        replaced = new.id != silence.id
    return redirect("/silences", "Silence replaced by one with the new matchers" if replaced else "Silence changed")


@router.post("/silences/{silence_id}/expire")
def expire_silence(request: Request, silence_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    sid = parse_uuid(silence_id, "silence")
    with ctx.work() as (s, me):
        rules.expire_silence(s, actor=me, now=ctx.now, silence=rules.require_silence(s, sid))
    return redirect("/silences", "Silence expired")


# --- maintenance windows -----------------------------------------------------------------------

def _window_times(form: dict[str, str], fallback_tz: str) -> dict[str, Any]:
    """Start, end and until typed as local times in the window's time zone (the form's `timezone`)."""
    tz = form.get("timezone", "").strip()[:64] or fallback_tz
    try:
        zone(tz)
    except ValueError as exc:
        raise InvalidInput(f"time zone: {exc}", details={"field": "timezone"}) from None
    until_text = form.get("until", "").strip()
    return {"timezone": tz, "starts_at": parse_local(field(form, "start", max_len=40), tz, "start"),
            "ends_at": parse_local(field(form, "end", max_len=40), tz, "end"),
            "recurrence": form.get("recurrence", "none").strip()[:8] or "none",
            "until": parse_local(until_text, tz, "until") if until_text else None}


@router.post("/maintenance-windows")
def create_window(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    times = _window_times(form, ctx.user.time_zone)
    with ctx.work() as (s, me):
        rules.create_window(s, actor=me, now=ctx.now, service=field(form, "service", max_len=64),
                            name=field(form, "name", max_len=200), reason=form.get("reason", "")[:2000], **times)
    return redirect("/silences", "Maintenance window planned")


@router.get("/maintenance-windows/{window_id}")
def window_page(request: Request, window_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        window = rules.require_window(s, parse_uuid(window_id, "maintenance window"))
        slug = rules.service_slugs(s, [window.service_id]).get(window.service_id, "")
    view = _window_view(window, ctx.now)
    tz = window.timezone
    return render(request, ctx, "window_edit.html", w=view, slug=slug, start=local_input(window.starts_at, tz),
                  end=local_input(window.ends_at, tz), until=local_input(window.until, tz))


@router.post("/maintenance-windows/{window_id}")
def update_window(request: Request, window_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        window = rules.require_window(s, parse_uuid(window_id, "maintenance window"))
        times = _window_times(form, window.timezone)
        # a time shown to the minute and sent back unchanged keeps its stored value (seconds and all)
        for name, stored in (("starts_at", window.starts_at), ("ends_at", window.ends_at), ("until", window.until)):
            if times[name] is not None and stored is not None and times["timezone"] == window.timezone and \
                    local_input(times[name], window.timezone) == local_input(stored, window.timezone):
                times[name] = stored
        rules.update_window(s, actor=me, now=ctx.now, window=window, name=field(form, "name", max_len=200),
                            reason=form.get("reason", "")[:2000], **times)
    return redirect("/silences", "Maintenance window changed")


@router.post("/maintenance-windows/{window_id}/delete")
def delete_window(request: Request, window_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rules.delete_window(s, actor=me, now=ctx.now,
                            window=rules.require_window(s, parse_uuid(window_id, "maintenance window")))
    return redirect("/silences", "Maintenance window deleted")
