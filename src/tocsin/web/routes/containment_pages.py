"""Console: the incident room's Containment panel actions (POST /incidents/{ref}/containment/...)
and the checklist template editor (/checklist-templates, admins edit, linked from /configure).

Need-to-know first (`require_incident`: 404 outside the circle), then the containment service's
rules (security incidents only, responders act, phases only move forward). A refused action
shows the console's error page with its 4xx status and message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.containment import service as containment
from tocsin.containment import templates
from tocsin.containment.types import Phase, StepKind
from tocsin.errors import InvalidInput
from tocsin.http import forensics
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.principal import OrgRole
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)


def _room(ref: str, anchor: str = "containment-section") -> str:
    return f"/incidents/{ref}#{anchor}"


@router.post("/incidents/{ref}/containment/phase")
def advance_phase(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "changing a security incident's phase")
    try:
        phase = Phase(field(form, "phase", max_len=40))
    except ValueError:
        raise InvalidInput("choose a phase", details={"field": "phase"}) from None
    note = field(form, "note", required=False, max_len=2000)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        state = containment.advance(s, incident=incident, actor=me, now=ctx.now, phase=phase, note=note)
        room = incident_ref(incident)
    return redirect(_room(room), f"Phase: {state.current.value.replace('_', ' ')}.")


@router.post("/incidents/{ref}/containment/checklist")
def start_checklist(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "starting a containment checklist")
    template = field(form, "template", required=False, max_len=120) or None
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        containment.start_checklist(s, incident=incident, actor=me, now=ctx.now, template=template)
        room = incident_ref(incident)
    return redirect(_room(room), "Checklist started.")


@router.post("/incidents/{ref}/containment/steps")
def add_step(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "adding checklist steps")
    kind, title = field(form, "kind", max_len=20), field(form, "title", max_len=300)
    target = field(form, "target", required=False, max_len=200) or None
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        containment.add_step(s, incident=incident, actor=me, now=ctx.now, kind=kind, title=title, target=target)
        room = incident_ref(incident)
    return redirect(_room(room), "Step added.")


@router.post("/incidents/{ref}/containment/steps/{step_id}")
def tick_step(ref: str, step_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """`done=1` marks the step done; `done=0` un-does it and needs a `reason`."""
    ctx.principal.require(OrgRole.responder, "ticking checklist steps")
    done = field(form, "done", max_len=1)
    if done not in ("0", "1"):
        raise InvalidInput("done is 1 (done) or 0 (not done)", details={"field": "done"})
    reason = field(form, "reason", required=done == "0", max_len=2000)
    sid = parse_uuid(step_id, "checklist step")
    flash = "Step done."
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        step = containment.require_step(s, incident, sid)
        if done == "1":
            nudge_on = ctx.settings.forensics_nudge
            found = containment.mark_done(s, incident=incident, step=step, actor=me, now=ctx.now, nudge_on=nudge_on,
                                          collected=forensics.leads(s, incident, nudge_on=nudge_on).collected)
            if found is not None:
                flash = f"Step done. Forensics first: {found.message}."
        else:
            containment.mark_undone(s, incident=incident, step=step, actor=me, now=ctx.now, reason=reason)
            flash = "Step marked not done."
        room = incident_ref(incident)
    return redirect(_room(room), flash)


# --- templates -----------------------------------------------------------------------------------

def parse_steps(text: str) -> list[dict[str, Any]]:
    """One step a line: `kind | title | target` (target optional); blank lines are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or len(parts) > 3:
            raise InvalidInput(f"line {number}: write kind | title | target (target optional)",
                               details={"field": "steps"})
        out.append({"kind": parts[0], "title": parts[1], "target": parts[2] if len(parts) == 3 else None})
    return out


def steps_text(steps: list[dict[str, Any]]) -> str:
    return "\n".join(f"{x['kind']} | {x['title']}" + (f" | {x['target']}" if x.get("target") else "") for x in steps)


@router.get("/checklist-templates")
def templates_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = [{"id": str(t.id), "name": t.name, "is_default": t.is_default, "steps": list(t.steps),
                 "text": steps_text(list(t.steps))} for t in templates.list_templates(s, now=ctx.now)]
    return render(request, ctx, "checklist_templates.html", templates=rows, can_edit=ctx.principal.is_admin,
                  kinds=[k.value for k in StepKind])


@router.post("/checklist-templates")
def create_template(ctx: CtxDep, form: CsrfForm) -> Response:
    name = field(form, "name", max_len=120)
    steps = parse_steps(field(form, "steps", max_len=40_000))
    with ctx.work() as (s, me):
        templates.create_template(s, actor=me, now=ctx.now, name=name, steps=steps,
                                  is_default=form.get("is_default") == "1")
    return redirect("/checklist-templates", "Template created.")


@router.post("/checklist-templates/{template_id}")
def update_template(template_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save the name and steps (and the default mark), or delete it with `delete=1`."""
    tid = parse_uuid(template_id, "checklist template")
    with ctx.work() as (s, me):
        template = templates.find_template(s, tid, now=ctx.now)
        if form.get("delete") == "1":
            templates.delete_template(s, actor=me, now=ctx.now, template=template)
            return redirect("/checklist-templates", "Template deleted.")
        changes: dict[str, Any] = {"name": field(form, "name", max_len=120),
                                   "steps": parse_steps(field(form, "steps", max_len=40_000))}
        if form.get("is_default") == "1":
            changes["is_default"] = True
        templates.update_template(s, actor=me, now=ctx.now, template=template, changes=changes)
    return redirect("/checklist-templates", "Template saved.")
