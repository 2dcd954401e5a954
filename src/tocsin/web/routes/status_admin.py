"""Console pages for managing public status pages, through the status page service (as the API's
statuspages routes do): list pages (linking to the public `/status/<slug>`), create a page (admin);
components and groups: add, rename, move into or out of a group, delete (admin); set a component's
status (responders); public incidents NOT tied to an internal incident: post, update, resolve
(responders); maintenance: schedule, post an update, complete (responders); subscribers: list and
remove (admin). Updates posted from an incident room live in the room's routes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.legal import service as legal
from tocsin.principal import OrgRole
from tocsin.services.service import require_service
from tocsin.statuspage import service as sp
from tocsin.statuspage import subscribers as subs
from tocsin.statuspage.maintenance import TRANSITIONS
from tocsin.statuspage.types import (
    FINISHED,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    StatusIncidentKind,
)
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
INCIDENT_STATUSES = [s.value for s in IncidentStatus if s is not IncidentStatus.postmortem]
IMPACTS = [i.value for i in Impact if i is not Impact.maintenance]


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
        updates = sp.updates_of(s, [i.id for i in incidents + maintenances])
        affected = sp.components_of(s, [i.id for i in incidents + maintenances])
        subscribers = subs.list_subscribers(s, page) if ctx.principal.is_admin else []
    groups = {c.id: c.name for c in components if c.is_group}
    return render(request, ctx, "status_page.html", page=page, components=components, groups=groups,
                  statuses=STATUSES, maintenances=maintenances, incidents=incidents, updates=updates,
                  affected=affected, subscribers=subscribers, incident_statuses=INCIDENT_STATUSES, impacts=IMPACTS,
                  finished=FINISHED, maintenance_next=TRANSITIONS,
                  completed=MaintenanceStatus.completed.value,
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


# --- components: rename, move, delete (admin) -----------------------------------------------------

@router.post("/status-pages/{slug}/components/{component_id}")
def edit_component(request: Request, slug: str, component_id: str, ctx: WebCtx = Depends(web_ctx),
                   form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        component = sp.require_component(s, page, parse_uuid(component_id, "component"))
        changes: dict[str, Any] = {"name": field(form, "name", max_len=200)}
        if "group" in form:
            group_id = form["group"].strip()
            changes["group"] = sp.require_component(s, page, parse_uuid(group_id, "component group")) \
                if group_id else None
        sp.update_component(s, actor=me, now=ctx.now, component=component, changes=changes)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Component saved")


@router.post("/status-pages/{slug}/components/{component_id}/delete")
def delete_component(request: Request, slug: str, component_id: str, ctx: WebCtx = Depends(web_ctx),
                     _form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        component = sp.require_component(s, page, parse_uuid(component_id, "component"))
        name = component.name
        sp.delete_component(s, actor=me, now=ctx.now, component=component)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", f"{name} removed from the page")


# --- public incidents not tied to an internal incident (responders) ------------------------------

def _component_statuses(form: dict[str, str]) -> dict[uuid.UUID, str]:
    """`component:<id>` selects; an empty choice leaves the component as it is."""
    return {parse_uuid(k.split(":", 1)[1], "component"): v.strip()[:32] for k, v in form.items()
            if k.startswith("component:") and v.strip()}


@router.post("/status-pages/{slug}/incidents")
def open_incident(request: Request, slug: str, ctx: WebCtx = Depends(web_ctx),
                  form: dict[str, str] = Depends(csrf_form)) -> Response:
    impact = form.get("impact", "").strip()[:32] or None
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        sp.post_incident_update(s, actor=me, now=ctx.now, page=page, name=field(form, "name", max_len=300),
                                status=field(form, "status", max_len=32), body=field(form, "body", max_len=10_000),
                                component_statuses=_component_statuses(form), impact=impact,
                                deliver_notifications=form.get("notify", "on") == "on")
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Public incident posted")


@router.post("/status-pages/{slug}/incidents/{status_incident_id}/updates")
def update_incident(request: Request, slug: str, status_incident_id: str, ctx: WebCtx = Depends(web_ctx),
                    form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        si = sp.require_status_incident(s, page, parse_uuid(status_incident_id, "public incident"))
        status = field(form, "status", max_len=32)
        outcome = legal.post_update(s, actor=me, now=ctx.now, severities=ctx.settings.legal_gate(), page=page,
                                    status_incident=si, status=status, body=field(form, "body", max_len=10_000),
                                    component_statuses=_component_statuses(form),
                                    deliver_notifications=form.get("notify", "on") == "on")
        page_slug = page.slug
    if outcome.draft is not None:  # linked to a security incident under the legal gate
        return redirect(f"/status-pages/{page_slug}", "Held for Legal: the incident's Legal role holder approves "
                                                      "it in the incident room before it is published")
    return redirect(f"/status-pages/{page_slug}",
                    "Public incident resolved" if status == IncidentStatus.resolved.value else "Update posted")


# --- maintenance updates (responders) -------------------------------------------------------------

@router.post("/status-pages/{slug}/maintenance/{maintenance_id}")
def update_maintenance(request: Request, slug: str, maintenance_id: str, ctx: WebCtx = Depends(web_ctx),
                       form: dict[str, str] = Depends(csrf_form)) -> Response:
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        m = sp.require_status_incident(s, page, parse_uuid(maintenance_id, "maintenance"),
                                       StatusIncidentKind.maintenance)
        status = field(form, "status", max_len=32)
        sp.update_maintenance(s, actor=me, now=ctx.now, maintenance=m, status=status,
                              body=form.get("body", "").strip()[:10_000] or None)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", f"Maintenance {status.replace('_', ' ')}")


# --- subscribers (admin) ----------------------------------------------------------------------------

@router.post("/status-pages/{slug}/subscribers/{subscriber_id}/remove")
def remove_subscriber(request: Request, slug: str, subscriber_id: str, ctx: WebCtx = Depends(web_ctx),
                      _form: dict[str, str] = Depends(csrf_form)) -> Response:
    ctx.principal.require(OrgRole.admin, "removing status page subscribers")
    with ctx.work() as (s, me):
        page = sp.require_page(s, slug[:100])
        subscriber = subs.require_subscriber(s, page, parse_uuid(subscriber_id, "subscriber"))
        subs.remove_subscriber(s, actor=me, now=ctx.now, subscriber=subscriber)
        page_slug = page.slug
    return redirect(f"/status-pages/{page_slug}", "Subscriber removed: they get no more messages")
