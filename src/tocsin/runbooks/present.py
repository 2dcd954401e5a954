"""Runbooks as output: links (slug, title, console URL), whole runbooks, and an incident's runbooks
with each step's state. Shared by the API, the console and the pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.runbooks import service
from tocsin.runbooks.models import Runbook
from tocsin.runbooks.steps import steps
from tocsin.users.models import User


def path(rb: Runbook) -> str:
    return f"/runbooks/{rb.slug}"


def links(rbs: list[Runbook], public_url: str) -> list[dict[str, str]]:
    return [{"slug": r.slug, "title": r.title, "url": f"{public_url}{path(r)}"} for r in rbs]


def step_dicts(rb: Runbook) -> list[dict[str, Any]]:
    return [{"number": x.number, "text": x.text, "detail": x.detail, "actions": list(x.actions)}
            for x in steps(rb.body_md)]


def runbooks_out(s: Session, rbs: list[Runbook], public_url: str) -> list[dict[str, Any]]:
    linked = service.links_of(s, [r.id for r in rbs])
    teams = service.teams_of(s, rbs)
    return [{"id": r.id, "slug": r.slug, "title": r.title,
             "team": teams[r.team_id].slug if r.team_id in teams else None, "body_md": r.body_md,
             "services": [x.slug for x in linked[r.id].services], "matchers": [m.to_dict() for m in linked[r.id].matchers],
             "steps": step_dicts(r), "url": f"{public_url}{path(r)}", "created_at": r.created_at,
             "updated_at": r.updated_at} for r in rbs]


def incident_runbooks(s: Session, incident: Incident, public_url: str) -> list[dict[str, Any]]:
    """The incident's runbooks, each step with its state, who marked it, when and the note.
    The caller has checked need-to-know."""
    rbs = service.for_incident(s, incident)
    marks = service.progress(s, incident)
    users = {u.id: u for u in s.execute(sa.select(User).where(
        User.id.in_({p.by_id for p in marks.values() if p.by_id}))).scalars()} if marks else {}
    out = []
    for link, rb in zip(links(rbs, public_url), rbs, strict=True):
        items = []
        for st in step_dicts(rb):
            p = marks.get((rb.id, st["number"]))
            by = users.get(p.by_id) if p and p.by_id else None
            items.append({**st, "state": p.state if p else None, "at": p.at if p else None,
                          "note": p.note if p else None,
                          "by": {"id": by.id, "name": by.name, "email": by.email} if by else None})
        out.append({**link, "id": rb.id, "steps": items})
    return out
