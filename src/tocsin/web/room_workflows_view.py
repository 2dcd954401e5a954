"""The Workflow panel: the incident type and its custom fields, and the workflow steps that ran for this incident (issue 19).

`panel` returns the template's values, or None for no panel (then room_workflows.html is not included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.incidents.models import Incident
from tocsin.principal import OrgRole, Principal
from tocsin.workflows import service as workflows
from tocsin.workflows import types_service as types
from tocsin.workflows.steps import KIND_LABELS


def _shown(spec: dict[str, Any], value: Any) -> str:
    if value is None:
        return ""
    if spec["type"] == "boolean":
        return "yes" if value else "no"
    return str(value)


def panel(s: Session, me: Principal, incident: Incident, tz: ZoneInfo, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    itype = types.find_type(s, incident.incident_type) if incident.incident_type else None
    runs = workflows.runs_of(s, incident.id)
    if itype is None and not runs and not incident.incident_type:
        return None
    values = incident.custom_fields or {}
    fields = [{"key": f["key"], "label": f["label"], "type": f["type"], "required": f["required"],
               "choices": f["choices"], "value": _shown(f, values.get(f["key"])),
               "missing": f["required"] and values.get(f["key"]) is None}
              for f in (itype.custom_fields if itype else [])]
    return {
        "type_slug": incident.incident_type, "type_name": itype.name if itype else incident.incident_type,
        "type_missing": itype is None and incident.incident_type is not None,
        "templates": list(itype.templates) if itype else [],
        "fields": fields, "can_edit": me.at_least(OrgRole.responder) and bool(fields),
        "runs": [{"workflow": r.workflow_name, "step": r.step_index + 1,
                  "kind": KIND_LABELS.get(r.step_kind, r.step_kind), "status": r.status, "detail": r.detail,
                  "when": r.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")} for r in runs],
    }
