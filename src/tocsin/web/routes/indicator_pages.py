"""The room's indicators and assets forms and downloads (issue 17):
POST /incidents/{ref}/iocs/indicator, /iocs/indicators/{id}/remove, /iocs/asset and
/iocs/assets/{id}/state; GET
/incidents/{ref}/iocs/export/stix and /iocs/export/misp.

A form posts as the room's other forms do (web/room_actions.py): CSRF checked, one unit of work,
a 303 back to the room with a flash; a refusal re-renders the room with the message and a 4xx.
The incident is looked up through `require_incident`, so one the viewer may not see is a 404 page
on every route here, downloads included.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tocsin.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.http.errors import status_for
from tocsin.ids import incident_ref
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.indicators import export
from tocsin.indicators import service as svc
from tocsin.indicators.types import AssetKind, ContainmentState, IndicatorType, Tlp
from tocsin.principal import OrgRole, Principal
from tocsin.web import room_page
from tocsin.web.auth import WebCtx, check_csrf, web_ctx
from tocsin.web.render import FLASH_COOKIE, secure
from tocsin.web.routes.common import parse_local

router = APIRouter(include_in_schema=False)
CtxDep = Annotated[WebCtx, Depends(web_ctx)]
E = TypeVar("E", bound=StrEnum)
Handler = Callable[[Session, Principal, Incident, dict[str, str], WebCtx], str]


def _text(form: dict[str, str], name: str, limit: int, *, required: bool = False) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise InvalidInput(f"{name} is required", details={"field": name})
    if len(value) > limit:
        raise InvalidInput(f"{name} may have at most {limit} characters", details={"field": name})
    return value


def _choice(form: dict[str, str], name: str, allowed: type[E], default: str | None = None) -> E:
    raw = form.get(name, "").strip() or default or ""
    try:
        return allowed(raw)
    except ValueError:
        raise InvalidInput(f"choose a valid {name}", details={"field": name}) from None


def _seen(form: dict[str, str], ctx: WebCtx) -> tuple[datetime | None, datetime | None]:
    """first_seen and last_seen from `datetime-local` fields, in the viewer's time zone."""
    zone_name = getattr(ctx.user, "time_zone", None) or "UTC"
    first, last = (parse_local(form[name], zone_name, name) if form.get(name, "").strip() else None
                   for name in ("first_seen", "last_seen"))
    return first, last


def _add_indicator(s: Session, me: Principal, incident: Incident, form: dict[str, str], ctx: WebCtx) -> str:
    first, last = _seen(form, ctx)
    spec = svc.IndicatorSpec(type=_choice(form, "type", IndicatorType), value=_text(form, "value", 2000, required=True),
                             tlp=_choice(form, "tlp", Tlp, "amber"), source=_text(form, "source", 200),
                             notes=_text(form, "notes", 20_000), first_seen=first, last_seen=last)
    row = svc.add_indicator(s, incident=incident, actor=me, now=ctx.now, spec=spec)
    return f"Indicator {row.value} added."


def _add_asset(s: Session, me: Principal, incident: Incident, form: dict[str, str], ctx: WebCtx) -> str:
    first, last = _seen(form, ctx)
    spec = svc.AssetSpec(kind=_choice(form, "kind", AssetKind), name=_text(form, "name", 300, required=True),
                         state=_choice(form, "state", ContainmentState, "suspected"),
                         tlp=_choice(form, "tlp", Tlp, "amber"), source=_text(form, "source", 200),
                         notes=_text(form, "notes", 20_000), first_seen=first, last_seen=last)
    row = svc.add_asset(s, incident=incident, actor=me, now=ctx.now, spec=spec)
    return f"Asset {row.name} added."


def _set_state(asset_id: uuid.UUID) -> Handler:
    def handler(s: Session, me: Principal, incident: Incident, form: dict[str, str], ctx: WebCtx) -> str:
        state = _choice(form, "state", ContainmentState)
        asset = svc.require_asset(s, incident, asset_id, for_update=True)
        svc.update_asset(s, incident=incident, asset=asset, actor=me, now=ctx.now, changes={"state": state})
        return f"{asset.name} is now {asset.state}."
    return handler


def _remove_indicator(indicator_id: uuid.UUID) -> Handler:
    def handler(s: Session, me: Principal, incident: Incident, form: dict[str, str], ctx: WebCtx) -> str:
        indicator = svc.require_indicator(s, incident, indicator_id)
        value = indicator.value
        svc.delete_indicator(s, incident=incident, indicator=indicator, actor=me, now=ctx.now)
        return f"Indicator {value} removed."
    return handler


class _Hidden(Exception):
    """The incident itself is not visible (as opposed to something the form named)."""


def _run(ctx: WebCtx, ref: str, form: dict[str, str], handler: Handler) -> tuple[str, str]:
    with ctx.work() as (s, me):
        try:
            incident = require_incident(s, me, ref, for_update=True)
        except NotFound:
            raise _Hidden() from None
        return incident_ref(incident.number), handler(s, me, incident, form, ctx)


async def _act(request: Request, ctx: WebCtx, ref: str, action: str, handler: Handler) -> Response:
    form = await check_csrf(request, ctx)
    try:
        if not ctx.principal.at_least(OrgRole.responder):
            raise Forbidden("recording indicators and assets needs the responder role; viewers can only read them")
        room_ref, flash = await run_in_threadpool(_run, ctx, ref, form, handler)
    except _Hidden:
        raise NotFound(f"no incident {ref}") from None  # the console's 404 page: need-to-know hides the incident
    except TocsinError as exc:
        if isinstance(exc, Forbidden) and not ctx.principal.at_least(OrgRole.responder):
            raise  # the viewer's 403 page: there is no form of theirs to show the message beside
        message, status = exc.message, status_for(exc)
        return await run_in_threadpool(lambda: room_page.render_room(
            request, ctx, ref, error=message, status_code=status, form=form, action=action))
    response = secure(RedirectResponse(f"/incidents/{room_ref}#iocs-section", status_code=303))
    response.set_cookie(FLASH_COOKIE, quote(flash), max_age=120, path="/", httponly=True, samesite="lax")
    return response


@router.post("/incidents/{ref}/iocs/indicator")
async def add_indicator(request: Request, ref: str, ctx: Annotated[WebCtx, Depends(web_ctx)]) -> Response:
    return await _act(request, ctx, ref, "iocs-indicator", _add_indicator)


@router.post("/incidents/{ref}/iocs/asset")
async def add_asset(request: Request, ref: str, ctx: Annotated[WebCtx, Depends(web_ctx)]) -> Response:
    return await _act(request, ctx, ref, "iocs-asset", _add_asset)


@router.post("/incidents/{ref}/iocs/assets/{asset_id}/state")
async def set_asset_state(request: Request, ref: str, asset_id: uuid.UUID,
                          ctx: Annotated[WebCtx, Depends(web_ctx)]) -> Response:
    return await _act(request, ctx, ref, "iocs-state", _set_state(asset_id))


@router.post("/incidents/{ref}/iocs/indicators/{indicator_id}/remove")
async def remove_indicator(request: Request, ref: str, indicator_id: uuid.UUID,
                           ctx: Annotated[WebCtx, Depends(web_ctx)]) -> Response:
    return await _act(request, ctx, ref, "iocs-remove", _remove_indicator(indicator_id))


def _download(ctx: WebCtx, ref: str, fmt: str) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)  # NotFound → the 404 page (need-to-know)
        rows = svc.list_indicators(s, incident)
        room_ref = incident_ref(incident.number)
        if fmt == "stix":
            body, media, name = (export.stix_bundle(incident, room_ref, rows), "application/stix+json;version=2.1",
                                 f"{room_ref}-indicators.stix.json")
        else:
            body, media, name = export.misp_json(incident, room_ref, rows), "application/json", \
                f"{room_ref}-misp-event.json"
    return secure(Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}))


@router.get("/incidents/{ref}/iocs/export/stix")
def export_stix(ref: str, ctx: CtxDep) -> Response:
    return _download(ctx, ref, "stix")


@router.get("/incidents/{ref}/iocs/export/misp")
def export_misp(ref: str, ctx: CtxDep) -> Response:
    return _download(ctx, ref, "misp")
