"""Incident workflows: create, edit, delete (admins, audited), and what ran on an incident."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents.types import Kind, Status
from tocsin.principal import OrgRole, Principal
from tocsin.severities import Severity
from tocsin.workflows.match import TRIGGERS, Filters
from tocsin.workflows.models import IncidentWorkflow, WorkflowRun
from tocsin.workflows.steps import check_steps
from tocsin.workflows.types_service import list_types


def filters_of(w: IncidentWorkflow) -> Filters:
    return Filters(trigger=w.trigger, to_status=w.to_status, kinds=w.kinds or [], severities=w.severities or [],
                   incident_types=w.incident_types or [])


def _list(raw: Any, field: str, allowed: set[str], what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise InvalidInput(f"{field} is a list of {what} (empty: any)", details={"field": field})
    values = [v.strip() for v in raw if v.strip()]
    for v in values:
        if v not in allowed:
            raise InvalidInput(f"{field}: {v[:40]!r} is not one of {', '.join(sorted(allowed))}",
                               details={"field": field})
    return sorted(set(values))


def _checked(s: Session, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 120:
            raise InvalidInput("a workflow needs a name of at most 120 characters", details={"field": "name"})
        out["name"] = name
    if "enabled" in data:
        out["enabled"] = bool(data["enabled"])
    if "trigger" in data:
        if data["trigger"] not in TRIGGERS:
            raise InvalidInput(f"trigger is one of {', '.join(TRIGGERS)}", details={"field": "trigger"})
        out["trigger"] = data["trigger"]
    if "to_status" in data:
        status = data["to_status"] or None
        if status is not None and status not in Status.__members__:
            raise InvalidInput(f"to_status is one of {', '.join(Status)}", details={"field": "to_status"})
        out["to_status"] = status
    if "kinds" in data:
        out["kinds"] = _list(data["kinds"], "kinds", set(Kind.__members__), "incident kinds")
    if "severities" in data:
        out["severities"] = _list(data["severities"], "severities", {s.value for s in Severity}, "severities")
    if "incident_types" in data:
        out["incident_types"] = _list(data["incident_types"], "incident_types",
                                      {t.slug for t in list_types(s, now)}, "incident type slugs")
    if "steps" in data:
        out["steps"] = check_steps(s, data["steps"], now)
    return out


def _unique_name(s: Session, name: str, except_id: uuid.UUID | None = None) -> None:
    q = sa.select(IncidentWorkflow.id).where(IncidentWorkflow.name == name)
    if except_id is not None:
        q = q.where(IncidentWorkflow.id != except_id)
    if s.execute(q.limit(1)).first() is not None:
        raise Conflict(f"a workflow named {name!r} exists", details={"field": "name"})


def list_workflows(s: Session) -> list[IncidentWorkflow]:
    return list(s.execute(sa.select(IncidentWorkflow).order_by(IncidentWorkflow.name)).scalars())


def require_workflow(s: Session, workflow_id: uuid.UUID) -> IncidentWorkflow:
    found = s.get(IncidentWorkflow, workflow_id)
    if found is None:
        raise NotFound(f"no workflow {workflow_id}", details={"workflow": str(workflow_id)})
    return found


def create_workflow(s: Session, *, actor: Principal, now: datetime, data: Mapping[str, Any]) -> IncidentWorkflow:
    actor.require(OrgRole.admin, "creating incident workflows")
    values = _checked(s, {"enabled": True, "trigger": "declared", "to_status": None, "kinds": [], "severities": [],
                          "incident_types": [], **data}, now)
    if "name" not in values or "steps" not in values:
        raise InvalidInput("a workflow needs a name and steps", details={"field": "name" if "name" not in values
                                                                              else "steps"})
    if values["trigger"] == "declared":
        values["to_status"] = None
    _unique_name(s, values["name"])
    w = IncidentWorkflow(**values, created_at=now, updated_at=now)
    s.add(w)
    s.flush()
    record(s, actor=actor, action="workflow.create", target_type="workflow", target_id=w.id, now=now,
           details={"name": w.name, "trigger": w.trigger, "steps": len(w.steps)})
    return w


def update_workflow(s: Session, *, actor: Principal, now: datetime, workflow: IncidentWorkflow,
                    data: Mapping[str, Any]) -> IncidentWorkflow:
    actor.require(OrgRole.admin, "editing incident workflows")
    values = _checked(s, data, now)
    if "name" in values:
        _unique_name(s, values["name"], workflow.id)
    for k, v in values.items():
        setattr(workflow, k, v)
    if workflow.trigger == "declared":
        workflow.to_status = None
    workflow.updated_at = now
    s.flush()
    record(s, actor=actor, action="workflow.update", target_type="workflow", target_id=workflow.id, now=now,
           details={"name": workflow.name, "fields": sorted(values)})
    return workflow


def delete_workflow(s: Session, *, actor: Principal, now: datetime, workflow: IncidentWorkflow) -> None:
    actor.require(OrgRole.admin, "deleting incident workflows")
    record(s, actor=actor, action="workflow.delete", target_type="workflow", target_id=workflow.id, now=now,
           details={"name": workflow.name})
    s.delete(workflow)
    s.flush()


def runs_of(s: Session, incident_id: uuid.UUID, limit: int = 200) -> list[WorkflowRun]:
    """The workflow steps that ran on the incident, oldest first."""
    return list(s.execute(sa.select(WorkflowRun).where(WorkflowRun.incident_id == incident_id)
                          .order_by(WorkflowRun.at, WorkflowRun.workflow_name, WorkflowRun.step_index)
                          .limit(limit)).scalars())
