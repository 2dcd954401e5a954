"""Console: incident workflows (/configure/workflows) and incident types (/configure/incident-types),
admins edit, everyone signed in reads; and the room's custom field form
(POST /incidents/{ref}/custom-fields, need-to-know first).

Steps are written one a line, `kind | argument | argument`, so a phone's keyboard is enough; a
mistake is a 422 naming the step ("step 2: no team 'dbx'"). Custom field definitions likewise:
`key | label | type | required | choice, choice`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.incidents.types import Kind, Status
from tocsin.principal import OrgRole
from tocsin.severities import Severity
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect
from tocsin.workflows import service as svc
from tocsin.workflows import types_service as types
from tocsin.workflows.steps import KIND_LABELS, KINDS, describe

router = APIRouter(include_in_schema=False)
WORKFLOWS = "/configure/workflows"
TYPES = "/configure/incident-types"


# --- the line formats ----------------------------------------------------------------------------

def parse_steps(text: str) -> list[dict[str, Any]]:
    """One step a line: `kind | argument | argument` (blank lines skipped); see the page's help."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        n = len(out) + 1
        parts = [p.strip() for p in line.split("|")]
        kind, args = parts[0], parts[1:]
        if kind not in KINDS:
            raise InvalidInput(f"step {n}: {kind[:40]!r} is not one of {', '.join(KINDS)}",
                               details={"field": "steps", "step": n - 1})
        step: dict[str, Any] = {"kind": kind}
        if kind == "page_team":
            step["team"] = args[0] if args else ""
            if len(args) > 1 and args[1]:
                step["message"] = " | ".join(args[1:])
        elif kind == "add_role":
            step["role"] = args[0] if args else ""
            who = args[1] if len(args) > 1 else ""
            if who.startswith("schedule:"):
                step["schedule"] = who.removeprefix("schedule:").strip()
            else:
                step["user"] = who
        elif kind in ("post_template", "open_checklist") and args and args[0]:
            step["template"] = args[0]
        elif kind == "run_action":
            step["action"] = args[0] if args else ""
            params: dict[str, str] = {}
            for pair in (args[1] if len(args) > 1 else "").split(","):
                if pair.strip():
                    key, eq, value = pair.partition("=")
                    if not eq or not key.strip():
                        raise InvalidInput(f"step {n}: parameters are name=value, separated by commas",
                                           details={"field": "steps", "step": n - 1})
                    params[key.strip()] = value.strip()
            step["params"] = params
        out.append(step)
    return out


def steps_text(steps: list[dict[str, Any]]) -> str:
    lines = []
    for st in steps:
        kind = st.get("kind")
        if kind == "page_team":
            parts = [st.get("team", "")] + ([st["message"]] if st.get("message") else [])
        elif kind == "add_role":
            parts = [st.get("role", ""), st.get("user") or f"schedule:{st.get('schedule', '')}"]
        elif kind == "run_action":
            params = ", ".join(f"{k}={v}" for k, v in (st.get("params") or {}).items())
            parts = [st.get("action", "")] + ([params] if params else [])
        else:
            parts = [st["template"]] if st.get("template") else []
        lines.append(" | ".join([str(kind), *parts]))
    return "\n".join(lines)


def parse_fields(text: str) -> list[dict[str, Any]]:
    """One custom field a line: `key | label | type | required | choice, choice`."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + [""] * 4
        out.append({"key": parts[0], "label": parts[1] or parts[0], "type": parts[2] or "text",
                    "required": parts[3].lower() in ("required", "yes", "true", "1"),
                    "choices": [c.strip() for c in parts[4].split(",") if c.strip()]})
    return out


def fields_text(fields: list[dict[str, Any]]) -> str:
    return "\n".join(" | ".join([f["key"], f["label"], f["type"], "required" if f.get("required") else "optional",
                                 ", ".join(f.get("choices") or [])]).rstrip(" |") for f in fields)


def parse_checklist(text: str) -> list[str] | dict[str, str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and lines[0].lower().startswith("template:"):
        return {"template": lines[0].split(":", 1)[1].strip()}
    return lines


def checklist_text(checklist: Any) -> str:
    if isinstance(checklist, dict):
        return f"template: {checklist.get('template', '')}"
    return "\n".join(checklist or [])


# --- workflows -----------------------------------------------------------------------------------

def _workflow_form(form: dict[str, str], slugs: list[str]) -> dict[str, Any]:
    trigger = field(form, "trigger", max_len=20)
    return {"name": field(form, "name", max_len=120), "enabled": form.get("enabled") == "1", "trigger": trigger,
            "to_status": (field(form, "to_status", required=False, max_len=20) or None)
            if trigger == "status_changed" else None,
            "kinds": [k.value for k in Kind if form.get(f"kind_{k.value}") == "1"],
            "severities": [s.value for s in Severity if form.get(f"sev_{s.value}") == "1"],
            "incident_types": [t for t in slugs if form.get(f"type_{t}") == "1"],
            "steps": parse_steps(field(form, "steps", max_len=20_000))}


@router.get(WORKFLOWS)
def workflows_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        type_rows = [(t.slug, t.name) for t in types.list_types(s, ctx.now)]
        rows = [{"id": str(w.id), "name": w.name, "enabled": w.enabled, "trigger": w.trigger,
                 "to_status": w.to_status, "kinds": w.kinds, "severities": w.severities,
                 "incident_types": w.incident_types, "steps": [describe(x) for x in w.steps],
                 "text": steps_text(w.steps)} for w in svc.list_workflows(s)]
    return render(request, ctx, "workflows.html", workflows=rows, can_edit=ctx.principal.is_admin,
                  kinds=[k.value for k in Kind], severities=[s.value for s in Severity], types=type_rows,
                  statuses=[x.value for x in Status], step_kinds=[(k, KIND_LABELS[k]) for k in KINDS])


@router.post(WORKFLOWS)
def create_workflow(ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "creating incident workflows")
    with ctx.work() as (s, me):
        data = _workflow_form(form, [t.slug for t in types.list_types(s, ctx.now)])
        svc.create_workflow(s, actor=me, now=ctx.now, data=data)
    return redirect(WORKFLOWS, "Workflow created.")


@router.post(WORKFLOWS + "/{workflow_id}")
def update_workflow(workflow_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save it, or delete it with `delete=1`."""
    ctx.principal.require(OrgRole.admin, "editing incident workflows")
    wid = parse_uuid(workflow_id, "workflow")
    with ctx.work() as (s, me):
        workflow = svc.require_workflow(s, wid)
        if form.get("delete") == "1":
            svc.delete_workflow(s, actor=me, now=ctx.now, workflow=workflow)
            return redirect(WORKFLOWS, "Workflow deleted.")
        data = _workflow_form(form, [t.slug for t in types.list_types(s, ctx.now)])
        svc.update_workflow(s, actor=me, now=ctx.now, workflow=workflow, data=data)
    return redirect(WORKFLOWS, "Workflow saved.")


# --- incident types ------------------------------------------------------------------------------

def _type_form(form: dict[str, str]) -> dict[str, Any]:
    return {"name": field(form, "name", max_len=120), "base_kind": field(form, "base_kind", max_len=20),
            "description": field(form, "description", required=False, max_len=4000),
            "custom_fields": parse_fields(field(form, "custom_fields", required=False, max_len=20_000)),
            "checklist": parse_checklist(field(form, "checklist", required=False, max_len=40_000)),
            "templates": [t.strip() for t in field(form, "templates", required=False, max_len=2000).split(",")
                          if t.strip()]}


@router.get(TYPES)
def types_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = [{"slug": t.slug, "name": t.name, "base_kind": t.base_kind, "description": t.description,
                 "fields": t.custom_fields, "fields_text": fields_text(t.custom_fields),
                 "checklist_text": checklist_text(t.checklist), "templates": ", ".join(t.templates)}
                for t in types.list_types(s, ctx.now)]
    return render(request, ctx, "incident_types.html", types=rows, can_edit=ctx.principal.is_admin,
                  kinds=[k.value for k in Kind])


@router.post(TYPES)
def create_type(ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "creating incident types")
    data = {"slug": field(form, "slug", max_len=64), **_type_form(form)}
    with ctx.work() as (s, me):
        types.create_type(s, actor=me, now=ctx.now, data=data)
    return redirect(TYPES, "Incident type created.")


@router.post(TYPES + "/{slug}")
def update_type(slug: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save it, or delete it with `delete=1`."""
    ctx.principal.require(OrgRole.admin, "editing incident types")
    with ctx.work() as (s, me):
        row = types.require_type(s, slug, ctx.now)
        if form.get("delete") == "1":
            types.delete_type(s, actor=me, now=ctx.now, row=row)
            return redirect(TYPES, "Incident type deleted.")
        types.update_type(s, actor=me, now=ctx.now, row=row, data=_type_form(form))
    return redirect(TYPES, "Incident type saved.")


# --- the room's custom fields --------------------------------------------------------------------

@router.post("/incidents/{ref}/custom-fields")
def set_custom_fields(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "editing custom fields")
    values = {k.removeprefix("cf_"): v for k, v in form.items() if k.startswith("cf_")}
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        if incident.incident_type:
            for spec in types.require_type(s, incident.incident_type, ctx.now).custom_fields:
                if spec["type"] == "boolean":  # an unticked box is not sent
                    values[spec["key"]] = "yes" if values.get(spec["key"]) == "1" else "no"
        types.set_fields(s, actor=me, now=ctx.now, incident=incident, values=values)
        room = incident_ref(incident)
    return redirect(f"/incidents/{room}#workflows-section", "Custom fields saved.")
