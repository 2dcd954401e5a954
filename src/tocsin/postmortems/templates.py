"""Postmortem templates: the default blameless template and the commands that read and edit templates.

A template is an ordered list of sections {key, title, prompt}. Sections whose key is in
`draft.FILLED` are written from the incident record; the others start with their prompt.
The default template is created on first use, so a new installation needs no seeding.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.postmortems.models import PostmortemTemplate
from tocsin.principal import OrgRole, Principal

DEFAULT_NAME = "Blameless (default)"
DEFAULT_SECTIONS: list[dict[str, str]] = [
    {"key": "summary", "title": "Summary",
     "prompt": "What happened, in two or three sentences a newcomer can follow."},
    {"key": "impact", "title": "Impact",
     "prompt": "Who and what was affected, for how long, and how badly."},
    {"key": "timeline", "title": "Timeline",
     "prompt": "Key moments from first impact to resolution, in UTC."},
    {"key": "detection", "title": "Detection and response",
     "prompt": "How we found out, and how long each step of the response took."},
    {"key": "root_causes", "title": "Root causes",
     "prompt": "Which conditions in the system made this possible? Describe mechanisms, not people."},
    {"key": "contributing_factors", "title": "Contributing factors",
     "prompt": "What made the impact larger, the detection later or the recovery slower?"},
    {"key": "went_well", "title": "What went well",
     "prompt": "Which tools, habits and decisions helped?"},
    {"key": "went_poorly", "title": "What went poorly",
     "prompt": "Where did the system, the tooling or the process get in the way?"},
    {"key": "lucky", "title": "Where we got lucky",
     "prompt": "What could have made this much worse, and did not?"},
    {"key": "action_items", "title": "Action items",
     "prompt": "What will we change so that this cannot happen again, or hurts less? One owner and a due date each."},
]
SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def check_sections(sections: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Return the sections normalised to {key, title, prompt}; raise InvalidInput on duplicates or bad keys."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, sec in enumerate(sections):
        key = str(sec.get("key", ""))
        if not SECTION_KEY.match(key):
            raise InvalidInput(f"section {i + 1}: key must be lowercase letters, digits and _ (e.g. root_causes)",
                               details={"field": "sections", "index": i})
        if key in seen:
            raise InvalidInput(f"section key {key!r} appears twice", details={"field": "sections", "key": key})
        seen.add(key)
        title = str(sec.get("title", "")).strip()
        if not title:
            raise InvalidInput(f"section {key!r} needs a title", details={"field": "sections", "key": key})
        out.append({"key": key, "title": title, "prompt": str(sec.get("prompt") or "").strip()})
    if not out:
        raise InvalidInput("a template needs at least one section", details={"field": "sections"})
    return out


def default_template(session: Session, *, now: datetime) -> PostmortemTemplate:
    """Return the default template, creating the shipped blameless one when there is none."""
    found = session.execute(sa.select(PostmortemTemplate).where(PostmortemTemplate.is_default.is_(True))
                            .order_by(PostmortemTemplate.created_at).limit(1)).scalar_one_or_none()
    if found is not None:
        return found
    by_name = session.execute(sa.select(PostmortemTemplate).where(PostmortemTemplate.name == DEFAULT_NAME)
                              ).scalar_one_or_none()
    if by_name is not None:  # someone cleared the default flag; the shipped template is the fallback
        return by_name
    template = PostmortemTemplate(name=DEFAULT_NAME, sections=[dict(s) for s in DEFAULT_SECTIONS], is_default=True,
                                  created_at=now, updated_at=now)
    try:
        with session.begin_nested():  # two first requests at once: the loser reads the winner's row
            session.add(template)
    except sa.exc.IntegrityError:
        return session.execute(sa.select(PostmortemTemplate).where(PostmortemTemplate.name == DEFAULT_NAME)
                               ).scalar_one()
    return template


def list_templates(session: Session, *, now: datetime) -> list[PostmortemTemplate]:
    default_template(session, now=now)
    return list(session.execute(sa.select(PostmortemTemplate).order_by(PostmortemTemplate.name)).scalars())


def require_template(session: Session, template_id: uuid.UUID) -> PostmortemTemplate:
    template = session.get(PostmortemTemplate, template_id)
    if template is None:
        raise NotFound(f"no postmortem template {template_id}", details={"template": str(template_id)})
    return template


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a postmortem template named {name!r} exists", details={"field": "name"})


def _name_free(session: Session, name: str, except_id: uuid.UUID | None = None) -> None:
    """Raise Conflict when another template has this name (the friendly check; the unique
    constraint, see `_flush_name`, is what decides when two requests race)."""
    stmt = sa.select(PostmortemTemplate.id).where(PostmortemTemplate.name == name)
    if except_id is not None:
        stmt = stmt.where(PostmortemTemplate.id != except_id)
    if session.execute(stmt).first() is not None:
        raise _name_taken(name)


def _flush_name(session: Session, template: PostmortemTemplate, name: str) -> None:
    """Write the template with this name, turning a lost race for the name into Conflict.

    Two requests may both pass `_name_free` before either commits; the second one's insert or
    rename then hits uq_postmortem_templates_name. The savepoint keeps the outer transaction usable.
    """
    try:
        with session.begin_nested():
            template.name = name
            session.add(template)
            session.flush()
    except sa.exc.IntegrityError:
        raise _name_taken(name) from None


def _make_default(session: Session, template: PostmortemTemplate) -> None:
    session.execute(sa.update(PostmortemTemplate).where(PostmortemTemplate.id != template.id)
                    .values(is_default=False))
    template.is_default = True


def create_template(session: Session, *, actor: Principal, now: datetime, name: str,
                    sections: list[dict[str, Any]], is_default: bool = False) -> PostmortemTemplate:
    """Create a template (admins only); `is_default` makes it the one new postmortems use."""
    actor.require(OrgRole.admin, "editing postmortem templates")
    default_template(session, now=now)  # so the shipped one exists before a new one may replace it
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", details={"field": "name"})
    _name_free(session, name)
    template = PostmortemTemplate(name=name, sections=check_sections(sections), is_default=False,
                                  created_at=now, updated_at=now)
    _flush_name(session, template, name)
    if is_default:
        _make_default(session, template)
    record(session, actor=actor, action="postmortem_template.update", target_type="postmortem_template",
           target_id=template.id, now=now, details={"created": True, "name": name, "is_default": is_default})
    session.flush()
    return template


def update_template(session: Session, *, actor: Principal, now: datetime, template: PostmortemTemplate,
                    changes: dict[str, Any]) -> PostmortemTemplate:
    """Change name, sections or is_default (admins only). Existing postmortems keep their text."""
    actor.require(OrgRole.admin, "editing postmortem templates")
    audit: dict[str, Any] = {}
    if "name" in changes and changes["name"].strip() != template.name:
        name = changes["name"].strip()
        if not name:
            raise InvalidInput("name must not be empty", details={"field": "name"})
        _name_free(session, name, template.id)
        _flush_name(session, template, name)
        audit["name"] = name
    if "sections" in changes:
        template.sections = check_sections(changes["sections"])
        audit["sections"] = [s["key"] for s in template.sections]
    if "is_default" in changes and changes["is_default"] != template.is_default:
        if not changes["is_default"]:
            raise Conflict("make another template the default instead; there is always one",
                           details={"field": "is_default"})
        _make_default(session, template)
        audit["is_default"] = True
    if audit:
        template.updated_at = now
        record(session, actor=actor, action="postmortem_template.update", target_type="postmortem_template",
               target_id=template.id, now=now, details=audit)
    session.flush()
    return template
