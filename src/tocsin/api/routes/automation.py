"""/api/v1/automation/actions (approved actions: admins define, everyone reads) and
/api/v1/incidents/{key}/automation/runs (responders request runs; a second person approves).

Runs are reached only through their incident (`require_incident`: need-to-know first, a
restricted incident outside the caller's circle is a 404). The engine runs approved runs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.automation import commands
from tocsin.automation import service as svc
from tocsin.automation.models import ActionRun, ApprovedAction
from tocsin.automation.schemas import (
    ActionIn,
    ActionOut,
    ActionPatch,
    CommandsOut,
    DecideIn,
    RunIn,
    RunOut,
)
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.net.policy import user_policy
from tocsin.principal import OrgRole, Principal
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["automation"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def allow_list(settings: Any) -> dict[str, tuple[str, ...]]:
    return commands.load_or_error(settings.automation_commands)[0]


def action_out(action: ApprovedAction, me: Principal) -> dict[str, Any]:
    out = {k: getattr(action, k) for k in ("id", "slug", "name", "description", "kind", "url", "command",
                                            "params_schema", "requires_approval", "timeout_s", "enabled",
                                            "created_at", "updated_at")}
    if not me.is_admin:
        out["url"] = None  # a webhook URL may carry a token in its path or query
    return out


def runs_out(s: Session, rows: list[tuple[ActionRun, ApprovedAction]]) -> list[dict[str, Any]]:
    users = users_by_id(s, [x for r, _ in rows for x in (r.requested_by_id, r.approved_by_id)])
    return [{"id": r.id, "action": a.slug, "action_name": a.name, "kind": a.kind, "params": r.params,
             "dry_run": r.dry_run, "status": r.status, "requested_by": users.get(r.requested_by_id) if r.requested_by_id else None,
             "approved_by": users.get(r.approved_by_id) if r.approved_by_id else None, "exit_status": r.exit_status, "http_status": r.http_status,
             "output": r.output, "requested_at": r.requested_at, "decided_at": r.decided_at,
             "started_at": r.started_at, "finished_at": r.finished_at} for r, a in rows]


# --- actions -------------------------------------------------------------------------------------

@router.get("/automation/actions", response_model=Page[ActionOut], summary="Approved actions")
def list_actions(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": [action_out(a, me) for a in svc.list_actions(s)], "next_cursor": None}


@router.get("/automation/commands", response_model=CommandsOut,
            summary="The operator's allow-listed commands (admins)")
def list_commands(ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (_s, me):
        me.require(OrgRole.admin, "reading the allow-listed commands")
    found, error = commands.load_or_error(request.app.state.settings.automation_commands)
    return {"commands": {k: list(v) for k, v in found.items()}, "error": error}


@router.post("/automation/actions", status_code=201, response_model=ActionOut,
             summary="Define an approved action: a signed webhook or an allow-listed command (admins)")
def create_action(body: ActionIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    with ctx.work() as (s, me):
        action = svc.create_action(s, actor=me, now=ctx.now, values=body.model_dump(mode="json"),
                                   policy=user_policy(settings), allow_list=allow_list(settings))
        return action_out(action, me)


@router.get("/automation/actions/{key}", response_model=ActionOut, summary="One approved action (by id or slug)")
def get_action(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return action_out(svc.require_action(s, key), me)


@router.patch("/automation/actions/{key}", response_model=ActionOut, summary="Change an approved action (admins)")
def patch_action(key: str, body: ActionPatch, ctx: CtxDep, request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    changes = {k: v for k, v in body.model_dump(mode="json", exclude_unset=True).items()
               if v is not None or k in ("url", "command")}
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "changing approved actions")
        action = svc.update_action(s, actor=me, now=ctx.now, action=svc.require_action(s, key), changes=changes,
                                   policy=user_policy(settings), allow_list=allow_list(settings))
        return action_out(action, me)


@router.delete("/automation/actions/{key}", status_code=204, response_class=Response,
               summary="Delete an approved action that never ran (admins; disable one that did)")
def delete_action(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "deleting approved actions")
        svc.delete_action(s, actor=me, now=ctx.now, action=svc.require_action(s, key))
    return Response(status_code=204)


# --- runs ----------------------------------------------------------------------------------------

@router.get("/incidents/{key}/automation/runs", response_model=Page[RunOut],
            summary="The incident's runs of approved actions, newest first")
def list_runs(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": runs_out(s, svc.list_runs(s, require_incident(s, me, key))), "next_cursor": None}


@router.post("/incidents/{key}/automation/runs", status_code=201, response_model=RunOut,
             summary="Run an approved action for the incident (it waits for approval if the action says so)")
def request_run(key: str, body: RunIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        run_id = svc.request_run(s, incident=incident, action=body.action, params=body.params, actor=me,
                                 now=ctx.now, dry_run=body.dry_run)
        return _one(s, incident, run_id)


def _one(s: Session, incident: Any, run_id: uuid.UUID) -> dict[str, Any]:
    run = svc.require_run(s, incident, run_id)
    action = s.get(ApprovedAction, run.action_id)
    assert action is not None
    return runs_out(s, [(run, action)])[0]


@router.get("/incidents/{key}/automation/runs/{run_id}", response_model=RunOut, summary="One run")
def get_run(key: str, run_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _one(s, require_incident(s, me, key), run_id)


@router.post("/incidents/{key}/automation/runs/{run_id}/approve", response_model=RunOut,
             summary="Approve a waiting run (a second person: not its requester)")
def approve_run(key: str, run_id: uuid.UUID, ctx: CtxDep, body: DecideIn | None = None) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.approve(s, incident=incident, run_id=run_id, actor=me, now=ctx.now, reason=body.reason if body else "")
        return _one(s, incident, run_id)


@router.post("/incidents/{key}/automation/runs/{run_id}/refuse", response_model=RunOut,
             summary="Refuse a waiting run")
def refuse_run(key: str, run_id: uuid.UUID, ctx: CtxDep, body: DecideIn | None = None) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        svc.refuse(s, incident=incident, run_id=run_id, actor=me, now=ctx.now, reason=body.reason if body else "")
        return _one(s, incident, run_id)
