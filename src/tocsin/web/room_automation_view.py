"""The Approved actions panel: actions a responder may run (form with typed parameters, dry-run), runs waiting for a second person's approval, recent runs (issue 19).

`panel` returns the template's values, or None for no panel (then room_automation.html is not included).
Also the values of one action's run form (`action_form`), shared by the panel and the page a runbook
step links to (/incidents/{ref}/automation/{slug})."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.automation import params as typed
from tocsin.automation import service as svc
from tocsin.automation.models import ActionRun, ApprovedAction
from tocsin.config import Settings
from tocsin.http.present import users_by_id
from tocsin.incidents.models import Incident
from tocsin.principal import OrgRole, Principal

RECENT = 10
EXCERPT = 2000


def action_form(action: ApprovedAction) -> dict[str, Any]:
    return {"slug": action.slug, "name": action.name, "description": action.description, "kind": action.kind,
            "requires_approval": action.requires_approval, "params": list(action.params_schema)}


def run_row(run: ActionRun, action: ApprovedAction, users: dict[Any, dict[str, Any]], me: Principal) -> dict[str, Any]:
    who = users.get(run.requested_by_id)
    by = users.get(run.approved_by_id)
    result = (f"exit {run.exit_status}" if run.exit_status is not None
              else f"HTTP {run.http_status}" if run.http_status is not None else "")
    return {"id": str(run.id), "action": action.name, "status": run.status, "dry_run": run.dry_run,
            "params": ", ".join(f"{k}={typed.as_text(v)}" for k, v in sorted(run.params.items())),
            "requested_by": who["name"] if who else run.requested_by_label, "decided_by": by["name"] if by else None,
            "requested_at": run.requested_at, "finished_at": run.finished_at, "result": result,
            "output": run.output[:EXCERPT], "mine": run.requested_by_id is not None and run.requested_by_id == me.user_id}


def panel(s: Session, me: Principal, incident: Incident, tz: str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    actions = svc.list_actions(s, enabled_only=True)
    runs = svc.list_runs(s, incident, limit=50)
    if not actions and not runs:
        return None
    users = users_by_id(s, [x for r, _ in runs for x in (r.requested_by_id, r.approved_by_id)])
    rows = [run_row(r, a, users, me) for r, a in runs]
    return {"actions": [action_form(a) for a in actions], "can_act": me.at_least(OrgRole.responder),
            "pending": [r for r in rows if r["status"] == "requested"],
            "recent": [r for r in rows if r["status"] != "requested"][:RECENT]}
