"""Runbooks: create, edit and delete (admins, or responders of the owning team; audited), which
runbooks apply to an alert or an incident, and marking an incident's steps done or skipped (on the
timeline).

The services never commit; the edges own the unit of work and call `require_incident` first
(need-to-know), so a restricted incident's runbook progress is never shown outside its circle.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.ids import parse_uuid
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, IncidentService
from tocsin.incidents.types import TimelineKind
from tocsin.principal import OrgRole, Principal
from tocsin.routing.matchers import MAX_MATCHERS, Matcher, Op, parse_matcher
from tocsin.runbooks.match import Candidate, applying
from tocsin.runbooks.models import Runbook, RunbookMatcher, RunbookProgress, RunbookService
from tocsin.runbooks.steps import Step, steps
from tocsin.services.models import Service
from tocsin.services.service import require_service
from tocsin.slugs import check_name, check_slug, slugify
from tocsin.teams.models import Team
from tocsin.teams.service import require_team
from tocsin.users.models import User

MAX_BODY = 100_000
MAX_NOTE = 2000
MAX_SERVICES = 100
MAX_STEPS = 500  # each room the runbook applies to shows every step with its forms
STATES = ("done", "skipped", "undone")


@dataclass(frozen=True)
class Links:
    """What a runbook is linked by: its service slugs and its matchers."""

    services: list[Service]
    matchers: tuple[Matcher, ...]


# --- reading ---------------------------------------------------------------------------------------

def get_runbook(s: Session, key: str | uuid.UUID) -> Runbook | None:
    if isinstance(key, uuid.UUID):
        return s.get(Runbook, key)
    as_id = parse_uuid(key)
    if as_id is not None:
        return s.get(Runbook, as_id)
    return s.execute(sa.select(Runbook).where(Runbook.slug == key)).scalar_one_or_none()


def require_runbook(s: Session, key: str | uuid.UUID) -> Runbook:
    found = get_runbook(s, key)
    if found is None:
        raise NotFound(f"runbook {str(key)[:80]!r} not found")
    return found


def any_runbooks(s: Session) -> bool:
    return s.execute(sa.select(Runbook.id).limit(1)).first() is not None


def list_runbooks(s: Session) -> list[Runbook]:
    return list(s.execute(sa.select(Runbook).order_by(Runbook.title, Runbook.slug)).scalars())


def links_of(s: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Links]:
    """Each runbook's services (by slug) and matchers (in order)."""
    ids = list(ids)
    services: dict[uuid.UUID, list[Service]] = defaultdict(list)
    matchers: dict[uuid.UUID, list[Matcher]] = defaultdict(list)
    if ids:
        for rid, svc in s.execute(sa.select(RunbookService.runbook_id, Service)
                                  .join(Service, Service.id == RunbookService.service_id)
                                  .where(RunbookService.runbook_id.in_(ids)).order_by(Service.slug)).all():
            services[rid].append(svc)
        for m in s.execute(sa.select(RunbookMatcher).where(RunbookMatcher.runbook_id.in_(ids))
                           .order_by(RunbookMatcher.position)).scalars():
            matchers[m.runbook_id].append(Matcher(m.label, Op(m.op), m.value))
    return {i: Links(services[i], tuple(matchers[i])) for i in ids}


def teams_of(s: Session, runbooks: Iterable[Runbook]) -> dict[uuid.UUID, Team]:
    ids = {r.team_id for r in runbooks if r.team_id is not None}
    return {t.id: t for t in s.execute(sa.select(Team).where(Team.id.in_(ids))).scalars()} if ids else {}


def _candidates(s: Session) -> list[Candidate]:
    rows = list_runbooks(s)
    links = links_of(s, [r.id for r in rows])
    return [Candidate(r.id, frozenset(x.id for x in links[r.id].services), links[r.id].matchers) for r in rows]


def for_alerts(s: Session, alerts: Iterable[tuple[uuid.UUID, uuid.UUID | None, dict[str, str]]]
               ) -> dict[uuid.UUID, list[Runbook]]:
    """The runbooks that apply to each (alert id, service id, labels), by alert id, by title."""
    alerts = list(alerts)
    if not alerts:
        return {}
    candidates = _candidates(s)
    if not candidates:
        return {a: [] for a, _svc, _labels in alerts}
    by_id = {r.id: r for r in s.execute(sa.select(Runbook).where(
        Runbook.id.in_([c.id for c in candidates]))).scalars()}
    return {a: [by_id[i] for i in applying(candidates, svc, labels or {})] for a, svc, labels in alerts}


def for_alert(s: Session, alert: Alert) -> list[Runbook]:
    """The runbooks for an alert: linked to its service, or whose matchers match its labels."""
    return for_alerts(s, [(alert.id, alert.service_id, alert.labels or {})])[alert.id]


def for_incident(s: Session, incident: Incident) -> list[Runbook]:
    """The runbooks for an incident: its services', its alerts' matches, and any with steps marked in it."""
    ids: set[uuid.UUID] = set(s.execute(
        sa.select(RunbookService.runbook_id).join(IncidentService, IncidentService.service_id == RunbookService.service_id)
        .where(IncidentService.incident_id == incident.id)).scalars())
    alerts = s.execute(sa.select(Alert.id, Alert.service_id, Alert.labels)
                       .where(Alert.incident_id == incident.id).limit(500)).all()
    for found in for_alerts(s, [(a, svc, labels or {}) for a, svc, labels in alerts]).values():
        ids.update(r.id for r in found)
    ids.update(s.execute(sa.select(RunbookProgress.runbook_id).where(
        RunbookProgress.incident_id == incident.id)).scalars())
    if not ids:
        return []
    return list(s.execute(sa.select(Runbook).where(Runbook.id.in_(ids)).order_by(Runbook.title, Runbook.slug))
                .scalars())


def progress(s: Session, incident: Incident) -> dict[tuple[uuid.UUID, int], RunbookProgress]:
    """The incident's marked steps by (runbook id, step number)."""
    return {(p.runbook_id, p.step): p for p in s.execute(sa.select(RunbookProgress).where(
        RunbookProgress.incident_id == incident.id)).scalars()}


# --- writing ---------------------------------------------------------------------------------------

def may_edit(actor: Principal, team_id: uuid.UUID | None) -> bool:
    """Admins edit every runbook; responders those their team owns."""
    return actor.is_admin or (actor.at_least(OrgRole.responder) and team_id is not None
                              and team_id in actor.team_ids)


def _require_edit(actor: Principal, team_id: uuid.UUID | None, what: str) -> None:
    if not may_edit(actor, team_id):
        raise Forbidden(f"{what} needs the admin role or membership of the owning team",
                        details={"required_role": OrgRole.admin.value})


RESERVED = frozenset({"new"})  # /configure/runbooks/new is the form for a new one


def _check_slug(slug: str) -> str:
    if check_slug(slug) in RESERVED:
        raise InvalidInput(f"{slug!r} is reserved: choose another slug", details={"field": "slug"})
    return slug


def _check_title(title: str) -> str:
    try:
        return check_name(title)
    except InvalidInput:
        raise InvalidInput("a runbook needs a title of 1 to 200 characters", details={"field": "title"}) from None


def _check_body(body: str) -> str:
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the runbook's Markdown may have at most {MAX_BODY} characters",
                           details={"field": "body_md"})
    if "\x00" in body:
        raise InvalidInput("the runbook's Markdown must not contain NUL characters", details={"field": "body_md"})
    if len(steps(body)) > MAX_STEPS:
        raise InvalidInput(f"a runbook may have at most {MAX_STEPS} numbered steps", details={"field": "body_md"})
    return body


def check_matchers(specs: Iterable[Any]) -> tuple[Matcher, ...]:
    specs = list(specs)
    if len(specs) > MAX_MATCHERS:
        raise InvalidInput(f"a runbook may have at most {MAX_MATCHERS} matchers", details={"field": "matchers"})
    out = []
    for spec in specs:
        try:
            m = parse_matcher(spec)
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"field": "matchers"}) from None
        if len(m.name) > 128:
            raise InvalidInput("a matcher's label name may have at most 128 characters", details={"field": "matchers"})
        out.append(m)
    return tuple(out)


def _services(s: Session, keys: Iterable[str]) -> list[Service]:
    keys = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
    if len(keys) > MAX_SERVICES:
        raise InvalidInput(f"a runbook may be linked to at most {MAX_SERVICES} services", details={"field": "services"})
    out = []
    for k in keys:
        try:
            out.append(require_service(s, k))
        except NotFound:
            raise InvalidInput(f"no service {k[:64]!r}", details={"field": "services"}) from None
    return out


def _team(s: Session, key: str | None) -> Team | None:
    if not key:
        return None
    try:
        return require_team(s, key)
    except NotFound:
        raise InvalidInput(f"no team {key[:64]!r}", details={"field": "team"}) from None


def _set_links(s: Session, rb: Runbook, services: list[Service] | None, matchers: tuple[Matcher, ...] | None) -> None:
    if services is not None:
        s.execute(sa.delete(RunbookService).where(RunbookService.runbook_id == rb.id))
        s.add_all(RunbookService(runbook_id=rb.id, service_id=x.id) for x in services)
    if matchers is not None:
        s.execute(sa.delete(RunbookMatcher).where(RunbookMatcher.runbook_id == rb.id))
        s.add_all(RunbookMatcher(runbook_id=rb.id, position=n, label=m.name, op=m.op.value, value=m.value)
                  for n, m in enumerate(matchers))
    s.flush()


def create_runbook(s: Session, *, actor: Principal, now: datetime, title: str, team: str | None,
                   body_md: str = "", slug: str | None = None, services: Iterable[str] = (),
                   matchers: Iterable[Any] = ()) -> Runbook:
    title = _check_title(title)
    slug = _check_slug(slug if slug else slugify(title))
    owner = _team(s, team)
    _require_edit(actor, owner.id if owner else None, "creating a runbook")
    linked, checked = _services(s, services), check_matchers(matchers)
    if get_runbook(s, slug) is not None:
        raise Conflict(f"a runbook {slug!r} exists already", details={"field": "slug"})
    rb = Runbook(slug=slug, title=title, team_id=owner.id if owner else None, body_md=_check_body(body_md),
                 created_at=now, updated_at=now)
    s.add(rb)
    s.flush()
    _set_links(s, rb, linked, checked)
    record(s, actor=actor, action="runbook.create", target_type="runbook", target_id=rb.id, now=now,
           details={"slug": slug, "title": title, "team": owner.slug if owner else None,
                    "services": [x.slug for x in linked], "matchers": [str(m) for m in checked]})
    return rb


def update_runbook(s: Session, *, actor: Principal, now: datetime, runbook: Runbook, changes: dict[str, Any]
                   ) -> Runbook:
    """Apply `changes` (title, team, body_md, slug, services, matchers); the actor must may-edit the
    runbook before and after (a responder cannot give a runbook away to a team they are not in)."""
    _require_edit(actor, runbook.team_id, "editing a runbook")
    done: dict[str, Any] = {}
    if "title" in changes:
        runbook.title = done["title"] = _check_title(changes["title"] or "")
    if "slug" in changes and changes["slug"] and changes["slug"] != runbook.slug:
        slug = _check_slug(changes["slug"])
        if get_runbook(s, slug) is not None:
            raise Conflict(f"a runbook {slug!r} exists already", details={"field": "slug"})
        runbook.slug = done["slug"] = slug
    if "team" in changes:
        owner = _team(s, changes["team"])
        _require_edit(actor, owner.id if owner else None, "giving a runbook to a team")
        runbook.team_id = owner.id if owner else None
        done["team"] = owner.slug if owner else None
    if "body_md" in changes:
        runbook.body_md = _check_body(changes["body_md"] or "")
        done["body_md"] = f"{len(runbook.body_md)} characters"
    linked = _services(s, changes["services"] or []) if "services" in changes else None
    checked = check_matchers(changes["matchers"] or []) if "matchers" in changes else None
    _set_links(s, runbook, linked, checked)
    if linked is not None:
        done["services"] = [x.slug for x in linked]
    if checked is not None:
        done["matchers"] = [str(m) for m in checked]
    runbook.updated_at = now
    record(s, actor=actor, action="runbook.update", target_type="runbook", target_id=runbook.id, now=now,
           details={"slug": runbook.slug, **done})
    return runbook


def delete_runbook(s: Session, *, actor: Principal, now: datetime, runbook: Runbook) -> None:
    _require_edit(actor, runbook.team_id, "deleting a runbook")
    record(s, actor=actor, action="runbook.delete", target_type="runbook", target_id=runbook.id, now=now,
           details={"slug": runbook.slug, "title": runbook.title})
    s.delete(runbook)
    s.flush()


# --- steps in an incident --------------------------------------------------------------------------

def attached(s: Session, incident: Incident, key: str) -> Runbook:
    """The runbook `key` if it applies to the incident; NotFound otherwise."""
    rb = require_runbook(s, key)
    if rb.id not in {x.id for x in for_incident(s, incident)}:
        raise NotFound(f"runbook {rb.slug!r} is not attached to this incident")
    return rb


def require_step(rb: Runbook, number: int) -> Step:
    found = steps(rb.body_md)
    if not 1 <= number <= len(found):
        raise NotFound(f"runbook {rb.slug!r} has no step {number} (it has {len(found)})")
    return found[number - 1]


def mark_step(s: Session, *, incident: Incident, runbook: Runbook, number: int, state: str, actor: Principal,
              now: datetime, note: str | None = None) -> RunbookProgress | None:
    """Mark step `number` done or skipped (or `undone`: clear it), on the timeline; return the row
    (None once undone). Responders only; the caller has checked need-to-know (`require_incident`)."""
    actor.require(OrgRole.responder, "marking runbook steps")
    if state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", details={"field": "state"})
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"a note may have at most {MAX_NOTE} characters", details={"field": "note"})
    step = require_step(runbook, number)
    row = s.execute(sa.select(RunbookProgress).where(
        RunbookProgress.incident_id == incident.id, RunbookProgress.runbook_id == runbook.id,
        RunbookProgress.step == number)).scalar_one_or_none()
    if state == "undone":
        if row is None:
            raise Conflict(f"step {number} of {runbook.title} is not marked")
        s.delete(row)
        row = None
    elif row is None:
        row = RunbookProgress(incident_id=incident.id, runbook_id=runbook.id, step=number, state=state,
                              by_id=actor.user_id, at=now, note=note)
        s.add(row)
    else:
        row.state, row.by_id, row.at, row.note = state, actor.user_id, now, note
    user = s.get(User, actor.user_id) if actor.user_id else None
    who = user.name if user is not None else actor.label
    words = {"done": "done", "skipped": "skipped", "undone": "marked not done"}[state]
    text = f"Step {number} of {runbook.title} {words} by {who}" + (f": {note}" if note else "")
    timeline.append(s, incident=incident, kind=TimelineKind.runbook, actor=actor, now=now, text=text,
                    data={"runbook": runbook.slug, "runbook_id": str(runbook.id), "step": number, "state": state,
                          "step_text": step.text[:300], "note": note})
    s.flush()
    return row
