"""Approved actions: an admin's vetted webhooks and commands a responder runs from the room (issue 19).

Admins define actions (`create_action`, `update_action`, `delete_action`); responders ask for a run
(`request_run`), which waits for a second person (`approve`, `refuse`: never the requester's own
approval) when the action requires it. The engine runs approved runs (automation/jobs.py), never a
web request. Every request, decision and result is on the incident's timeline and in the audit
chain, in the caller's transaction. Callers find the incident through `require_incident` first
(need-to-know): runs are only ever read through their incident.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.automation import commands
from tocsin.automation import params as typed
from tocsin.automation.models import ActionRun, ApprovedAction
from tocsin.automation.types import ActionKind, RunStatus
from tocsin.contacts.service import check_address
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.types import TimelineKind
from tocsin.net.guard import EgressPolicy
from tocsin.principal import OrgRole, Principal
from tocsin.slugs import check_slug

MAX_TIMEOUT = 3600
FIELDS = ("slug", "name", "description", "kind", "url", "command", "params_schema", "requires_approval",
          "timeout_s", "enabled")


# --- actions (admins) ----------------------------------------------------------------------------

def list_actions(s: Session, *, enabled_only: bool = False) -> list[ApprovedAction]:
    q = sa.select(ApprovedAction).order_by(ApprovedAction.name, ApprovedAction.slug)
    if enabled_only:
        q = q.where(ApprovedAction.enabled.is_(True))
    return list(s.execute(q).scalars())


def require_action(s: Session, key: str | uuid.UUID) -> ApprovedAction:
    """The action by id or slug; NotFound otherwise."""
    found = None
    if isinstance(key, uuid.UUID):
        found = s.get(ApprovedAction, key)
    else:
        try:
            found = s.get(ApprovedAction, uuid.UUID(key))
        except ValueError:
            found = s.execute(sa.select(ApprovedAction).where(ApprovedAction.slug == key)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no approved action {key}", details={"action": str(key)})
    return found


def _check(values: dict[str, Any], *, policy: EgressPolicy, allow_list: Mapping[str, tuple[str, ...]]
           ) -> dict[str, Any]:
    """The action's fields checked and normalised, or InvalidInput naming the field."""
    out = dict(values)
    out["slug"] = check_slug(str(values["slug"]))
    name = str(values["name"]).strip()
    if not name or len(name) > 120:
        raise InvalidInput("name: 1 to 120 characters", details={"field": "name"})
    out["name"] = name
    if len(values.get("description") or "") > 2000:
        raise InvalidInput("description: at most 2000 characters", details={"field": "description"})
    out["description"] = values.get("description") or ""
    try:
        kind = ActionKind(values["kind"])
    except ValueError:
        raise InvalidInput("kind must be webhook or command", details={"field": "kind"}) from None
    out["kind"] = kind.value
    out["params_schema"] = typed.check_schema(values.get("params_schema") or [])
    timeout = values.get("timeout_s")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= MAX_TIMEOUT:
        raise InvalidInput(f"timeout_s: 1 to {MAX_TIMEOUT} seconds", details={"field": "timeout_s"})
    if kind is ActionKind.webhook:
        url = (values.get("url") or "").strip()
        if len(url) > 2000:
            raise InvalidInput("url: at most 2000 characters", details={"field": "url"})
        try:
            out["url"] = check_address("webhook", url, policy=policy)
        except InvalidInput as exc:
            raise InvalidInput(exc.message.replace("address", "url", 1), details={"field": "url"}) from None
        out["command"] = None
    else:
        command = (values.get("command") or "").strip()
        if not allow_list:
            raise InvalidInput("no command is allow-listed: the operator lists them in the file named by "
                               "TOCSIN_AUTOMATION_COMMANDS", details={"field": "command"})
        if command not in allow_list:
            raise InvalidInput(f"command must be one of the allow-listed commands: {', '.join(sorted(allow_list))}",
                               details={"field": "command"})
        commands.check_fits(allow_list[command], out["params_schema"], command)
        out["command"], out["url"] = command, None
    return out


def _slug_free(s: Session, slug: str, action_id: uuid.UUID | None) -> None:
    taken = s.execute(sa.select(ApprovedAction.id).where(ApprovedAction.slug == slug)).scalar_one_or_none()
    if taken is not None and taken != action_id:
        raise Conflict(f"an action named {slug} exists already", details={"field": "slug"})


def _audit_details(action: ApprovedAction) -> dict[str, Any]:
    return {"slug": action.slug, "kind": action.kind, "url": action.url, "command": action.command,
            "params": [p["name"] for p in action.params_schema], "requires_approval": action.requires_approval,
            "timeout_s": action.timeout_s, "enabled": action.enabled}


def create_action(s: Session, *, actor: Principal, now: datetime, values: dict[str, Any], policy: EgressPolicy,
                  allow_list: Mapping[str, tuple[str, ...]]) -> ApprovedAction:
    """A new action from `values` (FIELDS; defaults: no approval, 60 s, enabled)."""
    actor.require(OrgRole.admin, "defining approved actions")
    values = {"description": "", "params_schema": [], "requires_approval": False, "timeout_s": 60,
              "enabled": True, "url": None, "command": None, **values}
    checked = _check(values, policy=policy, allow_list=allow_list)
    _slug_free(s, checked["slug"], None)
    action = ApprovedAction(**{k: checked[k] for k in FIELDS}, created_at=now, updated_at=now)
    action.requires_approval, action.enabled = bool(checked["requires_approval"]), bool(checked["enabled"])
    s.add(action)
    s.flush()
    record(s, actor=actor, action="automation.action_create", target_type="approved_action", target_id=action.id,
           now=now, details=_audit_details(action))
    return action


def update_action(s: Session, *, actor: Principal, now: datetime, action: ApprovedAction, changes: dict[str, Any],
                  policy: EgressPolicy, allow_list: Mapping[str, tuple[str, ...]]) -> ApprovedAction:
    """Change some of the action's FIELDS (a URL or command is checked again)."""
    actor.require(OrgRole.admin, "changing approved actions")
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}", details={"field": sorted(unknown)[0]})
    current = {k: getattr(action, k) for k in FIELDS}
    checked = _check({**current, **changes}, policy=policy, allow_list=allow_list)
    _slug_free(s, checked["slug"], action.id)
    before = _audit_details(action)
    edited = any(checked[key] != current[key] for key in FIELDS)
    for key in FIELDS:
        setattr(action, key, checked[key])
    if edited:  # `stale`: runs requested before an edit are refused, so a save that changes nothing is no edit
        action.updated_at = now
    s.flush()
    after = _audit_details(action)
    record(s, actor=actor, action="automation.action_update", target_type="approved_action", target_id=action.id,
           now=now, details={"changed": {k: after[k] for k in after if after[k] != before[k]}, "slug": action.slug})
    return action


def delete_action(s: Session, *, actor: Principal, now: datetime, action: ApprovedAction) -> None:
    """Delete an action that never ran (Conflict otherwise: disable it, its runs stay on record)."""
    actor.require(OrgRole.admin, "deleting approved actions")
    if s.execute(sa.select(ActionRun.id).where(ActionRun.action_id == action.id).limit(1)).first():
        raise Conflict("this action has runs on record: disable it instead", details={"action": action.slug})
    record(s, actor=actor, action="automation.action_delete", target_type="approved_action", target_id=action.id,
           now=now, details={"slug": action.slug})
    s.delete(action)
    s.flush()


# --- runs (responders) ---------------------------------------------------------------------------

def describe(action: ApprovedAction, run: ActionRun) -> str:
    what = f"“{action.name}”" + (" (dry run)" if run.dry_run else "")
    shown = ", ".join(f"{k}={typed.as_text(v)}" for k, v in sorted(run.params.items()))
    return what + (f" with {shown}" if shown else "")


def log_event(s: Session, *, incident: Incident, action: ApprovedAction, run: ActionRun, actor: Principal, now: datetime,
         event: str, text: str, extra: dict[str, Any] | None = None) -> None:
    data = {"run": str(run.id), "action": action.slug, "event": event, "status": run.status,
            "dry_run": run.dry_run, **(extra or {})}
    timeline.append(s, incident=incident, kind=TimelineKind.automation, actor=actor, now=now, text=text[:4000],
                    data=data)
    record(s, actor=actor, action=f"automation.run_{event}", target_type="incident", target_id=incident.id, now=now,
           details={"run": str(run.id), "action": action.slug, "status": run.status, "dry_run": run.dry_run,
                    **({"params": run.params} if event == "requested" else {}), **(extra or {})})


def stale(action: ApprovedAction, run: ActionRun) -> str | None:
    """Why `run` may no longer be approved or run, or None: its action was disabled, or changed after the
    run was requested (what a second person approves, and what the engine runs, is the definition the
    requester saw: an edit in between must not swap another command, URL or schema in under it)."""
    if not action.enabled:
        return f"the action {action.slug} is disabled"
    if action.updated_at > run.requested_at:
        return f"the action {action.slug} was changed after this run was requested: ask for a new run"
    return None


def request_run(s: Session, *, incident: Incident, action: str, params: dict[str, Any], actor: Principal,
                now: datetime, dry_run: bool = False) -> uuid.UUID:
    """Ask for a run of the approved action `action` (its slug) for the incident; it runs at once or
    waits for a second person's approval, as the action says. Returns the run's id. NotFound for an
    unknown action, InvalidInput for parameters that do not fit its types."""
    actor.require(OrgRole.responder, "running approved actions")
    found = s.execute(sa.select(ApprovedAction).where(ApprovedAction.slug == action)).scalar_one_or_none()
    if found is None or not found.enabled:
        raise NotFound(f"no enabled approved action {action}", details={"action": action})
    values = typed.validate(found.params_schema, params)
    if found.kind == ActionKind.command.value:
        typed.check_no_options(found.params_schema, values)
    waits = found.requires_approval and not dry_run  # a dry run changes nothing: nobody needs to approve it
    run = ActionRun(action_id=found.id, incident_id=incident.id, params=values, dry_run=dry_run,
                    status=(RunStatus.requested if waits else RunStatus.approved).value,
                    requested_by_id=actor.user_id, requested_by_label=actor.label[:200], requested_at=now, output="")
    s.add(run)
    s.flush()
    tail = "; it waits for a second person's approval" if waits else ""
    log_event(s, incident=incident, action=found, run=run, actor=actor, now=now, event="requested",
         text=f"Approved action requested: {describe(found, run)}{tail}")
    return run.id


def list_runs(s: Session, incident: Incident, *, limit: int = 50) -> list[tuple[ActionRun, ApprovedAction]]:
    """The incident's runs, newest first."""
    rows = s.execute(sa.select(ActionRun, ApprovedAction).join(ApprovedAction, ApprovedAction.id == ActionRun.action_id)
                     .where(ActionRun.incident_id == incident.id)
                     .order_by(ActionRun.requested_at.desc(), ActionRun.id).limit(limit))
    return [(r, a) for r, a in rows]


def require_run(s: Session, incident: Incident, run_id: uuid.UUID, *, for_update: bool = False) -> ActionRun:
    q = sa.select(ActionRun).where(ActionRun.id == run_id, ActionRun.incident_id == incident.id)
    run = s.execute(q.with_for_update() if for_update else q).scalar_one_or_none()
    if run is None:
        raise NotFound(f"no run {run_id} of an approved action on this incident", details={"run": str(run_id)})
    return run


def _decide(s: Session, *, incident: Incident, run_id: uuid.UUID, actor: Principal, now: datetime,
            approve: bool, reason: str) -> ActionRun:
    actor.require(OrgRole.responder, "approving or refusing approved actions")
    if len(reason) > 2000:
        raise InvalidInput("the reason may have at most 2000 characters", details={"field": "reason"})
    run = require_run(s, incident, run_id, for_update=True)
    if run.status != RunStatus.requested.value:
        raise Conflict(f"this run is {run.status}, not waiting for approval", details={"status": run.status})
    if approve and run.requested_by_id is not None and actor.user_id == run.requested_by_id:
        raise Forbidden("a second person approves a run: not the one who asked for it")
    action = s.get(ApprovedAction, run.action_id)
    assert action is not None
    why = stale(action, run) if approve else None
    if why is not None:
        raise Conflict(why, details={"action": action.slug})
    run.status = (RunStatus.approved if approve else RunStatus.refused).value
    run.approved_by_id, run.decided_at = actor.user_id, now
    if not approve:
        run.finished_at = now
    note = f": {reason.strip()}" if reason.strip() else ""
    log_event(s, incident=incident, action=action, run=run, actor=actor, now=now,
         event="approved" if approve else "refused",
         text=f"Approved action {'approved' if approve else 'refused'}: {describe(action, run)}{note}")
    return run


def approve(s: Session, *, incident: Incident, run_id: uuid.UUID, actor: Principal, now: datetime,
            reason: str = "") -> ActionRun:
    """A second responder approves a waiting run (Forbidden for its requester); the engine runs it next."""
    return _decide(s, incident=incident, run_id=run_id, actor=actor, now=now, approve=True, reason=reason)


def refuse(s: Session, *, incident: Incident, run_id: uuid.UUID, actor: Principal, now: datetime,
           reason: str = "") -> ActionRun:
    """Refuse a waiting run (any responder, the requester too: refusing is the safe direction)."""
    return _decide(s, incident=incident, run_id=run_id, actor=actor, now=now, approve=False, reason=reason)
