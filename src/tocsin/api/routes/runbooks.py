"""/api/v1/runbooks (CRUD: admins, or responders of the owning team; audited) and an incident's
runbooks with their steps: /api/v1/incidents/{key}/runbooks and .../runbooks/{slug}/steps/{n}.

Need-to-know applies first (`require_incident`: a restricted incident outside the caller's circle
is a 404); responders mark steps, viewers read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.incidents.access import require_incident
from tocsin.runbooks import present
from tocsin.runbooks import service as svc
from tocsin.runbooks.schemas import IncidentRunbookOut, RunbookIn, RunbookOut, RunbookPatch, StepMarkIn
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["runbooks"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
StepNumber = Annotated[int, Path(ge=1, le=10_000)]


def _url(request: Request) -> str:
    return str(request.app.state.settings.resolved_public_url())


@router.get("/runbooks", response_model=Page[RunbookOut], summary="Runbooks, by title")
def list_runbooks(ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": present.runbooks_out(s, svc.list_runbooks(s), _url(request)), "next_cursor": None}


@router.post("/runbooks", status_code=201, response_model=RunbookOut,
             summary="Create a runbook (admins, or responders for a team they are in)")
def create_runbook(body: RunbookIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        rb = svc.create_runbook(s, actor=me, now=ctx.now, title=body.title, slug=body.slug, team=body.team,
                                body_md=body.body_md, services=body.services, matchers=body.matchers)
        return present.runbooks_out(s, [rb], _url(request))[0]


@router.get("/runbooks/{key}", response_model=RunbookOut, summary="One runbook (slug or id)")
def get_runbook(key: str, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return present.runbooks_out(s, [svc.require_runbook(s, key)], _url(request))[0]


@router.patch("/runbooks/{key}", response_model=RunbookOut,
              summary="Change a runbook (admins, or responders of the owning team)")
def patch_runbook(key: str, body: RunbookPatch, ctx: CtxDep, request: Request) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        rb = svc.update_runbook(s, actor=me, now=ctx.now, runbook=svc.require_runbook(s, key), changes=changes)
        return present.runbooks_out(s, [rb], _url(request))[0]


@router.delete("/runbooks/{key}", status_code=204, response_class=Response,
               summary="Delete a runbook (admins, or responders of the owning team)")
def delete_runbook(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        svc.delete_runbook(s, actor=me, now=ctx.now, runbook=svc.require_runbook(s, key))
    return Response(status_code=204)


@router.get("/incidents/{key}/runbooks", response_model=Page[IncidentRunbookOut],
            summary="An incident's runbooks (its services', its alerts' matches) with each step's state")
def incident_runbooks(key: str, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        return {"items": present.incident_runbooks(s, incident, _url(request)), "next_cursor": None}


@router.post("/incidents/{key}/runbooks/{slug}/steps/{number}", response_model=IncidentRunbookOut,
             summary="Mark a step done or skipped, or undone (responders; on the timeline)")
def mark_step(key: str, slug: str, number: StepNumber, body: StepMarkIn, ctx: CtxDep,
              request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        rb = svc.attached(s, incident, slug)
        svc.mark_step(s, incident=incident, runbook=rb, number=number, state=body.state, actor=me, now=ctx.now,
                      note=body.note)
        return next(x for x in present.incident_runbooks(s, incident, _url(request)) if x["id"] == rb.id)
