"""Console: approved actions. /configure/automation (admins define actions; everyone sees them and the
operator's allow-listed command names), the room panel's forms (request a run, approve or refuse one)
and /incidents/{ref}/automation/{slug}, one action's run form that runbook steps link to.

Need-to-know first (`require_incident`: 404 outside the circle), then the automation service's rules
(responders run, a second person approves, admins define). A refused form shows the console's error
page with its 4xx status and message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.automation import commands
from tocsin.automation import params as typed
from tocsin.automation import service as svc
from tocsin.automation.types import ActionKind
from tocsin.errors import InvalidInput
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.net.policy import user_policy
from tocsin.principal import OrgRole
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.room_automation_view import action_form
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
PAGE = "/configure/automation"


def _room(ref: str) -> str:
    return f"/incidents/{ref}#automation"


# --- admins: the actions -------------------------------------------------------------------------

@router.get(PAGE)
def actions_page(request: Request, ctx: CtxDep) -> Response:
    allowed, error = commands.load_or_error(ctx.settings.automation_commands)
    with ctx.work() as (s, _me):
        rows = [{"id": str(a.id), "slug": a.slug, "name": a.name, "description": a.description, "kind": a.kind,
                 "url": a.url if ctx.principal.is_admin else None, "command": a.command,
                 "params": typed.to_lines(a.params_schema), "requires_approval": a.requires_approval,
                 "timeout_s": a.timeout_s, "enabled": a.enabled} for a in svc.list_actions(s)]
    return render(request, ctx, "automation_actions.html", actions=rows, can_edit=ctx.principal.is_admin,
                  commands=sorted(allowed), commands_error=error, kinds=[k.value for k in ActionKind],
                  has_secret=bool(ctx.settings.automation_signing_secret))


def _values(form: dict[str, str]) -> dict[str, Any]:
    timeout = field(form, "timeout_s", required=False, max_len=6) or "60"
    if not (timeout.isascii() and timeout.isdigit()):  # "²".isdigit(), yet int("²") raises
        raise InvalidInput("timeout: whole seconds", details={"field": "timeout_s"})
    return {"slug": field(form, "slug", max_len=64), "name": field(form, "name", max_len=120),
            "description": field(form, "description", required=False, max_len=2000),
            "kind": field(form, "kind", max_len=16), "url": field(form, "url", required=False, max_len=2000) or None,
            "command": field(form, "command", required=False, max_len=64) or None,
            "params_schema": typed.parse_lines(field(form, "params", required=False, max_len=20_000)),
            "requires_approval": form.get("requires_approval") == "1", "timeout_s": int(timeout),
            "enabled": form.get("enabled") == "1"}


@router.post(PAGE)
def create_action(ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "defining approved actions")
    values = _values(form)
    allowed, _error = commands.load_or_error(ctx.settings.automation_commands)
    with ctx.work() as (s, me):
        svc.create_action(s, actor=me, now=ctx.now, values=values, policy=user_policy(ctx.settings),
                          allow_list=allowed)
    return redirect(PAGE, f"Action {values['slug']} created.")


@router.post(PAGE + "/{action_id}")
def update_action(action_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save the action, or delete it with `delete=1` (only one that never ran)."""
    ctx.principal.require(OrgRole.admin, "changing approved actions")
    aid = parse_uuid(action_id, "approved action")
    allowed, _error = commands.load_or_error(ctx.settings.automation_commands)
    with ctx.work() as (s, me):
        action = svc.require_action(s, aid)
        if form.get("delete") == "1":
            svc.delete_action(s, actor=me, now=ctx.now, action=action)
            return redirect(PAGE, "Action deleted.")
        svc.update_action(s, actor=me, now=ctx.now, action=action, changes=_values(form),
                          policy=user_policy(ctx.settings), allow_list=allowed)
    return redirect(PAGE, "Action saved.")


# --- responders: runs ----------------------------------------------------------------------------

@router.get("/incidents/{ref}/automation/{slug}")
def run_page(request: Request, ref: str, slug: str, ctx: CtxDep) -> Response:
    """One action's run form (runbook steps link here); it posts to the room panel's handler."""
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        action = svc.require_action(s, slug[:64])
        if not action.enabled:
            raise InvalidInput(f"the action {action.slug} is disabled", details={"action": action.slug})
        form = action_form(action)
        head = {"ref": incident_ref(incident), "title": incident.title}
        can_act = me.at_least(OrgRole.responder)
    return render(request, ctx, "automation_run.html", fid="au", a=form, h=head, can_act=can_act)


@router.post("/incidents/{ref}/automation/runs")
def request_run(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "running approved actions")
    slug = field(form, "action", max_len=64)
    given = {k.removeprefix("param_"): v for k, v in form.items() if k.startswith("param_")}
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        action = svc.require_action(s, slug)
        for spec in action.params_schema:  # an unticked checkbox sends nothing: it means false
            if spec["type"] == "boolean" and spec["name"] not in given:
                given[spec["name"]] = "false"
        svc.request_run(s, incident=incident, action=slug, params=given, actor=me, now=ctx.now,
                        dry_run=form.get("dry_run") == "1")
        room = incident_ref(incident)
        waits = action.requires_approval and form.get("dry_run") != "1"
    return redirect(_room(room), f"{action.name}: " + ("waiting for a second person's approval." if waits
                                                       else "the engine runs it in a moment."))


@router.post("/incidents/{ref}/automation/runs/{run_id}")
def decide_run(ref: str, run_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """`decision=approve` or `decision=refuse`, with an optional `reason`."""
    ctx.principal.require(OrgRole.responder, "approving or refusing approved actions")
    decision = field(form, "decision", max_len=10)
    if decision not in ("approve", "refuse"):
        raise InvalidInput("decision is approve or refuse", details={"field": "decision"})
    reason = field(form, "reason", required=False, max_len=2000)
    rid = parse_uuid(run_id, "run")
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        decide = svc.approve if decision == "approve" else svc.refuse
        decide(s, incident=incident, run_id=rid, actor=me, now=ctx.now, reason=reason)
        room = incident_ref(incident)
    return redirect(_room(room), "Approved: the engine runs it in a moment." if decision == "approve" else "Refused.")
