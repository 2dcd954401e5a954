"""Console pages that build schedules (admins): /schedules/new, /schedules/{key}/edit with a form
per layer, and deleting a schedule with a confirmation.

Every layer form has two buttons: "Preview" re-renders the page with the final schedule for
the next two weeks as it would be with that layer (layers, restrictions and the stored
overrides, through `oncall.preview_shifts`, writing nothing), and "Save" writes it through the
same service functions the API calls. Both are plain form posts, so they work without JS.
Bad input re-renders the form with the service's message and what was typed.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import Conflict, InvalidInput
from tocsin.escalation import schedule_use
from tocsin.localtime import resolve_wall, wall
from tocsin.oncall import resolve
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ScheduleLayer
from tocsin.oncall.schemas import MAX_MEMBERS
from tocsin.principal import OrgRole, Principal
from tocsin.teams.service import list_teams
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import field, local_input, parse_local, parse_uuid, redirect
from tocsin.web.routes.oncall_pages import restriction_words, tz_or_utc, week_view

router = APIRouter(include_in_schema=False)
PREVIEW_DAYS = 14
RESTRICTION_ROWS = 2  # blank restriction rows offered under a layer's existing ones
DAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
# offered as suggestions (any IANA name is accepted): the regional names, without legacy aliases
_ZONES = ["UTC", *sorted(z for z in available_timezones()
                         if "/" in z and z.split("/")[0] in {"Africa", "America", "Antarctica", "Asia", "Atlantic",
                                                             "Australia", "Europe", "Indian", "Pacific"})]


# --- form values <-> layers ----------------------------------------------------------------------

def _blank_layer(tz_name: str, now: datetime) -> dict[str, Any]:
    start = resolve_wall(datetime.combine(wall(now, tz_or_utc(tz_name)).date(), time(9)), tz_or_utc(tz_name))
    return {"name": "", "kind": "weekly", "timezone": tz_name, "start": local_input(start, tz_name),
            "shift_hours": "24", "members": "", "restrictions": [_blank_row() for _ in range(RESTRICTION_ROWS)],
            "shadow": False}


def _blank_row() -> dict[str, Any]:
    return {"days": set(), "start": "", "end": ""}


def _layer_values(layer: ScheduleLayer, emails: list[str]) -> dict[str, Any]:
    rows = [{"days": set(r["days"]), "start": r["start"], "end": r["end"]} for r in layer.restrictions]
    return {"name": layer.name, "kind": layer.rotation_kind, "timezone": layer.rotation_timezone,
            "start": local_input(layer.rotation_start, layer.rotation_timezone), "shift_hours": str(layer.shift_hours),
            "members": "\n".join(emails), "restrictions": rows + [_blank_row() for _ in range(RESTRICTION_ROWS)],
            "shadow": bool(layer.shadow)}


def _submitted_layer(form: dict[str, str]) -> dict[str, Any]:
    """The layer form's raw values (re-shown as typed when they are refused)."""
    rows = []
    i = 0
    while f"r{i}_start" in form or f"r{i}_end" in form:
        rows.append({"days": {d for d, _ in DAYS if form.get(f"r{i}_d{d}")},
                     "start": form.get(f"r{i}_start", "").strip()[:5], "end": form.get(f"r{i}_end", "").strip()[:5]})
        i += 1
        if i > 50:
            raise InvalidInput("too many restrictions", details={"field": "restrictions"})
    return {"name": form.get("layer_name", "").strip()[:200], "kind": form.get("layer_kind", "weekly"),
            "timezone": form.get("layer_timezone", "UTC").strip()[:64] or "UTC",
            "start": form.get("layer_start", "").strip()[:40], "shift_hours": form.get("layer_shift_hours", "24").strip(),
            "members": form.get("layer_members", "")[:20_000], "restrictions": rows,
            "shadow": form.get("layer_shadow") == "1"}


def _layer_args(values: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for create_layer / update_layer / draft_layer; raise InvalidInput."""
    if not values["name"]:
        raise InvalidInput("layer name is required", details={"field": "layer_name"})
    if values["kind"] not in resolve.ROTATION_KINDS:
        raise InvalidInput("rotation must be daily, weekly or custom", details={"field": "layer_kind"})
    try:
        hours = int(values["shift_hours"] or "24")
    except ValueError:
        raise InvalidInput("shift length: a whole number of hours", details={"field": "layer_shift_hours"}) from None
    if not 1 <= hours <= resolve.MAX_SHIFT_HOURS:
        raise InvalidInput(f"shift length: from 1 to {resolve.MAX_SHIFT_HOURS} hours", details={"field": "layer_shift_hours"})
    if not values["start"]:
        raise InvalidInput("first hand-off is required", details={"field": "layer_start"})
    members = [m.strip() for line in values["members"].splitlines() for m in line.split(",") if m.strip()]
    if len(members) > MAX_MEMBERS:
        raise InvalidInput(f"a layer has at most {MAX_MEMBERS} members", details={"field": "layer_members"})
    restrictions = []
    for i, row in enumerate(values["restrictions"]):
        if not (row["days"] or row["start"] or row["end"]):
            continue
        if not row["days"]:
            raise InvalidInput(f"restriction {i + 1}: tick at least one day", details={"field": f"r{i}"})
        if not row["start"] or not row["end"]:
            raise InvalidInput(f"restriction {i + 1}: give a start and an end time", details={"field": f"r{i}"})
        restrictions.append({"days": sorted(row["days"]), "start": row["start"], "end": row["end"]})
    return {"name": values["name"], "kind": values["kind"], "timezone": values["timezone"],
            "start": parse_local(values["start"], values["timezone"], "layer_start"), "shift_hours": hours,
            "members": members, "restrictions": restrictions, "shadow": bool(values.get("shadow"))}


def _preview(s: Session, ctx: WebCtx, schedule: Schedule | None,
             layers: list[resolve.Layer]) -> dict[str, Any]:
    """Two weeks of the final schedule from this week's Monday in the viewer's zone, as week grids."""
    tz = tz_or_utc(ctx.user.time_zone)
    today = wall(ctx.now, tz).date()
    monday = today - timedelta(days=today.weekday())
    start = resolve_wall(datetime.combine(monday, time()), tz)
    end = resolve_wall(datetime.combine(monday + timedelta(days=PREVIEW_DAYS), time()), tz)
    found = oncall.preview_shifts(s, schedule=schedule, layers=layers, start=start, end=end)
    names = {str(uid): u.name for uid, u in oncall.users_by_id(
        s, [parse_uuid(x.user, "user") for x in found]).items()}
    weeks = [week_view(found, names, monday + timedelta(days=7 * n), tz) for n in range(PREVIEW_DAYS // 7)]
    people = sorted({names.get(x.user, x.user) for x in found if x.end > ctx.now})
    return {"weeks": weeks, "people": people, "count": len(found)}


def _admin(me: Principal) -> None:
    me.require(OrgRole.admin, "changing schedules")


def _page(request: Request, ctx: WebCtx, s: Session, *, schedule: Schedule | None, settings: dict[str, str],
          layer_forms: list[dict[str, Any]], preview: dict[str, Any] | None = None, error: str | None = None,
          previewed: str | None = None, status_code: int = 200) -> Response:
    teams = [(t.slug, t.name) for t in list_teams(s, limit=500)]
    return render(request, ctx, "schedule_edit.html", status_code=status_code, schedule=schedule,
                  settings=settings, layer_forms=layer_forms, preview=preview, error=error, previewed=previewed,
                  teams=teams, zones=_ZONES, days=DAYS, preview_days=PREVIEW_DAYS, tz_name=ctx.user.time_zone)


def _layer_form(values: dict[str, Any], *, prefix: str, action: str, title: str,
                layer_id: str | None = None) -> dict[str, Any]:
    return {"fields": values, "prefix": prefix, "action": action, "title": title, "layer_id": layer_id,
            "words": [restriction_words(r) for r in values["restrictions"] if r["days"] and r["start"] and r["end"]]}


# --- new schedule --------------------------------------------------------------------------------

def _new_settings(form: dict[str, str] | None = None) -> dict[str, str]:
    form = form or {}
    return {k: form.get(k, "").strip()[:10_000] for k in ("name", "slug", "team", "timezone", "description")}


@router.get("/schedules/new")
def new_schedule_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        _admin(me)
        settings = _new_settings()
        settings["timezone"] = ctx.user.time_zone or "UTC"
        form = _layer_form(_blank_layer(settings["timezone"], ctx.now), prefix="new", action="/schedules/new",
                           title="First layer")
        return _page(request, ctx, s, schedule=None, settings=settings, layer_forms=[form])


@router.post("/schedules/new")
def create_schedule(request: Request, ctx: WebCtx = Depends(web_ctx),
                    form: dict[str, str] = Depends(csrf_form)) -> Response:
    settings = _new_settings(form)
    values = _submitted_layer(form)
    wants_layer = bool(values["name"] or values["members"].strip())
    with ctx.work() as (s, me):
        _admin(me)
        layer_form = _layer_form(values, prefix="new", action="/schedules/new", title="First layer")
        try:
            if form.get("action") == "preview":
                args = _layer_args(values) if wants_layer else None
                drafts = [oncall.draft_layer(s, now=ctx.now, **args)] if args else []
                if args and args["shadow"]:  # checked, but not on call: not in the preview
                    drafts = []
                return _page(request, ctx, s, schedule=None, settings=settings, layer_forms=[layer_form],
                             preview=_preview(s, ctx, None, drafts), previewed="new")
            schedule = oncall.create_schedule(s, actor=me, now=ctx.now, name=field(form, "name", max_len=200),
                                              slug=settings["slug"] or None, description=settings["description"],
                                              timezone=settings["timezone"] or "UTC", team=settings["team"] or None)
            if wants_layer:
                oncall.create_layer(s, actor=me, now=ctx.now, schedule=schedule, **_layer_args(values))
            slug = schedule.slug
        except (InvalidInput, Conflict) as exc:
            s.rollback()
            return _page(request, ctx, s, schedule=None, settings=settings, layer_forms=[layer_form],
                         error=exc.message, status_code=409 if isinstance(exc, Conflict) else 422)
    return redirect(f"/schedules/{slug}/edit", "Schedule created")


# --- edit an existing schedule -------------------------------------------------------------------

def _edit_forms(s: Session, ctx: WebCtx, schedule: Schedule,
                replace: tuple[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A form per stored layer (the one named in `replace` showing submitted values) and an add form."""
    rows = oncall.list_layers(s, [schedule.id])[schedule.id]
    members = oncall.layer_members(s, [r.id for r in rows])
    users = oncall.users_by_id(s, [u for ids in members.values() for u in ids])
    forms = []
    for n, row in enumerate(rows, start=1):
        values = _layer_values(row, [users[u].email for u in members[row.id] if u in users])
        if replace and replace[0] == str(row.id):
            values = replace[1]
        forms.append(_layer_form(values, prefix=f"l{n}", action=f"/schedules/{schedule.slug}/layers/{row.id}",
                                 title=f"Layer {n}: {row.name}", layer_id=str(row.id)))
    add = replace[1] if replace and replace[0] == "add" else _blank_layer(schedule.timezone, ctx.now)
    forms.append(_layer_form(add, prefix="add", action=f"/schedules/{schedule.slug}/layers",
                             title="Add a layer (above the others: it wins where they overlap)"))
    return forms


def _settings_of(s: Session, schedule: Schedule) -> dict[str, str]:
    team = oncall.team_slugs(s, [schedule.team_id]).get(schedule.team_id) if schedule.team_id else None
    return {"name": schedule.name, "slug": schedule.slug, "team": team or "", "timezone": schedule.timezone,
            "description": schedule.description}


@router.get("/schedules/{key}/edit")
def edit_schedule_page(request: Request, key: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        _admin(me)
        schedule = oncall.require_schedule(s, key[:100])
        return _page(request, ctx, s, schedule=schedule, settings=_settings_of(s, schedule),
                     layer_forms=_edit_forms(s, ctx, schedule))


@router.post("/schedules/{key}/edit")
def update_schedule(request: Request, key: str, ctx: WebCtx = Depends(web_ctx),
                    form: dict[str, str] = Depends(csrf_form)) -> Response:
    settings = _new_settings(form)
    with ctx.work() as (s, me):
        _admin(me)
        schedule = oncall.require_schedule(s, key[:100])
        settings["slug"] = schedule.slug
        try:
            oncall.update_schedule(s, actor=me, now=ctx.now, schedule=schedule, name=field(form, "name", max_len=200),
                                   description=settings["description"], timezone=settings["timezone"] or "UTC",
                                   team=settings["team"] or None)
        except InvalidInput as exc:
            s.rollback()
            schedule = oncall.require_schedule(s, key[:100])
            return _page(request, ctx, s, schedule=schedule, settings=settings,
                         layer_forms=_edit_forms(s, ctx, schedule), error=exc.message, status_code=422)
        slug = schedule.slug
    return redirect(f"/schedules/{slug}/edit", "Schedule saved")


def _save_or_preview(request: Request, ctx: WebCtx, form: dict[str, str], key: str,
                     layer_id: str | None) -> Response:
    values = _submitted_layer(form)
    with ctx.work() as (s, me):
        _admin(me)
        schedule = oncall.require_schedule(s, key[:100])
        target = oncall.require_layer(s, schedule, parse_uuid(layer_id, "layer")) if layer_id else None
        try:
            args = _layer_args(values)
            shadow = args.pop("shadow")
            if form.get("action") == "preview":  # shadow layers are not on call: the preview leaves them out
                draft = oncall.draft_layer(s, now=ctx.now, **args)
                stored = oncall.stored_layers(s, schedule)
                layers = [draft if target is not None and row.id == target.id else value for row, value in stored
                          if not row.shadow or (target is not None and row.id == target.id)]
                if target is None:
                    layers.append(draft)
                if shadow:
                    layers = [x for x in layers if x is not draft]
                return _page(request, ctx, s, schedule=schedule, settings=_settings_of(s, schedule),
                             layer_forms=_edit_forms(s, ctx, schedule, (layer_id or "add", values)),
                             preview=_preview(s, ctx, schedule, layers), previewed=layer_id or "add")
            if target is None:
                oncall.create_layer(s, actor=me, now=ctx.now, schedule=schedule, shadow=shadow, **args)
            else:
                oncall.update_layer(s, actor=me, now=ctx.now, schedule=schedule, layer=target, shadow=shadow, **args)
        except (InvalidInput, Conflict) as exc:
            s.rollback()
            schedule = oncall.require_schedule(s, key[:100])
            return _page(request, ctx, s, schedule=schedule, settings=_settings_of(s, schedule),
                         layer_forms=_edit_forms(s, ctx, schedule, (layer_id or "add", values)), error=exc.message,
                         previewed=layer_id or "add", status_code=409 if isinstance(exc, Conflict) else 422)
        slug = schedule.slug
    return redirect(f"/schedules/{slug}/edit", "Layer saved" if layer_id else "Layer added")


@router.post("/schedules/{key}/layers")
def add_layer(request: Request, key: str, ctx: WebCtx = Depends(web_ctx),
              form: dict[str, str] = Depends(csrf_form)) -> Response:
    return _save_or_preview(request, ctx, form, key, None)


@router.post("/schedules/{key}/layers/{layer_id}")
def change_layer(request: Request, key: str, layer_id: str, ctx: WebCtx = Depends(web_ctx),
                 form: dict[str, str] = Depends(csrf_form)) -> Response:
    return _save_or_preview(request, ctx, form, key, layer_id)


@router.post("/schedules/{key}/layers/{layer_id}/delete")
def delete_layer(request: Request, key: str, layer_id: str, ctx: WebCtx = Depends(web_ctx),
                 _form: dict[str, str] = Depends(csrf_form)) -> Response:
    lid = parse_uuid(layer_id, "layer")
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key[:100])
        oncall.delete_layer(s, actor=me, now=ctx.now, schedule=schedule, layer=oncall.require_layer(s, schedule, lid))
        slug = schedule.slug
    return redirect(f"/schedules/{slug}/edit", "Layer deleted")


# --- delete a schedule ---------------------------------------------------------------------------

@router.get("/schedules/{key}/delete")
def delete_schedule_page(request: Request, key: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "deleting schedules")
        schedule = oncall.require_schedule(s, key[:100])
        policies = schedule_use.policies_using(s, schedule)
    return render(request, ctx, "schedule_delete.html", schedule=schedule, policies=policies)


@router.post("/schedules/{key}/delete")
def delete_schedule(request: Request, key: str, ctx: WebCtx = Depends(web_ctx),
                    _form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        schedule = oncall.require_schedule(s, key[:100])
        me.require(OrgRole.admin, "deleting schedules")
        schedule_use.refuse_if_used(s, schedule)
        name = schedule.name
        oncall.delete_schedule(s, actor=me, now=ctx.now, schedule=schedule)
    return redirect("/schedules", f"Schedule {name} deleted")
