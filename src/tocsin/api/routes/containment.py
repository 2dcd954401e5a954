"""/api/v1/incidents/{key}/phase and /checklist (security incidents), and /api/v1/checklist-templates.

Need-to-know applies first (`require_incident`: a restricted incident outside the caller's circle
is a 404), then the containment service's own rules: security incidents only (409), responders
act, viewers read (403), phases only move forward (409).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.containment import phases, templates
from tocsin.containment import service as svc
from tocsin.containment.models import ChecklistStep
from tocsin.containment.schemas import (
    ChecklistIn,
    ChecklistOut,
    PhaseIn,
    PhaseOut,
    StepDoneOut,
    StepIn,
    StepOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    UndoIn,
)
from tocsin.http import forensics
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["containment"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def _nudge_on(request: Request) -> bool:
    return bool(request.app.state.settings.forensics_nudge)


def phase_out(s: Session, state: svc.PhaseState) -> dict[str, Any]:
    users = users_by_id(s, [by for _p, _at, by in state.history])

    def entry(phase: phases.Phase, at: Any, by: uuid.UUID | None) -> dict[str, Any]:
        csf = phases.CSF[phase]
        return {"phase": phase, "label": phases.LABELS[phase], "entered_at": at,
                "entered_by": users.get(by) if by else None,
                "csf": {"functions": list(csf.functions), "categories": list(csf.categories)}}

    return {**entry(state.current, state.entered_at, state.entered_by_id), "next": phases.next_phase(state.current),
            "history": [entry(*h) for h in state.history]}


def steps_out(s: Session, steps: list[ChecklistStep]) -> list[dict[str, Any]]:
    users = users_by_id(s, [x.done_by_id for x in steps])
    return [{"id": x.id, "position": x.position, "kind": x.kind, "title": x.title, "target": x.target,
             "template_name": x.template_name, "created_at": x.created_at, "done_at": x.done_at,
             "done_by": users.get(x.done_by_id) if x.done_by_id else None} for x in steps]


def checklist_out(s: Session, incident: Incident) -> dict[str, Any]:
    return {"items": steps_out(s, svc.list_steps(s, incident)), "next_cursor": None,
            "warnings": [{"id": w.id, "text": w.text, "target": (w.data or {}).get("target"),
                          "recorded_at": w.recorded_at} for w in svc.warnings(s, incident)]}


@router.get("/incidents/{key}/phase", response_model=PhaseOut,
            summary="A security incident's phase (NIST SP 800-61), its CSF 2.0 functions and history")
def get_phase(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return phase_out(s, svc.phase_state(s, require_incident(s, me, key)))


@router.post("/incidents/{key}/phase", response_model=PhaseOut,
             summary="Move a security incident to a later phase (moving back is refused: 409)")
def set_phase(key: str, body: PhaseIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        return phase_out(s, svc.advance(s, incident=incident, actor=me, now=ctx.now, phase=body.phase,
                                        note=body.note))


@router.get("/incidents/{key}/checklist", response_model=ChecklistOut,
            summary="A security incident's containment checklist and forensics-first warnings")
def get_checklist(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return checklist_out(s, require_incident(s, me, key))


@router.post("/incidents/{key}/checklist", status_code=201, response_model=ChecklistOut,
             summary="Start the checklist from a template (the default one unless named)")
def start_checklist(key: str, body: ChecklistIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.start_checklist(s, incident=incident, actor=me, now=ctx.now, template=body.template)
        return checklist_out(s, incident)


@router.post("/incidents/{key}/checklist/steps", status_code=201, response_model=StepOut,
             summary="Add a step (kind, title, optional target host or system)")
def add_step(key: str, body: StepIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        step = svc.add_step(s, incident=incident, actor=me, now=ctx.now, kind=body.kind.value, title=body.title,
                            target=body.target)
        return steps_out(s, [step])[0]


@router.post("/incidents/{key}/checklist/steps/{step_id}/done", response_model=StepDoneOut,
             summary="Mark a step done (an investigate step before its target's preserve step warns)")
def step_done(key: str, step_id: uuid.UUID, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        step = svc.require_step(s, incident, step_id)
        nudge_on = _nudge_on(request)
        found = svc.mark_done(s, incident=incident, step=step, actor=me, now=ctx.now, nudge_on=nudge_on,
                              collected=forensics.leads(s, incident, nudge_on=nudge_on).collected)
        return {**steps_out(s, [step])[0], "warnings": [found.message] if found else []}


@router.post("/incidents/{key}/checklist/steps/{step_id}/undo", response_model=StepOut,
             summary="Un-do a done step, with the reason")
def step_undo(key: str, step_id: uuid.UUID, body: UndoIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        step = svc.require_step(s, incident, step_id)
        svc.mark_undone(s, incident=incident, step=step, actor=me, now=ctx.now, reason=body.reason)
        return steps_out(s, [step])[0]


# --- templates -----------------------------------------------------------------------------------

@router.get("/checklist-templates", response_model=Page[TemplateOut], summary="Containment checklist templates")
def list_templates(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": templates.list_templates(s, now=ctx.now), "next_cursor": None}


@router.post("/checklist-templates", status_code=201, response_model=TemplateOut,
             summary="Create a checklist template (admins)")
def create_template(body: TemplateIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return templates.create_template(s, actor=me, now=ctx.now, name=body.name,
                                         steps=[x.model_dump() for x in body.steps], is_default=body.is_default)


@router.get("/checklist-templates/{template_id}", response_model=TemplateOut, summary="One checklist template")
def get_template(template_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return templates.find_template(s, template_id, now=ctx.now)


@router.patch("/checklist-templates/{template_id}", response_model=TemplateOut,
              summary="Change a template's name or steps, or make it the default (admins)")
def patch_template(template_id: uuid.UUID, body: TemplatePatch, ctx: CtxDep) -> Any:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        template = templates.find_template(s, template_id, now=ctx.now)
        return templates.update_template(s, actor=me, now=ctx.now, template=template, changes=changes)


@router.delete("/checklist-templates/{template_id}", status_code=204, response_class=Response,
               summary="Delete a checklist template other than the default (admins)")
def delete_template(template_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        templates.delete_template(s, actor=me, now=ctx.now, template=templates.find_template(s, template_id,
                                                                                           now=ctx.now))
    return Response(status_code=204)
