"""A workflow's steps: what each kind needs (checked when a workflow is saved, InvalidInput naming the
step's index), and running one step on an incident through the feature that owns it:

- page_team {team, message?}: add responders (escalation/responders through flows), the team's members;
- add_role {role, user | schedule}: a person, or a schedule's on-call now, takes the role (flows); on a
  restricted incident only someone who may already see it (a workflow is never the way in);
- post_template {template}: comms.service.post_template;
- create_chat_channel {}: the incident's chat channel now, whatever its severity (chatops);
- open_checklist {template?}: the containment checklist (security incidents only), the default template
  when none is named;
- run_action {action, params?}: automation.service.request_run (runs at once or waits for approval);
  on a drill incident, a dry run.

Running a step returns the words for the timeline; a TocsinError (or a feature not built yet) is the
step's failure, recorded by the caller."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.automation import service as automation
from tocsin.chatops.clients import enabled as chat_platforms
from tocsin.chatops.follow import request_channel
from tocsin.comms import service as comms
from tocsin.config import Settings
from tocsin.containment import service as containment
from tocsin.containment.templates import find_template
from tocsin.errors import Forbidden, InvalidInput, TocsinError
from tocsin.escalation.responders import Target
from tocsin.flows import incidents as flows
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident
from tocsin.incidents.roles import ROLE_LABELS
from tocsin.incidents.types import Role
from tocsin.oncall.service import on_call, require_schedule
from tocsin.principal import Principal
from tocsin.slugs import check_slug
from tocsin.teams.service import require_team
from tocsin.users.models import User
from tocsin.users.service import require_user

KINDS = ("page_team", "add_role", "post_template", "create_chat_channel", "open_checklist", "run_action")
KIND_LABELS = {"page_team": "Page a team", "add_role": "Add a role", "post_template": "Post a template",
               "create_chat_channel": "Create a chat channel", "open_checklist": "Open a checklist",
               "run_action": "Run an approved action"}
MAX_STEPS = 20
_FIELDS = {"page_team": {"team", "message"}, "add_role": {"role", "user", "schedule"},
           "post_template": {"template"}, "create_chat_channel": set(), "open_checklist": {"template"},
           "run_action": {"action", "params"}}


def _text(raw: dict[str, Any], key: str, where: dict[str, Any], n: int, required: bool = True) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"step {n}: {key} is required", details={**where, "key": key})
        return ""
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput(f"step {n}: {key} is text (at most 2000 characters)", details={**where, "key": key})
    return value.strip()


def check_step(s: Session, raw: Any, index: int, now: datetime) -> dict[str, Any]:
    """One step checked against what exists (the team, role, person, schedule, template); its
    normalised form. InvalidInput's details carry `step` (the 0-based index) and `key`."""
    n = index + 1
    where: dict[str, Any] = {"field": "steps", "step": index}
    if not isinstance(raw, dict):
        raise InvalidInput(f"step {n}: each step is an object with a kind", details=where)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"step {n}: kind {str(kind)[:40]!r} is not one of {', '.join(KINDS)}",
                           details={**where, "key": "kind"})
    extra = set(raw) - _FIELDS[kind] - {"kind"}
    if extra:
        raise InvalidInput(f"step {n}: {kind} takes no {sorted(extra)[0][:40]!r} (it takes "
                           f"{', '.join(sorted(_FIELDS[kind])) or 'nothing'})", details={**where, "key": sorted(extra)[0]})
    out: dict[str, Any] = {"kind": kind}
    try:
        if kind == "page_team":
            out["team"] = require_team(s, _text(raw, "team", where, n)).slug
            message = _text(raw, "message", where, n, required=False)
            if message:
                out["message"] = message
        elif kind == "add_role":
            role = _text(raw, "role", where, n)
            if role not in Role.__members__:
                raise InvalidInput(f"step {n}: role {role[:40]!r} is not one of {', '.join(Role)}",
                                   details={**where, "key": "role"})
            out["role"] = role
            user, schedule = _text(raw, "user", where, n, False), _text(raw, "schedule", where, n, False)
            if bool(user) == bool(schedule):
                raise InvalidInput(f"step {n}: give a person (user: email) or a schedule (schedule: slug)",
                                   details={**where, "key": "user"})
            if user:
                out["user"] = require_user(s, user).email
            else:
                out["schedule"] = require_schedule(s, schedule).slug
        elif kind in ("post_template", "run_action"):
            key = "template" if kind == "post_template" else "action"
            out[key] = check_slug(_text(raw, key, where, n))
            if kind == "run_action":
                params = raw.get("params") or {}
                if not isinstance(params, dict):
                    raise InvalidInput(f"step {n}: params is an object of names and values",
                                       details={**where, "key": "params"})
                out["params"] = params
        elif kind == "open_checklist":
            template = _text(raw, "template", where, n, required=False)
            if template:
                out["template"] = find_template(s, template, now=now).name
    except InvalidInput as e:
        if "step" in e.details:
            raise
        raise InvalidInput(f"step {n}: {e.message}" if not e.message.startswith("step") else e.message,
                           details={**where, **e.details}) from None
    except TocsinError as e:  # NotFound of the team, person, schedule or template: a 4xx naming the step
        raise InvalidInput(f"step {n}: {e.message}", details={**where, **e.details}) from None
    return out


def check_steps(s: Session, raw: Any, now: datetime) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise InvalidInput("steps is a list of steps, each with a kind", details={"field": "steps"})
    if not raw:
        raise InvalidInput("a workflow needs at least one step", details={"field": "steps"})
    if len(raw) > MAX_STEPS:
        raise InvalidInput(f"a workflow may have at most {MAX_STEPS} steps", details={"field": "steps"})
    return [check_step(s, step, i, now) for i, step in enumerate(raw)]


def describe(step: dict[str, Any]) -> str:
    """The step in words, for the console ("page team dba")."""
    kind = step.get("kind")
    if kind == "page_team":
        return f"page team {step.get('team')}"
    if kind == "add_role":
        who = step.get("user") or f"the on-call of {step.get('schedule')}"
        role = Role(step["role"]) if step.get("role") in Role.__members__ else None
        return f"make {who} {ROLE_LABELS[role] if role else step.get('role')}"
    if kind == "post_template":
        return f"post template {step.get('template')}"
    if kind == "create_chat_channel":
        return "create a chat channel"
    if kind == "open_checklist":
        return f"open checklist {step.get('template') or '(default)'}"
    if kind == "run_action":
        return f"run action {step.get('action')}"
    return str(kind)


def run_step(s: Session, *, incident: Incident, step: dict[str, Any], actor: Principal, now: datetime,
             settings: Settings) -> str:
    """Run one step; its outcome in words ("paged team DBA: Alice, Bob"). Raises what the feature
    raises (a TocsinError: its message is the step's recorded reason)."""
    kind = step["kind"]
    if kind == "page_team":
        team = require_team(s, step["team"])
        out = flows.add_responders(s, incident=incident, actor=actor, now=now,
                                   targets=[Target("team", team.slug)], message=step.get("message", ""))
        names = ", ".join(sorted(u.name for r in out.requested if (u := s.get(User, r.user_id)) is not None))
        return f"paged team {team.name}: {names}" + (f" (not paged: {'; '.join(out.skipped)})" if out.skipped else "")
    if kind == "add_role":
        role = Role(step["role"])
        if step.get("user"):
            user = require_user(s, step["user"])
        else:
            schedule = require_schedule(s, step["schedule"])
            shift = on_call(s, schedule=schedule, at=now, now=now)
            found = s.get(User, uuid.UUID(shift.user)) if shift is not None else None
            if found is None:
                raise InvalidInput(f"nobody is on call on {schedule.name} now")
            user = found
        if incident.restricted and user.id not in who_may_see(s, incident, [user.id]):
            # need-to-know: a workflow (like a page) is never the way into a restricted incident
            raise Forbidden(f"{user.name} may not see this restricted incident: not made {ROLE_LABELS[role]}")
        flows.assign_role(s, incident=incident, role=role, user=user, actor=actor, now=now)
        return f"made {user.name} {ROLE_LABELS[role]}"
    if kind == "post_template":
        comms.post_template(s, incident=incident, template=step["template"], actor=actor, now=now)
        return f"posted template {step['template']}"
    if kind == "create_chat_channel":
        if not [p for p in chat_platforms(settings) if p != "teams"]:
            raise InvalidInput("no chat platform (Slack or Mattermost) is configured")
        opened = request_channel(s, settings, incident, now)
        return f"asked for a chat channel on {', '.join(opened)}" if opened else "the chat channel exists already"
    if kind == "open_checklist":
        steps = containment.start_checklist(s, incident=incident, actor=actor, now=now, template=step.get("template"))
        return f"opened checklist {steps[0].template_name if steps else ''} ({len(steps)} steps)"
    if kind == "run_action":
        # On a drill the step runs as a dry run: nobody chose to touch real systems for an exercise.
        drill = bool(incident.drill)
        run_id = automation.request_run(s, incident=incident, action=step["action"], params=step.get("params") or {},
                                        actor=actor, now=now, dry_run=drill)
        return f"requested action {step['action']}{' as a dry run (a drill)' if drill else ''} (run {run_id})"
    raise InvalidInput(f"unknown step kind {kind!r}")
