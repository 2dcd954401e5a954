"""/api/v1/incidents/{key}/clocks, /exposure, /regimes, /obligations: the regulatory clocks of a
security incident and the filings it owes; /api/v1/obligations across incidents (the report for
counsel); /api/v1/regimes, the catalogue in force. Need-to-know applies everywhere: a restricted
incident the caller may not see is a 404."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.api.pagination import decode, encode, split_page
from tocsin.errors import InvalidInput
from tocsin.flows import evidence_refs
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.obligations import service as svc
from tocsin.obligations.catalog import CLOCKS, Catalog
from tocsin.obligations.schemas import (
    CatalogRegimeOut,
    ClockIn,
    ClocksOut,
    ExposureIn,
    ExposureOut,
    FilingIn,
    NotApplicableIn,
    ObligationOut,
    RegimeIn,
    RegimesOut,
)
from tocsin.schemas import Page
from tocsin.users.models import User

router = APIRouter(prefix="/api/v1", tags=["obligations"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def catalog(request: Request) -> Catalog:
    """The catalogue in force; a bad operator file answers 422 (its error is logged, not shown)."""
    cat = svc.catalog_or_none(request.app.state.settings)
    if cat is None:
        raise InvalidInput(svc.UNUSABLE)
    return cat


CatDep = Annotated[Catalog, Depends(catalog)]


def obligation_out(incident: Incident, v: svc.ObligationView) -> dict[str, Any]:
    return {"id": v.id, "incident": ref(incident), "regime": v.regime, "regime_name": v.regime_name,
            "obligation": v.obligation, "name": v.name, "notify": v.notify, "due_at": v.due_at,
            "due_reason": v.due_reason, "countdown": v.countdown, "state": v.state.value,
            "state_reason": v.state_reason, "filed_at": v.filed_at, "filed_reference": v.filed_reference,
            "evidence_ids": v.evidence_ids, "late_reason": v.late_reason, "not_applicable": v.not_applicable,
            "source": v.source, "note": v.note}


def _obligations(s: Any, incident: Incident, cat: Catalog, ctx: Ctx) -> dict[str, Any]:
    return {"items": [obligation_out(incident, svc.view(o, cat, ctx.now)) for o in svc.obligations(s, incident)],
            "next_cursor": None}


@router.get("/regimes", response_model=Page[CatalogRegimeOut], summary="The notification regimes in force")
def regimes(ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work():
        items = [{**r.model_dump(exclude={"applies"}),
                  "obligations": [{**o.model_dump(exclude={"due"}),
                                   "due": [{"start": t.start, "amount": t.amount, "unit": t.unit.value, "tz": t.tz}
                                           for t in o.due]} for o in r.obligations]}
                 for r in cat.regimes.values()]
    return {"items": items, "next_cursor": None}


@router.get("/obligations", response_model=Page[ObligationOut],
            summary="Obligations across the incidents you may see, soonest due first")
def across(ctx: CtxDep, cat: CatDep,
           state: Annotated[str, Query(pattern="^(open|all)$", description="open: not filed, not N/A")] = "open",
           limit: Annotated[int, Query(ge=1, le=500)] = 100,
           cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    offset = _offset(cursor)
    with ctx.work() as (s, me):
        rows, more = split_page(svc.across(s, me, open_only=state == "open", limit=limit + 1, offset=offset), limit)
        return {"items": [obligation_out(i, svc.view(o, cat, ctx.now)) for i, o in rows],
                "next_cursor": encode(str(offset + limit)) if more else None}


def _offset(cursor: str | None) -> int:
    """The position a next_cursor of this list points at (soonest-due order changes as deadlines are
    set, so the cursor is a position, not a key)."""
    if cursor is None:
        return 0
    (text,) = decode(cursor, 1)
    if not (text.isascii() and text.isdigit()) or int(text) > 1_000_000:
        raise InvalidInput("invalid cursor: pass the next_cursor of a previous page", details={"field": "cursor"})
    return int(text)


@router.get("/incidents/{key}/clocks", response_model=ClocksOut, summary="A security incident's regulatory clocks")
def get_clocks(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        found = svc.clocks(s, incident)
        people = dict(s.execute(sa.select(User.id, User.email).where(
            User.id.in_([c.set_by_id for c in found.values() if c.set_by_id]))).all())
        return {"items": [{"clock": name, "at": c.at if c else None, "reason": c.reason if c else None,
                           "set_by": people.get(c.set_by_id) if c and c.set_by_id else None,
                           "set_at": c.set_at if c else None}
                          for name in CLOCKS for c in [found.get(name)]]}


@router.put("/incidents/{key}/clocks/{clock}", response_model=ClocksOut, summary="Set or change a clock, with why")
def put_clock(key: str, clock: str, body: ClockIn, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.set_clock(s, incident=incident, clock=clock, at=body.at, reason=body.reason, actor=me, now=ctx.now,
                      cat=cat)
    return get_clocks(key, ctx)


@router.get("/incidents/{key}/exposure", response_model=ExposureOut,
            summary="What a security incident exposes: data categories, regions, people affected")
def get_exposure(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        row = svc.exposure(s, require_incident(s, me, key))
        return {"data_categories": row.data_categories if row else [], "regions": row.regions if row else [],
                "affected_count": row.affected_count if row else None, "updated_at": row.updated_at if row else None}


@router.put("/incidents/{key}/exposure", response_model=ExposureOut, summary="Record what the incident exposes")
def put_exposure(key: str, body: ExposureIn, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.set_exposure(s, incident=incident, data_categories=body.data_categories, regions=body.regions,
                         affected_count=body.affected_count, actor=me, now=ctx.now, cat=cat)
    return get_exposure(key, ctx)


def _regimes(s: Any, incident: Incident, cat: Catalog) -> dict[str, Any]:
    chosen = []
    for row in svc.chosen(s, incident):
        spec = cat.get(row.regime)
        chosen.append({"regime": row.regime, "name": spec.name if spec else row.regime,
                       "source": spec.source if spec else "", "note": spec.note if spec else "",
                       "reason": row.reason, "chosen_at": row.chosen_at})
    return {"chosen": chosen, "suggested": [{"regime": x.regime, "name": x.name, "reasons": list(x.reasons)}
                                            for x in svc.suggestions(s, incident, cat)]}


@router.get("/incidents/{key}/regimes", response_model=RegimesOut,
            summary="The regimes chosen for the incident, and those suggested from its exposure (with reasons)")
def get_regimes(key: str, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _regimes(s, require_incident(s, me, key), cat)


@router.post("/incidents/{key}/regimes", response_model=RegimesOut, summary="Choose a regime for the incident")
def choose(key: str, body: RegimeIn, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.choose_regime(s, incident=incident, regime_id=body.regime, reason=body.reason, actor=me, now=ctx.now,
                          cat=cat)
        return _regimes(s, incident, cat)


@router.delete("/incidents/{key}/regimes/{regime}", response_model=RegimesOut,
               summary="Remove a regime chosen by mistake (refused once one of its obligations is filed)")
def drop(key: str, regime: str, ctx: CtxDep, cat: CatDep,
         reason: Annotated[str, Query(min_length=1, max_length=2000)]) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.drop_regime(s, incident=incident, regime_id=regime, reason=reason, actor=me, now=ctx.now)
        return _regimes(s, incident, cat)


@router.get("/incidents/{key}/obligations", response_model=Page[ObligationOut],
            summary="The obligations a security incident owes, with due times and states")
def list_obligations(key: str, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _obligations(s, require_incident(s, me, key), cat, ctx)


@router.post("/incidents/{key}/obligations/{obligation_id}/filing", response_model=ObligationOut,
             summary="Record a filing: reference, time, evidence (a late one needs the reason)")
def file(key: str, obligation_id: str, body: FilingIn, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        row = svc.require_obligation(s, incident, obligation_id)
        evidence_refs.require_own(s, incident, body.evidence_ids, "evidence_ids")
        svc.file_obligation(s, incident=incident, obligation=row, reference=body.reference, filed_at=body.filed_at,
                            evidence_ids=body.evidence_ids, late_reason=body.late_reason, actor=me, now=ctx.now,
                            cat=cat)
        return obligation_out(incident, svc.view(row, cat, ctx.now))


@router.post("/incidents/{key}/obligations/{obligation_id}/not-applicable", response_model=ObligationOut,
             summary="Mark an obligation not applicable, with the reason")
def not_applicable(key: str, obligation_id: str, body: NotApplicableIn, ctx: CtxDep, cat: CatDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        row = svc.require_obligation(s, incident, obligation_id)
        svc.mark_not_applicable(s, incident=incident, obligation=row, reason=body.reason, actor=me, now=ctx.now)
        return obligation_out(incident, svc.view(row, cat, ctx.now))
