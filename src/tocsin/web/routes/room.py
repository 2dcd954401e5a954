"""The incident list, declaring from the console, the incident room page and its live event stream.

The room's action forms are handled in `web/room_actions.py` (added to the app just before this
module's routes). Database work runs in worker threads (sync handlers, or `run_in_threadpool` inside the async ones), so the
event loop stays free for the live streams.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import (
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool

from tocsin.errors import InvalidInput, TocsinError
from tocsin.flows import incidents as flows
from tocsin.http.errors import status_for
from tocsin.ids import parse_uuid
from tocsin.incidents import service as incidents
from tocsin.incidents.access import require_incident
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.severity import Impact, suggest_severity
from tocsin.incidents.types import DataSensitivity, Kind, Status
from tocsin.severities import Severity
from tocsin.web import room_actions, room_page, sse
from tocsin.web.auth import WebCtx, check_csrf, web_ctx
from tocsin.web.render import render, secure
from tocsin.web.room_stream import RoomReader
from tocsin.workflows import types_service as incident_types

router = APIRouter(include_in_schema=False)
CtxDep = Annotated[WebCtx, Depends(web_ctx)]
_OPEN = {s.value for s in ACTIVE_STATUSES}
STATUS_FILTERS = ("open", "all", *(s.value for s in Status))


def _list_filter(status: str, severity: str) -> incidents.IncidentFilter:
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"unknown status filter {status!r}", details={"field": "status"})
    if severity and severity not in Severity.__members__:
        raise InvalidInput(f"unknown severity {severity!r}: use SEV1..SEV4", details={"field": "severity"})
    flt = incidents.IncidentFilter(severity=[Severity(severity)] if severity else [])
    if status == "open":
        flt.open_only = True
    elif status != "all":
        flt.status = [Status(status)]
    return flt


@router.get("/incidents")
def list_page(request: Request, ctx: CtxDep,
              status: Annotated[str, Query(max_length=20)] = "all",
              severity: Annotated[str, Query(max_length=8)] = "") -> Response:
    """Incidents the viewer may see (need-to-know applies), open ones first, newest first within each."""
    try:
        flt = _list_filter(status, severity)
    except InvalidInput as exc:
        return render(request, ctx, "incidents.html", status_code=422, error=exc.message, rows=[],
                      status=status, severity=severity, filters=STATUS_FILTERS)
    with ctx.work() as (s, me):
        found = incidents.list_incidents(s, principal=me, flt=flt, limit=200)
        found.sort(key=lambda i: i.status not in _OPEN)  # stable: keeps newest first within each group
        ids = [i.id for i in found]
        services = incidents.services_of(s, ids)
        rows = [{"ref": incidents.ref(i), "title": i.title, "severity": i.severity, "status": i.status,
                 "open": i.status in _OPEN, "restricted": i.restricted, "drill": i.drill,
                 "declared_at": i.declared_at,
                 "services": [x.slug for x in services[i.id]]} for i in found]
    return render(request, ctx, "incidents.html", rows=rows, status=status, severity=severity,
                  filters=STATUS_FILTERS)


@router.post("/incidents")
async def declare(request: Request, ctx: CtxDep) -> Response:
    """Declare from the dialog: only title, severity and an optional service, so it takes seconds."""
    form = await check_csrf(request, ctx)
    try:
        ref = await run_in_threadpool(_declare, ctx, form)
    except TocsinError as exc:
        if room_actions.wants_json(request):
            return room_actions.json_error(exc)
        return render(request, ctx, "incidents.html", status_code=status_for(exc), error=exc.message,
                      rows=[], status="all", severity="", filters=STATUS_FILTERS, declare_form=form)
    if room_actions.wants_json(request):
        return JSONResponse({"ok": True, "ref": ref, "url": f"/incidents/{ref}"}, status_code=201)
    return secure(RedirectResponse(f"/incidents/{ref}", status_code=303))


def _declare(ctx: WebCtx, form: dict[str, str]) -> str:
    title = form.get("title", "").strip()
    if not title:
        raise InvalidInput("give the incident a title", details={"field": "title"})
    if len(title) > 300:
        raise InvalidInput("the title may have at most 300 characters", details={"field": "title"})
    try:
        severity = Severity(form.get("severity", "SEV3"))
    except ValueError:
        raise InvalidInput("choose a severity from SEV1 to SEV4", details={"field": "severity"}) from None
    service = form.get("service", "").strip()
    kind_value = form.get("kind", "operational") or "operational"
    if kind_value not in (k.value for k in Kind):
        raise InvalidInput("choose operational or security", details={"field": "kind"})
    if form.get("need_to_know", "") not in ("", "1"):
        raise InvalidInput("the need-to-know box is either ticked or not", details={"field": "need_to_know"})
    kind = Kind(kind_value)
    # A security incident is restricted unless told otherwise (the service's default); ticking the
    # need-to-know box restricts an operational one too.
    restricted = True if form.get("need_to_know") == "1" else None
    type_slug = form.get("incident_type", "").strip()[:64] or None
    with ctx.work() as (s, me):
        # with a type, the type's base kind unless security was chosen
        incident_type, custom_fields, typed_kind = incident_types.for_declaration(
            s, incident_type=type_slug, custom_fields=None, now=ctx.now, partial=True,
            kind=kind if kind == Kind.security else None)
        spec = incidents.Declaration(title=title, severity=severity, services=[service] if service else [],
                                     kind=typed_kind or kind,
                                     restricted=restricted, incident_type=incident_type, custom_fields=custom_fields)
        return incidents.ref(flows.declare(s, actor=me, now=ctx.now, spec=spec))


@router.get("/incidents/{ref}")
async def room(request: Request, ref: str, ctx: CtxDep) -> Response:
    """The incident room: header, timeline (oldest first), and the action forms for responders. The
    message after an action comes once, from the flash cookie the action's redirect set."""
    return await run_in_threadpool(room_page.render_room, request, ctx, ref)


@router.get("/severity-suggestion")
def severity_suggestion(request: Request, ctx: CtxDep) -> Response:
    """The severity the impact suggests, and why, as the impact form is filled in (read only; the
    room's script asks as the fields change). The server still judges the saved form."""
    try:
        impact = room_actions.impact_from(dict(request.query_params))
    except InvalidInput as exc:
        return room_actions.json_error(exc)
    found = suggest_severity(Impact(
        customers_affected=impact["customers_affected"], revenue_at_risk_per_hour=impact["revenue_at_risk_per_hour"],
        data_sensitivity=DataSensitivity(impact["data_sensitivity"]) if impact["data_sensitivity"] else None,
        customer_facing=impact["customer_facing"]))
    body: dict[str, Any] = {"severity": found.severity.value if found else None,
                            "reasons": list(found.reasons) if found else []}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/incidents/{ref}/events")
async def events(request: Request, ref: str, ctx: CtxDep,
                 after: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """Server-sent events: `timeline` messages with new entries' HTML and the header, on every change."""
    incident_id = await run_in_threadpool(_visible_id, ctx, ref)  # NotFound → 404 (need-to-know)
    reader = RoomReader(request=request, ctx=ctx, incident_id=incident_id)
    resume = parse_uuid(request.headers.get("last-event-id", "") or "") or parse_uuid(after or "")
    await run_in_threadpool(reader.resume_after, resume)
    return StreamingResponse(sse.stream(f"incident:{incident_id}", reader.read), media_type="text/event-stream",
                             headers=sse.HEADERS)


def _visible_id(ctx: WebCtx, ref: str) -> uuid.UUID:
    with ctx.work() as (s, me):
        return require_incident(s, me, ref).id
