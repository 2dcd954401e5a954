"""Managing status pages through the API: pages, components, public incidents, maintenances,
subscribers, and publishing postmortems (`router`, /api/v1); and the public subscriber endpoints
(`public`, /status/{slug}/subscribe|confirm|unsubscribe) that answer small HTML pages."""

from __future__ import annotations

import html
import threading
import uuid
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.http.requests import client_address, same_origin
from tocsin.incidents.access import require_incident
from tocsin.legal import service as legal
from tocsin.legal.schemas import DraftOut
from tocsin.net.policy import user_policy
from tocsin.notify.dispatch import webhook_secret
from tocsin.postmortems.service import require_postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.schemas import Page
from tocsin.services.service import require_service
from tocsin.statuspage import service as svc
from tocsin.statuspage import subscribers as subs
from tocsin.statuspage.models import StatusComponent, StatusIncident, StatusPage
from tocsin.statuspage.ratelimit import SlidingWindow
from tocsin.statuspage.schemas import (
    ComponentIn,
    ComponentOut,
    ComponentPatch,
    FromIncidentIn,
    MaintenanceIn,
    MaintenanceOut,
    MaintenancePatch,
    PageDetailOut,
    PageIn,
    PageOut,
    PagePatch,
    PublishPublicIn,
    StatusIncidentIn,
    StatusIncidentOut,
    StatusUpdateIn,
    SubscriberOut,
    WebhookIn,
    WebhookOut,
)
from tocsin.statuspage.types import StatusIncidentKind
from tocsin.users import throttle

router = APIRouter(prefix="/api/v1", tags=["status pages"], responses=ERROR_RESPONSES)
public = APIRouter(include_in_schema=False)
CtxDep = Annotated[Ctx, Depends(context)]
PAGE = "/status-pages/{slug}"
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}


def _detail(s: Session, page: StatusPage) -> dict[str, Any]:
    return {**PageOut.model_validate(page).model_dump(), "components": svc.list_components(s, page)}


def _incidents_out(s: Session, rows: list[StatusIncident]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    updates, comps = svc.updates_of(s, ids), svc.components_of(s, ids)
    return [{**{k: getattr(r, k) for k in StatusIncidentOut.model_fields if k not in ("components", "updates")},
             "components": [c.id for c in comps[r.id]], "updates": updates[r.id]} for r in rows]


def _service_id(s: Session, key: str | None) -> uuid.UUID | None:
    return require_service(s, key).id if key else None


def _group(s: Session, page: StatusPage, gid: uuid.UUID | None) -> StatusComponent | None:
    return svc.require_component(s, page, gid) if gid else None


# --- pages -----------------------------------------------------------------------------------------

@router.get("/status-pages", response_model=Page[PageOut], summary="List status pages")
def list_pages(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": svc.list_pages(s)}


@router.post("/status-pages", status_code=201, response_model=PageDetailOut, summary="Create a status page (admin)")
def create_page(body: PageIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _detail(s, svc.create_page(s, actor=me, now=ctx.now, **body.model_dump()))


@router.get(PAGE, response_model=PageDetailOut, summary="A status page with its components")
def get_page(slug: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _detail(s, svc.require_page(s, slug))


@router.patch(PAGE, response_model=PageDetailOut, summary="Change a status page (admin)")
def patch_page(slug: str, body: PagePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        return _detail(s, svc.update_page(s, actor=me, now=ctx.now, page=page,
                                          changes=body.model_dump(exclude_unset=True)))


@router.delete(PAGE, status_code=204, responses=NO_CONTENT,
               summary="Delete a status page with its components, incidents and subscribers (admin)")
def delete_page(slug: str, ctx: CtxDep) -> None:
    with ctx.work() as (s, me):
        svc.delete_page(s, actor=me, now=ctx.now, page=svc.require_page(s, slug))


# --- components ------------------------------------------------------------------------------------

@router.get(PAGE + "/components", response_model=Page[ComponentOut], summary="A page's components and groups")
def list_components(slug: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": svc.list_components(s, svc.require_page(s, slug))}


@router.post(PAGE + "/components", status_code=201, response_model=ComponentOut,
             summary="Add a component or group (admin)")
def create_component(slug: str, body: ComponentIn, ctx: CtxDep) -> StatusComponent:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        return svc.create_component(
            s, actor=me, now=ctx.now, page=page, name=body.name, description=body.description,
            group=_group(s, page, body.group), is_group=body.is_group, position=body.position,
            service_id=_service_id(s, body.service), check_id=body.check_id,
            only_show_if_degraded=body.only_show_if_degraded)


@router.patch(PAGE + "/components/{component_id}", response_model=ComponentOut,
              summary="Change a component (admin) or its status (responder)")
def patch_component(slug: str, component_id: uuid.UUID, body: ComponentPatch, ctx: CtxDep) -> StatusComponent:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        component = svc.require_component(s, page, component_id)
        if "group" in changes:
            changes["group"] = _group(s, page, changes["group"])
        if "service" in changes:
            changes["service_id"] = _service_id(s, changes.pop("service"))
        return svc.update_component(s, actor=me, now=ctx.now, component=component, changes=changes)


@router.delete(PAGE + "/components/{component_id}", status_code=204, responses=NO_CONTENT,
               summary="Remove a component; a group takes its components with it (admin)")
def delete_component(slug: str, component_id: uuid.UUID, ctx: CtxDep) -> None:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        svc.delete_component(s, actor=me, now=ctx.now, component=svc.require_component(s, page, component_id))


# --- public incidents --------------------------------------------------------------------------------

@router.get(PAGE + "/incidents", response_model=Page[StatusIncidentOut],
            summary="The page's public incidents with their updates, newest first")
def list_incidents(slug: str, ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        page = svc.require_page(s, slug)
        return {"items": _incidents_out(s, svc.list_status_incidents(s, page=page, kind=StatusIncidentKind.incident,
                                                           limit=limit))}


# A post about a security incident under the legal gate is held as a draft: it answers 202 with the
# draft (legal/schemas.DraftOut) instead of 201 with the public incident, so a client can tell.
HELD: dict[int | str, dict[str, Any]] = {202: {"model": DraftOut, "description": "Held for the incident's Legal "
                                                                                   "role holder (legal gate)"}}


def _held(s: Session, outcome: legal.Outcome) -> JSONResponse | None:
    if outcome.draft is None:
        return None
    return JSONResponse(jsonable_encoder(DraftOut.model_validate(legal.draft_out(s, [outcome.draft])[0])),
                        status_code=202)


def _post(s: Session, me: Principal, ctx: Ctx, request: Request, page: StatusPage, body: Any,
          **kw: Any) -> dict[str, Any] | JSONResponse:
    outcome = legal.post_update(s, actor=me, now=ctx.now, severities=request.app.state.settings.legal_gate(),
                                page=page, status=body.status.value, body=body.body,
                                component_statuses={k: v.value for k, v in body.component_statuses.items()},
                                impact=body.impact, deliver_notifications=body.deliver_notifications, **kw)
    if (held := _held(s, outcome)) is not None:
        return held
    assert outcome.published is not None
    return _incidents_out(s, [outcome.published])[0]


@router.post(PAGE + "/incidents", status_code=201, response_model=StatusIncidentOut, responses=HELD,
             summary="Open a public incident with its first update (responder)")
def create_incident(slug: str, body: StatusIncidentIn, request: Request, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        incident = require_incident(s, me, body.incident) if body.incident else None
        existing = svc.public_incident_for(s, page=page, incident=incident) \
            if incident is not None and not incident.restricted else None
        if existing is not None:
            raise InvalidInput("a public incident was already posted from this incident: post an update to it",
                               details={"status_incident": str(existing.id)})
        return _post(s, me, ctx, request, page, body, incident=incident, name=body.name)


@router.get(PAGE + "/incidents/{status_incident_id}", response_model=StatusIncidentOut,
            summary="One public incident with its updates")
def get_incident(slug: str, status_incident_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        page = svc.require_page(s, slug)
        return _incidents_out(s, [svc.require_status_incident(s, page, status_incident_id)])[0]


@router.post(PAGE + "/incidents/{status_incident_id}/updates", status_code=201, response_model=StatusIncidentOut,
             responses=HELD, summary="Post an update to a public incident (responder)")
def post_update(slug: str, status_incident_id: uuid.UUID, body: StatusUpdateIn, request: Request,
                ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        si = svc.require_status_incident(s, page, status_incident_id)
        return _post(s, me, ctx, request, page, body, status_incident=si, name=body.name)


@router.post("/incidents/{key}/status-updates", status_code=201, response_model=StatusIncidentOut, responses=HELD,
             tags=["incidents"], summary="Post a customer-facing update about this incident to a status page "
                                         "(responder; restricted incidents: admin, as a separate notice; "
                                         "security incidents: 202, held for Legal)")
def post_from_incident(key: str, body: FromIncidentIn, request: Request, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        page = svc.require_page(s, body.page)
        return _post(s, me, ctx, request, page, body, incident=incident, name=body.name)


# --- maintenance -------------------------------------------------------------------------------------

@router.get(PAGE + "/maintenances", response_model=Page[MaintenanceOut],
            summary="The page's scheduled maintenances with their updates, newest first")
def list_maintenances(slug: str, ctx: CtxDep,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        page = svc.require_page(s, slug)
        return {"items": _incidents_out(s, svc.list_status_incidents(s, page=page, kind=StatusIncidentKind.maintenance,
                                                           limit=limit))}


@router.post(PAGE + "/maintenances", status_code=201, response_model=MaintenanceOut,
             summary="Schedule a maintenance (responder)")
def create_maintenance(slug: str, body: MaintenanceIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        m = svc.schedule_maintenance(s, actor=me, now=ctx.now, page=page, name=body.name, body=body.body,
                                     scheduled_for=body.scheduled_for, scheduled_until=body.scheduled_until,
                                     component_ids=body.components, auto_transition=body.auto_transition,
                                     deliver_notifications=body.deliver_notifications)
        return _incidents_out(s, [m])[0]


@router.patch(PAGE + "/maintenances/{maintenance_id}", response_model=MaintenanceOut,
              summary="Post a maintenance update or change its window, name or components (responder)")
def patch_maintenance(slug: str, maintenance_id: uuid.UUID, body: MaintenancePatch, ctx: CtxDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        m = svc.require_status_incident(s, page, maintenance_id, StatusIncidentKind.maintenance)
        status = changes.get("status")
        svc.update_maintenance(s, actor=me, now=ctx.now, maintenance=m, status=status.value if status else None,
                               body=changes.get("body"), name=changes.get("name"),
                               scheduled_for=changes.get("scheduled_for"),
                               scheduled_until=changes.get("scheduled_until"), component_ids=changes.get("components"),
                               auto_transition=changes.get("auto_transition"),
                               deliver_notifications=body.deliver_notifications)
        return _incidents_out(s, [m])[0]


# --- subscribers -------------------------------------------------------------------------------------

def _admin(me: Principal, what: str) -> None:
    me.require(OrgRole.admin, what)


@router.get(PAGE + "/subscribers", response_model=Page[SubscriberOut], summary="The page's subscribers (admin)")
def list_subscribers(slug: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        _admin(me, "listing subscribers")
        return {"items": subs.list_subscribers(s, svc.require_page(s, slug))}


@router.post(PAGE + "/webhooks", status_code=201, response_model=WebhookOut,
             summary="Subscribe a webhook URL to the page (admin); returns its signing secret")
def add_webhook(slug: str, body: WebhookIn, request: Request, ctx: CtxDep) -> dict[str, Any]:
    key = request.app.state.settings.resolved_secret_key()
    with ctx.work() as (s, me):
        sub = subs.add_webhook(s, actor=me, now=ctx.now, page=svc.require_page(s, slug), url=body.url, secret=key,
                               policy=user_policy(request.app.state.settings))
        return {**SubscriberOut.model_validate(sub).model_dump(), "signing_secret": webhook_secret(key, sub.id)}


@router.delete(PAGE + "/subscribers/{subscriber_id}", status_code=204, responses=NO_CONTENT,
               summary="Unsubscribe an email address or webhook (admin)")
def remove_subscriber(slug: str, subscriber_id: uuid.UUID, ctx: CtxDep) -> None:
    with ctx.work() as (s, me):
        page = svc.require_page(s, slug)
        subs.remove_subscriber(s, actor=me, now=ctx.now, subscriber=subs.require_subscriber(s, page, subscriber_id))


# --- postmortems -------------------------------------------------------------------------------------

@router.post("/postmortems/{postmortem_id}/publish-public", response_model=StatusIncidentOut, tags=["postmortems"],
             responses=HELD, summary="Post the postmortem's public text to the public incident on a status page "
                                     "(responder; security incidents: 202, held for Legal)")
def publish_public(postmortem_id: uuid.UUID, body: PublishPublicIn, request: Request, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        pm, _incident = require_postmortem(s, me, postmortem_id, for_update=True)
        page = svc.require_page(s, body.page)
        outcome = legal.publish_postmortem(s, actor=me, now=ctx.now, severities=request.app.state.settings.legal_gate(),
                                           postmortem=pm, page=page)
        if (held := _held(s, outcome)) is not None:
            return held
        assert outcome.published is not None
        return _incidents_out(s, [outcome.published])[0]


# --- public subscriber endpoints (HTML) --------------------------------------------------------------
# The in-memory status page is served by the same event loop, so nothing here touches the
# database on the loop: handlers are plain `def` (FastAPI runs them in its threadpool), and the
# one that reads a body reads it on the loop and does the rest with `run_in_threadpool`.

_HEADERS = {"Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'; "
                                       "base-uri 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
# Per client IP (http.requests.client_address: the peer, or X-Forwarded-For from TOCSIN_TRUSTED_PROXIES):
# SUBSCRIBE_PER_IP requests per SUBSCRIBE_IP_WINDOW, in memory per process (statuspage/ratelimit.py).
SUBSCRIBE_PER_IP, SUBSCRIBE_IP_WINDOW = 10, timedelta(minutes=10)
_LIMITER_LOCK = threading.Lock()


def _html(title: str, message: str, status: int = 200, form: str = "",
          headers: dict[str, str] | None = None) -> HTMLResponse:
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{form}</main></body></html>')
    return HTMLResponse(body, status_code=status, headers={**_HEADERS, **(headers or {})})


def _too_many(retry_after: int) -> HTMLResponse:
    minutes = max(1, -(-retry_after // 60))
    return _html("Too many requests", f"Too many subscription requests came in. Please try again in about "
                                      f"{minutes} minute{'s' if minutes != 1 else ''}.", 429,
                 headers={"Retry-After": str(retry_after)})


def _fail(exc: TocsinError, page: StatusPage | None) -> HTMLResponse:
    if isinstance(exc, subs.TooManySubscriptions):
        return _too_many(exc.retry_after)
    status = 404 if isinstance(exc, NotFound) else 400
    title = "Not found" if status == 404 else "Something is not right"
    return _html(title, exc.message if page is not None or status != 404 else "There is no such status page.", status)


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body())[:10_000].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _db(request: Request) -> Any:
    return request.app.state.db


def _ip_limiter(request: Request) -> SlidingWindow:
    state = request.app.state
    with _LIMITER_LOCK:  # one limiter per app, made on first use
        limiter = getattr(state, "subscribe_ip_limit", None)
        if limiter is None:
            limiter = state.subscribe_ip_limit = SlidingWindow(SUBSCRIBE_PER_IP, SUBSCRIBE_IP_WINDOW)
    return limiter


@public.post("/status/{slug}/subscribe")
async def subscribe(slug: str, request: Request) -> HTMLResponse:
    form = await _form(request)
    return await run_in_threadpool(_subscribe, slug, form.get("email", ""), request)


def _subscribe(slug: str, email: str, request: Request) -> HTMLResponse:
    state = request.app.state
    now = state.clock.now()
    wait = _ip_limiter(request).hit(throttle.address_subject(client_address(request)), now)  # IPv6: its /64
    if wait:
        return _too_many(wait)
    page = None
    try:
        with _db(request).unit_of_work() as s:
            page = svc.require_page(s, slug)
            subs.subscribe_email(s, now=now, page=page, email=email, secret=state.settings.resolved_secret_key())
            name = page.name
    except TocsinError as exc:
        return _fail(exc, page)
    return _html("Check your inbox", f"If the address can receive mail, a message is on its way: open the link in "
                                     f"it to confirm your subscription to {name}.")


@public.get("/status/{slug}/confirm/{token}")
def confirm_page(slug: str, token: str, request: Request) -> HTMLResponse:
    """Only a page with a button: mail link scanners fetch every link in a message, and a GET
    that confirmed would let them complete the double opt-in for an address nobody owns."""
    page = None
    try:
        with _db(request).unit_of_work() as s:
            page = svc.require_page(s, slug)
            subs.find_by_confirm_token(s, now=request.app.state.clock.now(), token=token, page=page)
            name = page.name
    except TocsinError as exc:
        return _fail(exc, page)
    # No CSRF token: the token in the URL is the secret. same-origin referrers make the browser
    # send a real Origin with the POST (no-referrer would make it "null").
    form = (f'<form method="post" action="/status/{html.escape(slug)}/confirm/{html.escape(token)}">'
            f'<button type="submit">Confirm subscription</button></form>')
    return _html(f"Confirm your subscription to {name}", "Get an email whenever this status page posts an update.",
                 form=form, headers={"Referrer-Policy": "same-origin"})


@public.post("/status/{slug}/confirm/{token}")
def confirm(slug: str, token: str, request: Request) -> HTMLResponse:
    if not same_origin(request):
        return _html("Not allowed", "This confirmation must be sent from the status page itself: open the link "
                                    "from the email again.", 403)
    page = None
    try:
        with _db(request).unit_of_work() as s:
            page = svc.require_page(s, slug)
            subs.confirm(s, now=request.app.state.clock.now(), token=token, page=page)
            name = page.name
    except TocsinError as exc:
        return _fail(exc, page)
    return _html("Subscribed", f"You will get an email when {name} posts an update. Every message has a link "
                               f"to unsubscribe.")


@public.get("/status/{slug}/unsubscribe/{token}")
def unsubscribe_page(slug: str, token: str, request: Request) -> HTMLResponse:
    page = None
    try:
        with _db(request).unit_of_work() as s:
            page = svc.require_page(s, slug)
            sub = subs.find_by_unsubscribe_token(s, token=token, page=page)
            name, done = page.name, sub.unsubscribed_at is not None
    except TocsinError as exc:
        return _fail(exc, page)
    if done:
        return _html("Unsubscribed", f"You no longer get updates from {name}.")
    form = (f'<form method="post" action="/status/{html.escape(slug)}/unsubscribe/{html.escape(token)}">'
            f'<button type="submit">Unsubscribe</button></form>')
    return _html(f"Unsubscribe from {name}", "Stop getting email updates from this status page?", form=form)


@public.post("/status/{slug}/unsubscribe/{token}")
def unsubscribe(slug: str, token: str, request: Request) -> HTMLResponse:
    """The button above and RFC 8058 one-click (`List-Unsubscribe=One-Click` from a mail client)."""
    page = None
    try:
        with _db(request).unit_of_work() as s:
            page = svc.require_page(s, slug)
            subs.unsubscribe(s, now=request.app.state.clock.now(), token=token, page=page)
            name = page.name
    except TocsinError as exc:
        return _fail(exc, page)
    return _html("Unsubscribed", f"You no longer get updates from {name}.")
