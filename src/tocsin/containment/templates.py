"""Checklist templates: the shipped default, and admins' create, edit and delete.

A template is a name and a list of steps {"kind", "title", "target"}. The shipped default
(`DEFAULT_STEPS`) is written the first time templates are asked for, as postmortem templates
are, so an admin edits it like any other. Exactly one template is the default, the one a
checklist starts from when none is named; it cannot be deleted (make another the default first).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.containment.models import ChecklistTemplate
from tocsin.containment.types import StepKind
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.ids import parse_uuid
from tocsin.principal import OrgRole, Principal

DEFAULT_NAME = "Default containment"
MAX_STEPS = 100
MAX_TITLE = 300
MAX_TARGET = 200
# Order matters: preservation comes before the steps that change or examine a system.
DEFAULT_STEPS: tuple[dict[str, str | None], ...] = (
    {"kind": "preserve", "title": "Snapshot affected hosts before investigating", "target": None},
    {"kind": "preserve", "title": "Preserve logs (copy off the hosts, note hashes)", "target": None},
    {"kind": "contain", "title": "Revoke exposed credentials and sessions", "target": None},
    {"kind": "contain", "title": "Block attacker addresses", "target": None},
    {"kind": "contain", "title": "Isolate affected hosts from the network", "target": None},
)


def check_step(raw: Any, where: str | None = "steps") -> dict[str, str | None]:
    """One step {"kind", "title", "target"} checked and trimmed; InvalidInput says what is wrong, naming
    the field `where` (a template's "steps"), or the step's own field when `where` is None."""

    def at(name: str) -> dict[str, str]:
        return {"field": where or name}

    if not isinstance(raw, dict):
        raise InvalidInput("each step needs a kind, a title and an optional target", details=at("kind"))
    kind = str(raw.get("kind") or "").strip()
    if kind not in StepKind.__members__:
        raise InvalidInput(f"step kind {kind[:40]!r} is not one of {', '.join(StepKind)}",
                           details=at("kind"))
    title = str(raw.get("title") or "").strip()
    if not title:
        raise InvalidInput("every step needs a title", details=at("title"))
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"a step title may have at most {MAX_TITLE} characters", details=at("title"))
    target = str(raw.get("target") or "").strip() or None
    if target is not None and len(target) > MAX_TARGET:
        raise InvalidInput(f"a step target may have at most {MAX_TARGET} characters", details=at("target"))
    return {"kind": kind, "title": title, "target": target}


def check_steps(steps: list[Any]) -> list[dict[str, str | None]]:
    out = [check_step(s) for s in steps]
    if not out:
        raise InvalidInput("a template needs at least one step", details={"field": "steps"})
    if len(out) > MAX_STEPS:
        raise InvalidInput(f"a template may have at most {MAX_STEPS} steps", details={"field": "steps"})
    return out


def default_template(session: Session, *, now: datetime) -> ChecklistTemplate:
    """Return the default template, writing the shipped one when there is none."""
    found = session.execute(sa.select(ChecklistTemplate).where(ChecklistTemplate.is_default.is_(True))
                            .order_by(ChecklistTemplate.created_at).limit(1)).scalar_one_or_none()
    if found is not None:
        return found
    template = ChecklistTemplate(name=DEFAULT_NAME, steps=[dict(s) for s in DEFAULT_STEPS], is_default=True,
                                 created_at=now, updated_at=now)
    try:
        with session.begin_nested():  # two first requests at once: the loser reads the winner's row
            session.add(template)
    except sa.exc.IntegrityError:
        return session.execute(sa.select(ChecklistTemplate).where(ChecklistTemplate.name == DEFAULT_NAME)
                               ).scalar_one()
    return template


def list_templates(session: Session, *, now: datetime) -> list[ChecklistTemplate]:
    default_template(session, now=now)
    return list(session.execute(sa.select(ChecklistTemplate).order_by(ChecklistTemplate.name)).scalars())


def find_template(session: Session, key: str | uuid.UUID, *, now: datetime) -> ChecklistTemplate:
    """The template with this id or name; NotFound otherwise."""
    default_template(session, now=now)
    template_id = key if isinstance(key, uuid.UUID) else parse_uuid(key)
    found = session.get(ChecklistTemplate, template_id) if template_id is not None else None
    if found is None and isinstance(key, str):
        found = session.execute(sa.select(ChecklistTemplate).where(ChecklistTemplate.name == key.strip())
                                ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no checklist template {str(key)[:120]!r}", details={"template": str(key)[:120]})
    return found


def _name(session: Session, name: str, except_id: uuid.UUID | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", details={"field": "name"})
    if len(name) > 120:
        raise InvalidInput("name may have at most 120 characters", details={"field": "name"})
    stmt = sa.select(ChecklistTemplate.id).where(ChecklistTemplate.name == name)
    if except_id is not None:
        stmt = stmt.where(ChecklistTemplate.id != except_id)
    if session.execute(stmt).first() is not None:
        raise Conflict(f"a checklist template named {name!r} exists", details={"field": "name"})
    return name


def _flush(session: Session, template: ChecklistTemplate) -> None:
    """Write it; a name taken by a concurrent request (the unique constraint) becomes Conflict."""
    try:
        with session.begin_nested():
            session.add(template)
            session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"a checklist template named {template.name!r} exists", details={"field": "name"}) from None


def _make_default(session: Session, template: ChecklistTemplate) -> None:
    session.execute(sa.update(ChecklistTemplate).where(ChecklistTemplate.id != template.id).values(is_default=False))
    template.is_default = True


def create_template(session: Session, *, actor: Principal, now: datetime, name: str, steps: list[Any],
                    is_default: bool = False) -> ChecklistTemplate:
    """Create a template (admins only); `is_default` makes it the one new checklists start from."""
    actor.require(OrgRole.admin, "editing checklist templates")
    default_template(session, now=now)
    template = ChecklistTemplate(name=_name(session, name), steps=check_steps(steps), is_default=False,
                                 created_at=now, updated_at=now)
    _flush(session, template)
    if is_default:
        _make_default(session, template)
    record(session, actor=actor, action="checklist_template.create", target_type="checklist_template",
           target_id=template.id, now=now, details={"name": template.name, "steps": len(template.steps),
                                                     "is_default": is_default})
    session.flush()
    return template


def update_template(session: Session, *, actor: Principal, now: datetime, template: ChecklistTemplate,
                    changes: dict[str, Any]) -> ChecklistTemplate:
    """Change name, steps or is_default (admins only). Checklists made from it keep their steps."""
    actor.require(OrgRole.admin, "editing checklist templates")
    audit: dict[str, Any] = {}
    if changes.get("name") is not None and changes["name"].strip() != template.name:
        template.name = _name(session, changes["name"], template.id)
        _flush(session, template)
        audit["name"] = template.name
    if changes.get("steps") is not None:
        template.steps = check_steps(changes["steps"])
        audit["steps"] = len(template.steps)
    if changes.get("is_default") is not None and changes["is_default"] != template.is_default:
        if not changes["is_default"]:
            raise Conflict("make another template the default instead; there is always one",
                           details={"field": "is_default"})
        _make_default(session, template)
        audit["is_default"] = True
    if audit:
        template.updated_at = now
        record(session, actor=actor, action="checklist_template.update", target_type="checklist_template",
               target_id=template.id, now=now, details=audit)
    session.flush()
    return template


def delete_template(session: Session, *, actor: Principal, now: datetime, template: ChecklistTemplate) -> None:
    """Delete a template (admins only) other than the default; checklists made from it stay."""
    actor.require(OrgRole.admin, "editing checklist templates")
    if template.is_default:
        raise Conflict("the default template cannot be deleted; make another one the default first",
                       details={"template": str(template.id)})
    record(session, actor=actor, action="checklist_template.delete", target_type="checklist_template",
           target_id=template.id, now=now, details={"name": template.name})
    session.delete(template)
    session.flush()
