"""Console pages for problems, through the problems service (as /api/v1/problems does): the list
with recurrence (how many incidents, the latest), recording a problem, and a problem's page to
edit its root cause and workaround, move its status and link or unlink incidents.

Problems are visible to everyone; their incidents and action items only as far as the viewer may
see them (the service's principal-aware readers), so a restricted incident never shows here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.actions import service as actions
from tocsin.errors import InvalidInput
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.problems import service as svc
from tocsin.services.models import Service
from tocsin.services.service import list_services
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, redirect

router = APIRouter(include_in_schema=False)
PAGE = 200
STATUS_WORDS = {"open": "open", "known_error": "known error", "resolved": "resolved"}
TEXTS = ("description", "root_cause", "known_error", "workaround")


def _status(value: str, name: str = "status") -> str:
    if value not in svc.STATUSES:
        raise InvalidInput(f"{name} must be one of {', '.join(svc.STATUSES)}", details={"field": name})
    return value


@router.get("/problems")
def list_page(request: Request, ctx: CtxDep, status: str = "", q: str = "") -> Response:
    status = _status(status) if status else ""
    with ctx.work() as (s, me):
        rows = svc.list_problems(s, flt=svc.ProblemFilter(status=[status] if status else [], q=q.strip()[:200] or None),
                                 limit=PAGE)
        seen = svc.recurrence(s, me, [p.id for p in rows])
        services = {x.id: x.slug for x in list_services(s, limit=500)}
    problems = [{"p": p, "ref": svc.problem_ref(p), "status": STATUS_WORDS[p.status], "seen": seen.get(p.id),
                 "service": services.get(p.service_id) if p.service_id else None} for p in rows]
    return render(request, ctx, "problems.html", problems=problems, status=status, q=q[:200],
                  statuses=STATUS_WORDS, services=sorted(services.values()))


def _texts(form: dict[str, str]) -> dict[str, str]:
    return {name: field(form, name, required=False, max_len=20_000) for name in TEXTS}


@router.post("/problems")
def create(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    incidents = [k.strip() for k in field(form, "incidents", required=False, max_len=2000).replace(",", " ").split()]
    texts = _texts(form)
    spec = svc.NewProblem(title=field(form, "title", max_len=300), status=_status(form.get("status") or "open"),
                          service=field(form, "service", required=False, max_len=64) or None,
                          incidents=incidents[:100], description=texts["description"],
                          root_cause=texts["root_cause"], known_error=texts["known_error"],
                          workaround=texts["workaround"])
    with ctx.work() as (s, me):
        key = svc.problem_ref(svc.create_problem(s, actor=me, now=ctx.now, spec=spec))
    return redirect(f"/problems/{key}", f"{key} recorded")


@router.get("/problems/{problem_id}")
def problem_page(request: Request, problem_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id[:64])
        links = svc.linked_incidents(s, me, problem.id)
        items = actions.items_of_problem(s, me, problem.id)
        seen = svc.recurrence(s, me, [problem.id]).get(problem.id)
        service = s.get(Service, problem.service_id) if problem.service_id else None
        services = sorted(x.slug for x in list_services(s, limit=500))
    incidents: list[dict[str, Any]] = [{"ref": incident_ref(i), "i": i, "recurrence": link.recurrence,
                                        "linked_at": link.linked_at} for link, i in links]
    return render(request, ctx, "problem.html", p=problem, ref=svc.problem_ref(problem), incidents=incidents,
                  items=[{"ref": actions.ref(a), "a": a} for a in items], seen=seen,
                  service=service.slug if service else "", services=services, status_words=STATUS_WORDS,
                  next_statuses=sorted(svc.TRANSITIONS[problem.status]))


@router.post("/problems/{problem_id}/edit")
def edit(request: Request, problem_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    changes: dict[str, Any] = {"title": field(form, "title", max_len=300), **_texts(form),
                               "service": field(form, "service", required=False, max_len=64) or None}
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id[:64], for_update=True)
        current = s.get(Service, problem.service_id) if problem.service_id else None
        if changes["service"] == (current.slug if current else None):
            del changes["service"]
        svc.update_problem(s, problem=problem, actor=me, now=ctx.now, changes=changes)
        ref = svc.problem_ref(problem)
    return redirect(f"/problems/{ref}", f"{ref} saved")


@router.post("/problems/{problem_id}/status")
def set_status(request: Request, problem_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    status = _status(form.get("status", ""))
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id[:64], for_update=True)
        svc.update_problem(s, problem=problem, actor=me, now=ctx.now, changes={"status": status})
        ref = svc.problem_ref(problem)
    return redirect(f"/problems/{ref}", f"{ref} is now {STATUS_WORDS[status]}")


@router.post("/problems/{problem_id}/link")
def link(request: Request, problem_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    incident_key = field(form, "incident", max_len=64)
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id[:64], for_update=True)
        incident = require_incident(s, me, incident_key)
        svc.link_incident(s, problem=problem, incident=incident, actor=me, now=ctx.now)
        ref, inc = svc.problem_ref(problem), incident_ref(incident)
    return redirect(f"/problems/{ref}", f"{inc} linked to {ref}")


@router.post("/problems/{problem_id}/unlink")
def unlink(request: Request, problem_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    incident_key = field(form, "incident", max_len=64)
    with ctx.work() as (s, me):
        problem = svc.require_problem(s, problem_id[:64], for_update=True)
        incident = require_incident(s, me, incident_key)
        svc.unlink_incident(s, problem=problem, incident=incident, actor=me, now=ctx.now)
        ref, inc = svc.problem_ref(problem), incident_ref(incident)
    return redirect(f"/problems/{ref}", f"{inc} unlinked from {ref}")
