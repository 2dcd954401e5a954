"""Console pages for SLOs: the service page's SLO panel (web/templates/slo_panel.html, filled by
`panel`), the admin's add form on it, an edit page and delete.

Anyone logged in reads SLOs, as they read the service; admins change them (the service refuses
others, the page hides the forms). Errors in a form answer with the console's error page (4xx).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.checks import service as checks
from tocsin.errors import InvalidInput
from tocsin.principal import OrgRole
from tocsin.services.service import require_service
from tocsin.slo import service as slos
from tocsin.slo.budget import WINDOW_DAYS
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)


def panel(s: Session, service_id: uuid.UUID, now: Any) -> dict[str, Any]:
    """What the service page's SLO panel shows: each SLO's status, and the checks a new one may read."""
    rows = [slos.status_out(slos.status(s, slo, now=now)) for slo in slos.list_slos(s, service_id=service_id)]
    return {"slos": rows, "slo_checks": checks.list_checks(s, service_id=service_id, limit=500),
            "slo_windows": WINDOW_DAYS}


def _number(form: dict[str, str], name: str) -> float:
    text = field(form, name, max_len=20)
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number", details={"field": name}) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number", details={"field": name})
    return value


def _int(form: dict[str, str], name: str) -> int | None:
    text = field(form, name, required=False, max_len=10)
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):  # str.isdigit() alone takes "²", which int() refuses
        raise InvalidInput(f"{name} must be a whole number", details={"field": name})
    return int(text)


def _fields(form: dict[str, str]) -> dict[str, Any]:
    check = field(form, "check_id", required=False, max_len=40)
    window = _int(form, "window_days")
    return {
        "name": field(form, "name", max_len=200),
        "description": field(form, "description", required=False, max_len=2000),
        "kind": field(form, "kind", max_len=20),
        "target": _number(form, "target"),
        "window_days": window,
        "source": field(form, "source", max_len=20),
        "check_id": parse_uuid(check, "check") if check else None,
        "latency_threshold_ms": _int(form, "latency_threshold_ms"),
        "good_query": field(form, "good_query", required=False, max_len=2000) or None,
        "total_query": field(form, "total_query", required=False, max_len=2000) or None,
        "alerting": form.get("alerting") == "on",
    }


@router.post("/services/{key}/slos")
def create_slo(request: Request, key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "creating SLOs")
    with ctx.work() as (s, me):
        svc = require_service(s, key[:100])
        slo = slos.create_slo(s, actor=me, now=ctx.now, service=svc.slug, **_fields(form))
        slug, name = svc.slug, slo.name
    return redirect(f"/services/{slug}#slos", f"SLO {name} created")


@router.get("/slos/{slo_id}/edit")
def edit_slo_page(request: Request, slo_id: str, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "changing SLOs")
    with ctx.work() as (s, _me):
        slo = slos.require_slo(s, parse_uuid(slo_id, "slo"))
        svc = require_service(s, slo.service_id)
        return render(request, ctx, "slo_edit.html", slo=slo, service=svc,
                      slo_checks=checks.list_checks(s, service_id=svc.id, limit=500), slo_windows=WINDOW_DAYS)


@router.post("/slos/{slo_id}/edit")
def edit_slo(request: Request, slo_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        slo = slos.require_slo(s, parse_uuid(slo_id, "slo"))
        slos.update_slo(s, actor=me, now=ctx.now, slo=slo, **_fields(form))
        slug, name = require_service(s, slo.service_id).slug, slo.name
    return redirect(f"/services/{slug}#slos", f"SLO {name} saved")


@router.post("/slos/{slo_id}/delete")
def delete_slo(request: Request, slo_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        slo = slos.require_slo(s, parse_uuid(slo_id, "slo"))
        slug, name = require_service(s, slo.service_id).slug, slo.name
        slos.delete_slo(s, actor=me, now=ctx.now, slo=slo)
    return redirect(f"/services/{slug}#slos", f"SLO {name} deleted")
