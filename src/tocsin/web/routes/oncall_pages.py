"""Console pages for on-call: schedules with a week view, overrides, and escalation policies.

The week view shows the final schedule (layers, restrictions and overrides applied, from
`oncall.shifts` → `resolve.final_shifts`) as seven day columns in the viewer's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.escalation import service as esc
from tocsin.localtime import resolve_wall, wall, zone
from tocsin.oncall import service as oncall
from tocsin.oncall import swaps
from tocsin.users.service import list_users
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import (
    field,
    local_input,
    parse_local,
    parse_uuid,
    redirect,
)
from tocsin.web.routes.swap_pages import default_range, swap_cards

router = APIRouter(include_in_schema=False)


def tz_or_utc(name: str) -> Any:
    """The zone named, or UTC when the name is empty or unknown."""
    try:
        return zone(name or "UTC")
    except ValueError:
        return zone("UTC")


_DAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}


def restriction_words(r: dict[str, Any]) -> str:
    """A restriction as people say it: "Mon–Fri 09:00–17:00", "every day 22:00–06:00 (next day)"."""
    days = sorted(set(r["days"]))
    if days == list(range(1, 8)):
        label = "every day"
    else:
        runs: list[list[int]] = []
        for d in days:
            if runs and d == runs[-1][-1] + 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        label = ", ".join(_DAY_NAMES[run[0]] if len(run) == 1 else
                          f"{_DAY_NAMES[run[0]]}{'–' if len(run) > 2 else ', '}{_DAY_NAMES[run[-1]]}" for run in runs)
    if r["start"] == r["end"]:
        return f"{label}, all day from {r['start']}"
    overnight = " (next day)" if r["end"] < r["start"] else ""
    return f"{label} {r['start']}–{r['end']}{overnight}"


def _week_start(week: str, today: date) -> date:
    if not week:
        return today - timedelta(days=today.weekday())
    try:
        day = date.fromisoformat(week.strip()[:10])
    except ValueError:
        raise InvalidInput("week must be a date such as 2026-01-05", details={"field": "week"}) from None
    if not 1971 <= day.year <= 2199:
        raise InvalidInput("week must be between 1971 and 2199", details={"field": "week"})
    return day - timedelta(days=day.weekday())


def week_view(shifts: list[Any], names: dict[str, str], monday: date, tz: Any) -> list[dict[str, Any]]:
    """Seven days, each with the blocks of who is on call that day (clipped to the day, local times)."""
    days = []
    for n in range(7):
        day = monday + timedelta(days=n)
        lo = resolve_wall(datetime.combine(day, time()), tz)
        hi = resolve_wall(datetime.combine(day + timedelta(days=1), time()), tz)
        blocks = []
        for sh in shifts:
            if sh.end <= lo or sh.start >= hi:
                continue
            start, end = max(sh.start, lo), min(sh.end, hi)
            blocks.append({"who": names.get(sh.user, sh.user), "override": sh.source == "override",
                           "source": sh.source, "start": wall(start, tz).strftime("%H:%M"),
                           "end": "24:00" if end == hi else wall(end, tz).strftime("%H:%M")})
        days.append({"date": day, "label": day.strftime("%a %d %b"), "blocks": blocks})
    return days


@router.get("/schedules")
def schedules_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        rows = oncall.list_schedules(s)
        now_shifts = [(r, oncall.on_call(s, schedule=r, at=ctx.now, now=ctx.now)) for r in rows]
        shadowing = {r.id: oncall.shadows_at(s, schedule=r, at=ctx.now) for r in rows}
        people = oncall.users_by_id(s, [parse_uuid(sh.user, "user") for _, sh in now_shifts if sh] +
                                    [uid for ids in shadowing.values() for uid in ids])
        teams = oncall.team_slugs(s, [r.team_id for r in rows])
    listing = [{"slug": r.slug, "name": r.name, "timezone": r.timezone,
                "team": teams.get(r.team_id) if r.team_id else None,
                "on_call": people[parse_uuid(sh.user, "user")].name if sh and parse_uuid(sh.user, "user") in people
                else None, "shadows": [people[u].name for u in shadowing[r.id] if u in people]} for r, sh in now_shifts]
    return render(request, ctx, "schedules.html", schedules=listing)


@router.get("/schedules/{key}")
def schedule_page(request: Request, key: str, week: str = "", ctx: WebCtx = Depends(web_ctx)) -> Response:
    tz = tz_or_utc(ctx.user.time_zone)
    monday = _week_start(week, wall(ctx.now, tz).date())
    start = resolve_wall(datetime.combine(monday, time()), tz)
    end = resolve_wall(datetime.combine(monday + timedelta(days=7), time()), tz)
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key[:100])
        shifts = oncall.shifts(s, schedule=schedule, start=start, end=end, now=ctx.now)
        overrides = oncall.list_overrides(s, schedule=schedule, now=ctx.now, limit=100)
        layers = oncall.list_layers(s, [schedule.id])[schedule.id]
        members = oncall.layer_members(s, [layer.id for layer in layers])
        shadows = oncall.shadows_at(s, schedule=schedule, at=ctx.now)
        ids = {parse_uuid(x.user, "user") for x in shifts} | {o.user_id for o in overrides} | {
            uid for m in members.values() for uid in m} | set(shadows)
        people = oncall.users_by_id(s, ids)
        names = {str(uid): u.name for uid, u in people.items()}
        choices = [(u.id, u.name) for u in list_users(s, limit=500) if u.is_active] if me.is_admin else []
        on_it = me.user_id in {uid for m in members.values() for uid in m}
        open_swaps = swap_cards(s, me, swaps.list_swaps(s, now=ctx.now, schedule=schedule, state="open"), ctx.now)
    return render(request, ctx, "schedule.html", schedule=schedule, days=week_view(shifts, names, monday, tz),
                  monday=monday, prev_week=(monday - timedelta(days=7)).isoformat(),
                  next_week=(monday + timedelta(days=7)).isoformat(),
                  this_week=(wall(ctx.now, tz).date() - timedelta(days=wall(ctx.now, tz).weekday())),
                  overrides=[{"id": o.id, "who": names.get(str(o.user_id), str(o.user_id)), "start": o.starts_at,
                              "end": o.ends_at, "mine": o.user_id == me.user_id or o.created_by_id == me.user_id}
                             for o in overrides],
                  layers=[{"name": layer.name, "kind": layer.rotation_kind, "shift_hours": layer.shift_hours,
                           "timezone": layer.rotation_timezone, "start": layer.rotation_start,
                           "handoff": wall(layer.rotation_start, tz_or_utc(layer.rotation_timezone)),
                           "restrictions": [restriction_words(r) for r in layer.restrictions],
                           "members": [names.get(str(u), str(u)) for u in members[layer.id]],
                           "shadow": layer.shadow} for layer in layers],
                  shadows=[names.get(str(u), str(u)) for u in shadows],
                  swaps=open_swaps, on_it=on_it, swap_range=default_range(ctx),
                  choices=choices, default_start=local_input(ctx.now, ctx.user.time_zone),
                  default_end=local_input(ctx.now + timedelta(hours=8), ctx.user.time_zone),
                  tz_name=ctx.user.time_zone)


@router.post("/schedules/{key}/overrides")
def add_override(request: Request, key: str, ctx: WebCtx = Depends(web_ctx),
                 form: dict[str, str] = Depends(csrf_form)) -> Response:
    tzname = ctx.user.time_zone
    starts_at = parse_local(field(form, "start", max_len=40), tzname, "start")
    ends_at = parse_local(field(form, "end", max_len=40), tzname, "end")
    who = form.get("user", "").strip()
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key[:100])
        user = parse_uuid(who, "user") if who else None
        oncall.create_override(s, actor=me, now=ctx.now, schedule=schedule, starts_at=starts_at, ends_at=ends_at,
                               user=user)
        slug = schedule.slug
    week = wall(starts_at, tz_or_utc(tzname)).date().isoformat()
    return redirect(f"/schedules/{slug}?week={week}", "Override added")


@router.post("/schedules/{key}/overrides/{override_id}/delete")
def delete_override(request: Request, key: str, override_id: str, ctx: WebCtx = Depends(web_ctx),
                    _form: dict[str, str] = Depends(csrf_form)) -> Response:
    oid = parse_uuid(override_id, "override")
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key[:100])
        oncall.delete_override(s, actor=me, now=ctx.now, schedule=schedule,
                               override=oncall.require_override(s, schedule, oid))
        slug = schedule.slug
    return redirect(f"/schedules/{slug}", "Override removed")


# --- escalation policies -----------------------------------------------------------------------

def _policies(s: Any, rows: list[Any]) -> list[dict[str, Any]]:
    levels = esc.list_levels(s, [p.id for p in rows])
    names = esc.target_names(s, [lv for lvs in levels.values() for lv in lvs])
    used = esc.services_using(s, [p.id for p in rows])
    return [{"slug": p.slug, "name": p.name, "description": p.description, "repeat": p.repeat,
             "services": used[p.id],
             "levels": [{"position": lv.position, "delay": lv.delay_minutes,
                         "targets": [{"type": t.get("type"), "name": names.get(t.get("id"), "(deleted)"),
                                      "href": _target_href(t.get("type"), names.get(t.get("id")))}
                                     for t in lv.targets]} for lv in levels[p.id]]} for p in rows]


def _target_href(kind: str | None, name: str | None) -> str | None:
    if not name:
        return None
    return {"schedule": f"/schedules/{name}"}.get(kind or "")


@router.get("/escalation-policies")
def policies_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        rows = _policies(s, esc.list_policies(s))
    return render(request, ctx, "policies.html", policies=rows)


@router.get("/escalation-policies/{key}")
def policy_page(request: Request, key: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        row = _policies(s, [esc.require_policy(s, key[:100])])[0]
    return render(request, ctx, "policy.html", policy=row)
