"""/api/v1/problems: problem records, their linked incidents, and recurrence suggestions for
incidents (/incidents/{key}/problems, /problem-suggestions) and alerts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from tocsin.actions import service as actions
from tocsin.actions.types import action_ref
from tocsin.alerts.service import require_alert
from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.principal import Principal
from tocsin.problems import service as svc
from tocsin.problems import suggest
from tocsin.problems.models import Problem
from tocsin.problems.schemas import (
    IncidentProblemOut,
    LinkIn,
    ProblemDetailOut,
    ProblemIn,
    ProblemOut,
    ProblemPatch,
    ProblemStatus,
    SuggestionOut,
)
from tocsin.schemas import Page
from tocsin.services.models import Service

router = APIRouter(prefix="/api/v1", tags=["problems"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
ProblemKey = Annotated[str, "problem id or ref such as PRB-3"]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Unlinked"}}


def _services(s: Session, rows: list[Problem]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = {p.service_id for p in rows if p.service_id}
    if not ids:
        return {}
    return {sid: {"id": sid, "slug": slug, "name": name} for sid, slug, name in
            s.execute(sa.select(Service.id, Service.slug, Service.name).where(Service.id.in_(ids))).all()}


def _summary(p: Problem, services: dict[uuid.UUID, dict[str, Any]]) -> dict[str, Any]:
    return {"id": p.id, "ref": svc.problem_ref(p), "number": p.number, "title": p.title, "status": p.status,
            "known_error": p.known_error, "workaround": p.workaround,
            "service": services.get(p.service_id) if p.service_id else None}


def problems_out(s: Session, me: Principal, rows: list[Problem]) -> list[dict[str, Any]]:
    services = _services(s, rows)
    users = users_by_id(s, [p.created_by_id for p in rows])
    counts = svc.incident_counts(s, me, [p.id for p in rows])
    return [{**_summary(p, services), "description": p.description, "root_cause": p.root_cause,
             "match": {"dedup_keys": p.dedup_keys or [], "labels": p.labels or {}, "terms": p.terms or []},
             "created_by": users.get(p.created_by_id) if p.created_by_id else None,
             "created_at": p.created_at, "updated_at": p.updated_at, "known_error_at": p.known_error_at,
             "resolved_at": p.resolved_at, "incident_count": counts.get(p.id, 0)} for p in rows]


def problem_detail(s: Session, me: Principal, problem: Problem) -> dict[str, Any]:
    links = svc.linked_incidents(s, me, problem.id)
    users = users_by_id(s, [link.linked_by_id for link, _ in links])
    return {
        **problems_out(s, me, [problem])[0],
        "incidents": [{"id": i.id, "ref": incident_ref(i), "title": i.title, "status": i.status,
                       "severity": i.severity, "declared_at": i.declared_at, "recurrence": link.recurrence,
                       "linked_at": link.linked_at,
                       "linked_by": users.get(link.linked_by_id) if link.linked_by_id else None}
                      for link, i in links],
        "action_items": [{"id": a.id, "ref": action_ref(a.number), "title": a.title, "status": a.status,
                          "due_at": a.due_at} for a in actions.items_of_problem(s, me, problem.id)],
    }


@router.get("/problems", response_model=Page[ProblemOut], summary="List problems, newest first")
def list_problems(ctx: CtxDep,
                  status: Annotated[list[ProblemStatus] | None, Query(description="Repeat to match any of several")] = None,
                  service: Annotated[str | None, Query(max_length=64, description="Service slug or id")] = None,
                  q: Annotated[str | None, Query(max_length=200, description="Text to find in the problem's texts")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        flt = svc.ProblemFilter(status=list(status or []), service=service, q=q)
        rows = svc.list_problems(s, flt=flt, before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": problems_out(s, me, page),
                "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


@router.post("/problems", status_code=201, response_model=ProblemDetailOut,
             summary="Record a problem (responder), optionally linking incidents at once")
def create_problem(body: ProblemIn, ctx: CtxDep) -> dict[str, Any]:
    spec = svc.NewProblem(title=body.title, description=body.description, root_cause=body.root_cause,
                          known_error=body.known_error, workaround=body.workaround, status=body.status,
                          service=body.service, match=body.match.model_dump() if body.match else None,
                          incidents=body.incidents)
    with ctx.work() as (s, me):
        return problem_detail(s, me, svc.create_problem(s, actor=me, now=ctx.now, spec=spec))


@router.get("/problems/{problem_id}", response_model=ProblemDetailOut,
            summary="A problem with the linked incidents and action items you may see")
def get_problem(problem_id: ProblemKey, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return problem_detail(s, me, svc.require_problem(s, problem_id))


@router.patch("/problems/{problem_id}", response_model=ProblemDetailOut,
              summary="Change a problem's texts, service, match spec or status (responder)")
def patch_problem(problem_id: ProblemKey, body: ProblemPatch, ctx: CtxDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id, for_update=True)
        return problem_detail(s, me, svc.update_problem(s, problem=problem, actor=me, now=ctx.now, changes=changes))


@router.post("/problems/{problem_id}/incidents", status_code=201, response_model=ProblemDetailOut,
             summary="Link an incident you can see to the problem (responder); noted on its timeline")
def link_incident(problem_id: ProblemKey, body: LinkIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id, for_update=True)  # two links of one pair: one 409, no 500
        incident = require_incident(s, me, body.incident)
        svc.link_incident(s, problem=problem, incident=incident, actor=me, now=ctx.now)
        return problem_detail(s, me, problem)


@router.delete("/problems/{problem_id}/incidents/{key}", status_code=204, responses=NO_CONTENT,
               summary="Unlink an incident from the problem (responder); noted on its timeline")
def unlink_incident(problem_id: ProblemKey, key: str, ctx: CtxDep) -> None:
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id, for_update=True)  # serialises link/unlink of one problem
        incident = require_incident(s, me, key)
        svc.unlink_incident(s, problem=problem, incident=incident, actor=me, now=ctx.now)


def _suggestions_out(s: Session, found: list[suggest.Suggestion]) -> list[dict[str, Any]]:
    services = _services(s, [f.problem for f in found])
    return [{"problem": _summary(f.problem, services), "reasons": f.reasons} for f in found]


@router.get("/incidents/{key}/problems", response_model=Page[IncidentProblemOut], tags=["incidents"],
            summary="The problems an incident is linked to, with their workarounds")
def incident_problems(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        rows = svc.problems_of_incident(s, incident.id)
        services = _services(s, [p for _, p in rows])
        return {"items": [{**_summary(p, services), "root_cause": p.root_cause, "recurrence": link.recurrence,
                 "linked_at": link.linked_at} for link, p in rows]}


@router.get("/incidents/{key}/problem-suggestions", response_model=Page[SuggestionOut], tags=["incidents"],
            summary="Known problems this incident looks like (not yet linked), with reasons and workarounds")
def incident_suggestions(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        return {"items": _suggestions_out(s, suggest.for_incident(s, me, incident))}


@router.get("/alerts/{alert_id}/problem-suggestions", response_model=Page[SuggestionOut], tags=["alerts"],
            summary="Known problems this alert looks like, with reasons and workarounds")
def alert_suggestions(alert_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": _suggestions_out(s, suggest.for_alert(s, me, require_alert(s, alert_id)))}
