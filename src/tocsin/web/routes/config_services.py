"""Console pages that add, change and delete services (admins), through the services catalog, the
escalation service and the catalog flow the API calls: the same validation, audit entries and errors.

The form covers every field the API's create and patch accept, plus the service's escalation policy
(the API's PUT /services/{key}/escalation-policy). Alert settings are shown as plain fields (labels
to group by, windows as durations such as 90s, 5m, 1h, 1d, support hours) and stored as the JSON
`services/alert_settings.py` reads; defaults are left out of it. A refused form is shown again
with the person's input and the reason.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.escalation import service as esc
from tocsin.flows import catalog
from tocsin.http.errors import status_for
from tocsin.principal import OrgRole
from tocsin.services import service as services
from tocsin.services.alert_settings import DEFAULT_FLAP_WINDOW, DEFAULT_GROUP_WINDOW, parse_settings
from tocsin.services.models import Service
from tocsin.teams import service as teams
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import field, redirect

router = APIRouter(include_in_schema=False)
WEEKDAYS = [(1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"), (6, "Saturday"),
            (7, "Sunday")]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d{1,9})\s*([smhd]?)$")


def duration_text(seconds: int) -> str:
    """Seconds as the shortest exact duration the form reads back: 1d, 2h, 5m or 90s."""
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_duration(text: str, name: str) -> int:
    """A duration such as 90s, 5m, 1h or 1d (a bare number is minutes) -> seconds; the service checks the range."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"{name}: give a duration such as 90s, 5m, 1h or 1d", details={"field": name})
    return int(match.group(1)) * _UNITS[match.group(2) or "m"]


def values_of(s: Session, svc: Service) -> dict[str, Any]:
    """The form's values for an existing service."""
    settings = parse_settings(svc.alert_settings)
    hours = settings.support_hours
    team = teams.get_team(s, svc.owner_team_id) if svc.owner_team_id else None
    policy = esc.get_policy(s, svc.escalation_policy_id) if svc.escalation_policy_id else None
    return {"name": svc.name, "slug": svc.slug, "description": svc.description.strip(), "owner_team": team.slug if team else "",
            "tier": str(svc.tier), "runbook_url": svc.runbook_url or "",
            "depends_on": services.dependency_slugs(s, svc.id), "paging_unit": svc.paging_unit, "drill": svc.drill,
            "policy": policy.slug if policy else "", "group_by": ", ".join(settings.group_by),
            "group_window": duration_text(settings.group_window_seconds),
            "flap_window": duration_text(settings.flap_window_seconds),
            "sh_on": hours is not None, "sh_timezone": hours.timezone if hours else "",
            "sh_days": sorted(hours.days) if hours else [1, 2, 3, 4, 5],
            "sh_start": f"{hours.start:%H:%M}" if hours else "09:00", "sh_end": f"{hours.end:%H:%M}" if hours else "17:00"}


def _default_values(ctx: WebCtx) -> dict[str, Any]:
    return {"name": "", "slug": "", "description": "", "owner_team": "", "tier": "3", "runbook_url": "",
            "depends_on": [], "paging_unit": "group", "drill": False, "policy": "", "group_by": "",
            "group_window": duration_text(DEFAULT_GROUP_WINDOW), "flap_window": duration_text(DEFAULT_FLAP_WINDOW),
            "sh_on": False, "sh_timezone": ctx.user.time_zone or "UTC", "sh_days": [1, 2, 3, 4, 5],
            "sh_start": "09:00", "sh_end": "17:00"}


def values_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The submitted form as the same shape as `values_of` (raw text, to show again when refused)."""
    days = []
    for n, _label in WEEKDAYS:
        if form.get(f"day:{n}"):
            days.append(n)
    return {"name": form.get("name", "").strip(), "slug": form.get("slug", "").strip(),
            "description": form.get("description", "").strip(),
            "owner_team": form.get("owner_team", "").strip(), "tier": form.get("tier", "3").strip(),
            "runbook_url": form.get("runbook_url", "").strip(),
            "depends_on": sorted(k.removeprefix("dep:") for k, v in form.items() if k.startswith("dep:") and v),
            "paging_unit": form.get("paging_unit", "group"), "drill": bool(form.get("drill")), "policy": form.get("policy", "").strip(),
            "group_by": form.get("group_by", ""), "group_window": form.get("group_window", ""),
            "flap_window": form.get("flap_window", ""), "sh_on": bool(form.get("sh_on")),
            "sh_timezone": form.get("sh_timezone", "").strip(), "sh_days": days,
            "sh_start": form.get("sh_start", "").strip(), "sh_end": form.get("sh_end", "").strip()}


def _tier(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("tier must be 1 (most critical) to 4", details={"field": "tier"}) from None


def alert_settings_of(v: dict[str, Any]) -> dict[str, Any] | None:
    """The alert_settings JSON for the form's values, without the defaults (None when all are defaults)."""
    out: dict[str, Any] = {}
    group_by = [k.strip() for k in re.split(r"[,\s]+", v["group_by"]) if k.strip()]
    if group_by:
        out["group_by"] = group_by
    window = parse_duration(v["group_window"] or duration_text(DEFAULT_GROUP_WINDOW), "group_window")
    if window != DEFAULT_GROUP_WINDOW:
        out["group_window_seconds"] = window
    flap = parse_duration(v["flap_window"] or "0s", "flap_window")
    if flap != DEFAULT_FLAP_WINDOW:
        out["flap_window_seconds"] = flap
    if v["sh_on"]:
        out["support_hours"] = {"timezone": v["sh_timezone"], "days": v["sh_days"], "start": v["sh_start"],
                                "end": v["sh_end"]}
    return out or None


def changes(v: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments of `create_service`/`update_service` for the form's values; with `before`
    (an existing service's values), only what differs, so a save that changes nothing is not audited."""
    new = {"name": v["name"], "description": v["description"], "owner_team": v["owner_team"] or None,
           "tier": _tier(v["tier"]), "runbook_url": v["runbook_url"] or None, "depends_on": v["depends_on"],
           "alert_settings": alert_settings_of(v), "paging_unit": v["paging_unit"]}
    if before is None:
        return {**new, "drill": bool(v.get("drill"))}  # a drill service is one from its creation
    old = {**changes(before, None), "alert_settings": alert_settings_of(before)}
    return {k: value for k, value in new.items() if value != old[k]}


def _form_page(request: Request, ctx: WebCtx, s: Session, *, values: dict[str, Any], service: Service | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    others = [x for x in sorted(services.list_services(s, limit=500), key=lambda x: x.slug)
              if service is None or x.id != service.id]
    return render(request, ctx, "service_form.html", status_code=status_code, v=values, service=service,
                  error=error, teams=sorted(teams.list_teams(s, limit=500), key=lambda t: t.name.lower()),
                  policies=esc.list_policies(s), others=others, weekdays=WEEKDAYS,
                  used_by=services.dependent_slugs(s, service.id) if service else [])


def _refused(request: Request, ctx: WebCtx, exc: InvalidInput | Conflict | NotFound, values: dict[str, Any],
             key: str | None = None) -> Response:
    with ctx.work() as (s, _me):
        service = services.require_service(s, key) if key else None
        return _form_page(request, ctx, s, values=values, service=service, error=exc.message,
                          status_code=status_for(exc))


@router.get("/services/new")
def new_service(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "creating services")
    with ctx.work() as (s, _me):
        return _form_page(request, ctx, s, values=_default_values(ctx))


@router.post("/services")
def create_service(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    values = values_from_form(form)
    try:
        with ctx.work() as (s, me):
            svc = services.create_service(s, actor=me, now=ctx.now, slug=values["slug"] or None,
                                          **changes(values, None))
            if values["policy"]:
                esc.set_service_policy(s, actor=me, now=ctx.now, service=svc, policy=values["policy"])
            slug = svc.slug
    except (InvalidInput, Conflict, NotFound) as exc:  # NotFound: a team or dependency deleted meanwhile
        return _refused(request, ctx, exc, values)
    return redirect(f"/services/{slug}", f"Service {slug} created")


@router.get("/services/{key}/edit")
def edit_service(request: Request, key: str, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "changing services")
    with ctx.work() as (s, _me):
        svc = services.require_service(s, key[:100])
        return _form_page(request, ctx, s, values=values_of(s, svc), service=svc)


@router.post("/services/{key}/edit")
def update_service(request: Request, key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    values = values_from_form(form)
    try:
        with ctx.work() as (s, me):
            svc = services.require_service(s, key[:100])
            before = values_of(s, svc)
            kwargs = changes(values, before)
            if kwargs:
                services.update_service(s, actor=me, now=ctx.now, service=svc, **kwargs)
            if values["policy"] != before["policy"]:
                esc.set_service_policy(s, actor=me, now=ctx.now, service=svc, policy=values["policy"] or None)
            elif not kwargs:
                me.require(OrgRole.admin, "changing services")  # nothing to change is still not for everyone
            slug = svc.slug
    except (InvalidInput, Conflict) as exc:
        return _refused(request, ctx, exc, values, key[:100])
    return redirect(f"/services/{slug}", f"Service {slug} saved")


@router.post("/services/{key}/delete")
def delete_service(key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        svc = services.require_service(s, key[:100])
        me.require(OrgRole.admin, "deleting services")
        if field(form, "confirm", max_len=100) != svc.slug:
            raise InvalidInput(f"type the service's key {svc.slug} to confirm the deletion",
                               details={"field": "confirm"})
        slug = svc.slug
        catalog.delete_service(s, actor=me, now=ctx.now, service=svc)
    return redirect("/services", f"Service {slug} deleted")
