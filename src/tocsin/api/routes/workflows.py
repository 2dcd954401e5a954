"""/api/v1/workflows (incident workflows), /api/v1/incident-types, and an incident's custom fields and
workflow runs. Admins change workflows and types (audited); everyone signed in reads them. An
incident's fields and runs follow need-to-know (`require_incident`: a restricted incident outside
the caller's circle is a 404)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.incidents.access import require_incident
from tocsin.principal import OrgRole
from tocsin.schemas import Page
from tocsin.workflows import service as svc
from tocsin.workflows import types_service as types
from tocsin.workflows.models import IncidentType
from tocsin.workflows.schemas import (
    CustomFieldsIn,
    CustomFieldsOut,
    IncidentTypeIn,
    IncidentTypeOut,
    IncidentTypePatch,
    WorkflowIn,
    WorkflowOut,
    WorkflowPatch,
    WorkflowRunOut,
)

router = APIRouter(prefix="/api/v1", tags=["workflows"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


@router.get("/workflows", response_model=Page[WorkflowOut], summary="Incident workflows")
def list_workflows(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.viewer, "reading workflows")
        return {"items": svc.list_workflows(s), "next_cursor": None}


@router.post("/workflows", status_code=201, response_model=WorkflowOut, summary="Create a workflow (admins)")
def create_workflow(body: WorkflowIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return svc.create_workflow(s, actor=me, now=ctx.now, data=body.model_dump(mode="json"))


@router.get("/workflows/{workflow_id}", response_model=WorkflowOut, summary="One workflow")
def get_workflow(workflow_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.viewer, "reading workflows")
        return svc.require_workflow(s, workflow_id)


@router.patch("/workflows/{workflow_id}", response_model=WorkflowOut, summary="Change a workflow (admins)")
def patch_workflow(workflow_id: uuid.UUID, body: WorkflowPatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "editing incident workflows")
        return svc.update_workflow(s, actor=me, now=ctx.now, workflow=svc.require_workflow(s, workflow_id),
                                   data=body.model_dump(mode="json", exclude_unset=True))


@router.delete("/workflows/{workflow_id}", status_code=204, response_class=Response,
               summary="Delete a workflow (admins; its past runs stay on the incidents)")
def delete_workflow(workflow_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "deleting incident workflows")
        svc.delete_workflow(s, actor=me, now=ctx.now, workflow=svc.require_workflow(s, workflow_id))
    return Response(status_code=204)


@router.get("/incidents/{key}/workflow-runs", response_model=Page[WorkflowRunOut],
            summary="The workflow steps that ran on an incident")
def incident_runs(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": svc.runs_of(s, require_incident(s, me, key).id), "next_cursor": None}


@router.put("/incidents/{key}/custom-fields", response_model=CustomFieldsOut,
            summary="Set an incident's custom field values (checked against its type)")
def put_custom_fields(key: str, body: CustomFieldsIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        values = types.set_fields(s, actor=me, now=ctx.now, incident=incident, values=body.values)
        return {"incident_type": incident.incident_type, "custom_fields": values}


# --- incident types ------------------------------------------------------------------------------

def _type(s: Session, slug: str, ctx: Ctx) -> IncidentType:
    return types.require_type(s, slug, ctx.now)


@router.get("/incident-types", response_model=Page[IncidentTypeOut],
            summary="Incident types (security, data loss, vendor outage are shipped)")
def list_types(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.viewer, "reading incident types")
        return {"items": types.list_types(s, ctx.now), "next_cursor": None}


@router.post("/incident-types", status_code=201, response_model=IncidentTypeOut,
             summary="Create an incident type (admins)")
def create_type(body: IncidentTypeIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return types.create_type(s, actor=me, now=ctx.now, data=body.model_dump(mode="json"))


@router.get("/incident-types/{slug}", response_model=IncidentTypeOut, summary="One incident type")
def get_type(slug: str, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.viewer, "reading incident types")
        return _type(s, slug, ctx)


@router.patch("/incident-types/{slug}", response_model=IncidentTypeOut, summary="Change an incident type (admins)")
def patch_type(slug: str, body: IncidentTypePatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "editing incident types")
        return types.update_type(s, actor=me, now=ctx.now, row=_type(s, slug, ctx),
                                 data=body.model_dump(mode="json", exclude_unset=True))


@router.delete("/incident-types/{slug}", status_code=204, response_class=Response,
               summary="Delete an incident type no incident uses (admins)")
def delete_type(slug: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "deleting incident types")
        types.delete_type(s, actor=me, now=ctx.now, row=_type(s, slug, ctx))
    return Response(status_code=204)
