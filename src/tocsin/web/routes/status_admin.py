"""Console pages for managing public status pages, through the status page service: list pages
(linking to the public `/status/<slug>`), create a page (admin), add components (admin), set a
component's status and schedule maintenance (responders)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.services.service import require_service
from tocsin.statuspage import service as sp
from tocsin.statuspage.types import ComponentStatus, StatusIncidentKind
from tocsin.web.auth import WebCtx, csrf_form, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import (
    field,
    local_input,
    parse_local,
    parse_uuid,
    redirect,
)

router = APIRouter(include_in_schema=False)
STATUSES = [c.value for c in ComponentStatus]


@router.get("/status-pages")
def pages(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        rows = sp.list_pages(s)
    return render(request, ctx, "status_pages.html", pages=rows)


@router.post("/status-pages")
def create_page(request: Request, ctx: WebCtx = Depends(web_ctx),
                form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.create_page(s, actor=me, now=ctx.now, slug=field(form, "slug", max_len=64),
                              name=field(form, "name", max_len=200),
                              description=form.get("description", "")[:5000],
                              time_zone=form.get("time_zone", "").strip()[:64] or "UTC")
        slug = page.slug
    return redirect(f"/status-pages/{slug}", "Status page created")


@router.get("/status-pages/{slug}")
def page_detail(request: Request, slug: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        page = sp.require_page(s, slug[:100])
        components = sp.list_components(s, page)
        maintenances = sp.list_status_incidents(s, page=page, kind=StatusIncidentKind.maintenance, limit=20)
        incidents = sp.list_status_incidents(s, page=page, kind=StatusIncidentKind.incident, limit=20)
    groups = {c.id: c.name for c in components if c.is_group}
    return render(request, ctx, "status_page.html", page=page, components=components, groups=groups,
                  statuses=STATUSES, maintenances=maintenances, incidents=incidents,
                  default_start=local_input(ctx.now, ctx.user.time_zone), tz_name=ctx.user.time_zone)


@router.post("/status-pages/{slug}/components")
def add_component(request: Request, slug: str, ctx: WebCtx = Depends(web_ctx),
                  form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        group_id = form.get("group", "").strip()
        group = sp.require_component(s, page, parse_uuid(group_id, "component group")) if group_id else None
        service_key = form.get("service", "").strip()[:64]
        service_id = require_service(s, service_key).id if service_key else None
        sp.create_component(s, actor=me, now=ctx.now, page=page, name=field(form, "name", max_len=200),
                            description=form.get("description", "")[:5000], group=group,
                            is_group=form.get("is_group") == "on", service_id=service_id)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Component added")


@router.post("/status-pages/{slug}/components/{component_id}/status")
def set_status(request: Request, slug: str, component_id: str, ctx: WebCtx = Depends(web_ctx),
               form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        component = sp.require_component(s, page, parse_uuid(component_id, "component"))
        sp.set_component_status(s, actor=me, now=ctx.now, component=component,
                                status=field(form, "status", max_len=32))
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Component status changed")


@router.post("/status-pages/{slug}/maintenance")
def schedule(request: Request, slug: str, ctx: WebCtx = Depends(web_ctx),
             form: dict[str, str] = Depends(csrf_form)) -> Response:
    tz = ctx.user.time_zone
    start = parse_local(field(form, "start", max_len=40), tz, "start")
    end = parse_local(field(form, "end", max_len=40), tz, "end")
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        ids = [parse_uuid(k.split(":", 1)[1], "component") for k, v in form.items()
               if k.startswith("component:") and v == "on"]
        sp.schedule_maintenance(s, actor=me, now=ctx.now, page=page, name=field(form, "name", max_len=300),
                                body=field(form, "body", max_len=10_000), scheduled_for=start, scheduled_until=end,
                                component_ids=ids)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Maintenance scheduled")
