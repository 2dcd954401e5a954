"""The console's regulatory obligations: the room's Obligations panel forms (set a clock, record the
exposure, accept or drop a regime, file an obligation or mark it not applicable) and the printable
reports for counsel, per incident and across the incidents the viewer may see.

Each form posts to /incidents/{ref}/obligations/<verb> (CSRF checked by `CsrfForm`), runs one
service call in one unit of work and redirects back to the room's panel; a refused change shows the
console's error page with the reason and a 4xx status. Need-to-know: `require_incident` first, so
a restricted incident is a 404 to anyone outside its circle.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.flows import evidence_refs
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.obligations import service as svc
from tocsin.obligations.catalog import DATA_CATEGORIES, Catalog
from tocsin.web import obligations_view
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_local, redirect

router = APIRouter(include_in_schema=False)


def _catalog(ctx: WebCtx) -> Catalog:
    cat, error = obligations_view.catalog_or_error(ctx.settings)
    if cat is None:
        raise InvalidInput(error or "the regimes configuration cannot be used")
    return cat


def _back(key: str, flash: str) -> Response:
    return redirect(f"/incidents/{key}#obligations", flash)


@router.post("/incidents/{ref}/obligations/clock")
def set_clock(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    clock = field(form, "clock", max_len=40)
    at = parse_local(field(form, "at", max_len=40), ctx.user.time_zone, "at")
    cat = _catalog(ctx)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        svc.set_clock(s, incident=incident, clock=clock, at=at, reason=field(form, "reason"), actor=me, now=ctx.now,
                      cat=cat)
        key = incident_ref(incident)
    return _back(key, f"{obligations_view.CLOCK_WORDS.get(clock, clock)} clock set.")


@router.post("/incidents/{ref}/obligations/exposure")
def set_exposure(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    data = [c for c in DATA_CATEGORIES if form.get(f"data-{c}") == "1"]
    regions = field(form, "regions", required=False, max_len=1000).replace(";", ",").split(",")
    count_text = field(form, "affected_count", required=False, max_len=12)
    if count_text and not (count_text.isascii() and count_text.isdigit()):
        raise InvalidInput("affected count must be a whole number", details={"field": "affected_count"})
    cat = _catalog(ctx)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        svc.set_exposure(s, incident=incident, data_categories=data, regions=regions,
                         affected_count=int(count_text) if count_text else None, actor=me, now=ctx.now, cat=cat)
        key = incident_ref(incident)
    return _back(key, "Exposure recorded; suggestions updated.")


@router.post("/incidents/{ref}/obligations/regime")
def choose_regime(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    cat = _catalog(ctx)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        svc.choose_regime(s, incident=incident, regime_id=field(form, "regime", max_len=40),
                          reason=field(form, "reason", required=False), actor=me, now=ctx.now, cat=cat)
        key = incident_ref(incident)
    return _back(key, "Regime added; its obligations are listed.")


@router.post("/incidents/{ref}/obligations/drop")
def drop_regime(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        svc.drop_regime(s, incident=incident, regime_id=field(form, "regime", max_len=40),
                        reason=field(form, "reason"), actor=me, now=ctx.now)
        key = incident_ref(incident)
    return _back(key, "Regime removed.")


def _evidence(text: str) -> list[uuid.UUID]:
    out = []
    for part in text.replace(",", " ").split():
        try:
            out.append(uuid.UUID(part))
        except ValueError:
            raise InvalidInput(f"evidence id {part[:60]!r} is not an evidence item id (a UUID)",
                               details={"field": "evidence_ids"}) from None
    return out


@router.post("/incidents/{ref}/obligations/file")
def file_obligation(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    filed_text = field(form, "filed_at", required=False, max_len=40)
    filed_at = parse_local(filed_text, ctx.user.time_zone, "filed_at") if filed_text else None
    evidence = _evidence(field(form, "evidence_ids", required=False, max_len=4000))
    cat = _catalog(ctx)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        row = svc.require_obligation(s, incident, field(form, "obligation", max_len=64))
        evidence_refs.require_own(s, incident, evidence, "evidence_ids")
        svc.file_obligation(s, incident=incident, obligation=row, reference=field(form, "reference", max_len=300),
                            filed_at=filed_at, evidence_ids=evidence,
                            late_reason=field(form, "late_reason", required=False), actor=me, now=ctx.now, cat=cat)
        key, name = incident_ref(incident), row.name
    return _back(key, f"{name} recorded as filed.")


@router.post("/incidents/{ref}/obligations/not-applicable")
def not_applicable(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64], for_update=True)
        row = svc.require_obligation(s, incident, field(form, "obligation", max_len=64))
        svc.mark_not_applicable(s, incident=incident, obligation=row, reason=field(form, "reason"), actor=me,
                                now=ctx.now)
        key, name = incident_ref(incident), row.name
    return _back(key, f"{name} marked not applicable.")


@router.get("/incidents/{ref}/obligations/report")
def incident_report(request: Request, ref: str, ctx: CtxDep) -> Response:
    """Printable: one incident's obligations, clocks and filings, for counsel."""
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64])
        groups = obligations_view.report(s, me, ctx.settings, ctx.now, incident=incident)
        key, title = incident_ref(incident), incident.title
    return render(request, ctx, "obligations_report.html", groups=groups, scope=f"{key} {title}",
                  clock_words=obligations_view.CLOCK_WORDS, states=obligations_view.STATE_WORDS)


@router.get("/obligations/report")
def report(request: Request, ctx: CtxDep) -> Response:
    """Printable: the obligations of every incident the viewer may see."""
    with ctx.work() as (s, me):
        groups = obligations_view.report(s, me, ctx.settings, ctx.now)
    return render(request, ctx, "obligations_report.html", groups=groups, scope="all incidents you may see",
                  clock_words=obligations_view.CLOCK_WORDS, states=obligations_view.STATE_WORDS)
