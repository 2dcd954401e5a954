"""Problem records: create, list, change status and fields, link and unlink incidents.

Problems themselves are visible to every user (responders write them for the whole
organisation); what hangs off them is not: linked incidents and action items are read through
`incidents.access.visible()`, so a restricted incident never shows through a problem. Every
change is audited; linking and unlinking also append a `problem` entry to the incident's timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.counters import next_value
from tocsin.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from tocsin.ids import PROBLEM_PREFIX, make_ref, parse_ref
from tocsin.incidents import timeline
from tocsin.incidents.access import require_incident, visibility_clause
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.incidents.types import TimelineKind
from tocsin.principal import OrgRole, Principal
from tocsin.problems.models import Problem, ProblemIncident
from tocsin.services.service import require_service

COUNTER = "problem"

# The problem lifecycle. A problem becomes a known error once its root cause or workaround is
# written down, and is resolved when the cause is removed. A resolved problem re-opens when it
# recurs (see `link_incident`); a known error may go back to open when the analysis was wrong.
# Entering a status stamps its time; re-opening clears `resolved_at`.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"known_error", "resolved"}),
    "known_error": frozenset({"open", "resolved"}),
    "resolved": frozenset({"open"}),
}
STATUSES = tuple(TRANSITIONS)
_TEXT_FIELDS = ("title", "description", "root_cause", "known_error", "workaround")


def problem_ref(problem: Problem) -> str:
    return make_ref(PROBLEM_PREFIX, problem.number)


def get_problem(session: Session, key: str | uuid.UUID, *, for_update: bool = False) -> Problem | None:
    """Return the problem with this id or ref (PRB-3), or None."""
    stmt = sa.select(Problem)
    if isinstance(key, uuid.UUID):
        stmt = stmt.where(Problem.id == key)
    elif (number := parse_ref(PROBLEM_PREFIX, key)) is not None:
        stmt = stmt.where(Problem.number == number)
    else:
        try:
            stmt = stmt.where(Problem.id == uuid.UUID(key))
        except ValueError:
            return None
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def require_problem(session: Session, key: str | uuid.UUID, *, for_update: bool = False) -> Problem:
    """Return the problem; raise NotFound."""
    problem = get_problem(session, key, for_update=for_update)
    if problem is None:
        raise NotFound(f"no problem {key}", details={"problem": str(key)})
    return problem


@dataclass
class ProblemFilter:
    status: list[str] = field(default_factory=list)
    service: str | None = None
    q: str | None = None


def list_problems(session: Session, *, flt: ProblemFilter, before: uuid.UUID | None = None,
                  limit: int = 50) -> list[Problem]:
    """Problems newest first (ids are time-ordered); `before` is the cursor."""
    stmt = sa.select(Problem).order_by(Problem.id.desc()).limit(limit)
    if flt.status:
        stmt = stmt.where(Problem.status.in_(flt.status))
    if flt.service:
        stmt = stmt.where(Problem.service_id == require_service(session, flt.service).id)
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(*(getattr(Problem, f).ilike(pattern, escape="\\") for f in _TEXT_FIELDS)))
    if before:
        stmt = stmt.where(Problem.id < before)
    return list(session.execute(stmt).scalars())


def _clean_match(match: dict[str, Any] | None) -> tuple[list[str], dict[str, str], list[str]]:
    match = match or {}
    keys = list(dict.fromkeys(k.strip() for k in match.get("dedup_keys", []) if k.strip()))
    labels = {str(k): str(v) for k, v in (match.get("labels") or {}).items()}
    terms = list(dict.fromkeys(" ".join(t.split()) for t in match.get("terms", []) if t.strip()))
    return keys, labels, terms


def _check_match_needs_service(problem: Problem) -> None:
    if problem.service_id is None and (problem.dedup_keys or problem.labels):
        raise InvalidInput("dedup_keys and labels match alerts of one service: give the problem a service",
                           details={"field": "service"})


def _stamp(problem: Problem, status: str, now: datetime) -> None:
    problem.status = status
    if status == "known_error":
        problem.known_error_at = now
    if status == "resolved":
        problem.resolved_at = now
    else:
        problem.resolved_at = None


@dataclass
class NewProblem:
    title: str
    description: str = ""
    root_cause: str = ""
    known_error: str = ""
    workaround: str = ""
    status: str = "open"
    service: str | None = None
    match: dict[str, Any] | None = None
    incidents: list[str] = field(default_factory=list)


def create_problem(session: Session, *, actor: Principal, now: datetime, spec: NewProblem) -> Problem:
    """Record a problem (and link the given incidents). Raises Forbidden, InvalidInput, NotFound."""
    actor.require(OrgRole.responder, "recording problems")
    if not spec.title.strip():
        raise InvalidInput("title must not be empty", details={"field": "title"})
    if spec.status not in TRANSITIONS:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", details={"field": "status"})
    service = require_service(session, spec.service) if spec.service else None
    keys, labels, terms = _clean_match(spec.match)
    incidents = [require_incident(session, actor, key) for key in dict.fromkeys(spec.incidents)]
    problem = Problem(
        number=next_value(session, COUNTER), title=spec.title.strip(), description=spec.description,
        root_cause=spec.root_cause, known_error=spec.known_error, workaround=spec.workaround,
        service_id=service.id if service else None, dedup_keys=keys, labels=labels, terms=terms,
        created_by_id=actor.user_id, created_at=now, updated_at=now,
    )
    _check_match_needs_service(problem)
    _stamp(problem, spec.status, now)
    session.add(problem)
    session.flush()
    record(session, actor=actor, action="problem.create", target_type="problem", target_id=problem.id, now=now,
           details={"ref": problem_ref(problem), "title": problem.title, "status": problem.status,
                    "service": service.slug if service else None})
    for incident in {i.id: i for i in incidents}.values():
        link_incident(session, problem=problem, incident=incident, actor=actor, now=now)
    return problem


def update_problem(session: Session, *, problem: Problem, actor: Principal, now: datetime,
                   changes: dict[str, Any]) -> Problem:
    """Apply a partial update (keys: the text fields, status, service, match). Raises Forbidden,
    InvalidInput, IllegalTransition, NotFound; nothing is written unless every change is valid."""
    actor.require(OrgRole.responder, "changing problems")
    audit: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        if name in changes and changes[name] is not None and changes[name] != getattr(problem, name):
            value = changes[name].strip() if name == "title" else changes[name]
            if name == "title" and not value:
                raise InvalidInput("title must not be empty", details={"field": "title"})
            setattr(problem, name, value)
            audit[name] = value if name == "title" else "changed"
    if "service" in changes:
        service = require_service(session, changes["service"]) if changes["service"] else None
        if (service.id if service else None) != problem.service_id:
            problem.service_id = service.id if service else None
            audit["service"] = service.slug if service else None
    if changes.get("match") is not None:
        keys, labels, terms = _clean_match(changes["match"])
        if (keys, labels, terms) != (problem.dedup_keys, problem.labels, problem.terms):
            problem.dedup_keys, problem.labels, problem.terms = keys, labels, terms
            audit["match"] = {"dedup_keys": keys, "labels": labels, "terms": terms}
    _check_match_needs_service(problem)
    target = changes.get("status")
    if target is not None and target != problem.status:
        allowed = TRANSITIONS.get(problem.status, frozenset())
        if target not in allowed:
            raise IllegalTransition(
                f"cannot move a problem from {problem.status} to {target}; allowed: {', '.join(sorted(allowed))}",
                details={"from": problem.status, "to": target, "allowed": sorted(allowed)})
        audit["status"] = {"from": problem.status, "to": target}
        _stamp(problem, target, now)
    if audit:
        problem.updated_at = now
        session.flush()
        record(session, actor=actor, action="problem.update", target_type="problem", target_id=problem.id,
               now=now, details={"ref": problem_ref(problem), **audit})
    return problem


def _link_text(problem: Problem) -> str:
    if problem.workaround.strip():
        return f"Known problem {problem_ref(problem)}: {problem.title}. Workaround: {problem.workaround.strip()}"
    return f"Linked to problem {problem_ref(problem)}: {problem.title}"


def link_incident(session: Session, *, problem: Problem, incident: Incident, actor: Principal,
                  now: datetime) -> ProblemIncident:
    """Link an incident (which the caller has loaded through need-to-know) to the problem.

    The link is a recurrence when the incident was declared after the problem was recorded; a
    recurrence of a resolved problem after it was resolved re-opens the problem. Raises Forbidden,
    Conflict (already linked)."""
    actor.require(OrgRole.responder, "linking incidents to problems")
    if session.get(ProblemIncident, (problem.id, incident.id)) is not None:
        raise Conflict(f"{incident_ref(incident)} is already linked to {problem_ref(problem)}",
                       details={"incident": incident_ref(incident), "problem": problem_ref(problem)})
    recurrence = incident.declared_at > problem.created_at
    link = ProblemIncident(problem_id=problem.id, incident_id=incident.id, recurrence=recurrence,
                           linked_by_id=actor.user_id, linked_at=now)
    session.add(link)
    reopened = (problem.status == "resolved" and problem.resolved_at is not None
                and incident.declared_at > problem.resolved_at)
    if reopened:
        _stamp(problem, "open", now)
        problem.updated_at = now
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.problem, actor=actor, now=now,
                    text=_link_text(problem),
                    data={"action": "linked", "problem": problem_ref(problem), "problem_id": str(problem.id),
                          "recurrence": recurrence, "workaround": problem.workaround or None})
    record(session, actor=actor, action="problem.link_incident", target_type="problem", target_id=problem.id,
           now=now, details={"ref": problem_ref(problem), "incident": incident_ref(incident),
                             "recurrence": recurrence, "reopened": reopened})
    return link


def unlink_incident(session: Session, *, problem: Problem, incident: Incident, actor: Principal,
                    now: datetime) -> None:
    """Remove the link. Raises Forbidden, NotFound (not linked)."""
    actor.require(OrgRole.responder, "unlinking incidents from problems")
    link = session.get(ProblemIncident, (problem.id, incident.id))
    if link is None:
        raise NotFound(f"{incident_ref(incident)} is not linked to {problem_ref(problem)}",
                       details={"incident": incident_ref(incident), "problem": problem_ref(problem)})
    session.delete(link)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.problem, actor=actor, now=now,
                    text=f"Unlinked from problem {problem_ref(problem)}: {problem.title}",
                    data={"action": "unlinked", "problem": problem_ref(problem), "problem_id": str(problem.id)})
    record(session, actor=actor, action="problem.unlink_incident", target_type="problem", target_id=problem.id,
           now=now, details={"ref": problem_ref(problem), "incident": incident_ref(incident)})


# --- reading what hangs off a problem (need-to-know applies) ------------------------------------

def linked_incidents(session: Session, principal: Principal,
                     problem_id: uuid.UUID) -> list[tuple[ProblemIncident, Incident]]:
    """The links of a problem to incidents the principal may see, oldest incident first."""
    return [(link, inc) for link, inc in session.execute(
        sa.select(ProblemIncident, Incident).join(Incident, Incident.id == ProblemIncident.incident_id)
        .where(ProblemIncident.problem_id == problem_id, visibility_clause(principal))
        .order_by(Incident.declared_at, Incident.id)).all()]


def incident_counts(session: Session, principal: Principal, problem_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many visible incidents each problem has linked."""
    ids = list(problem_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(ProblemIncident.problem_id, sa.func.count()).join(Incident, Incident.id == ProblemIncident.incident_id)
        .where(ProblemIncident.problem_id.in_(ids), visibility_clause(principal))
        .group_by(ProblemIncident.problem_id)).all()
    return {pid: int(n) for pid, n in rows}


def problems_of_incident(session: Session, incident_id: uuid.UUID) -> list[tuple[ProblemIncident, Problem]]:
    """The problems an incident (already checked visible) is linked to, in link order."""
    return [(link, p) for link, p in session.execute(
        sa.select(ProblemIncident, Problem).join(Problem, Problem.id == ProblemIncident.problem_id)
        .where(ProblemIncident.incident_id == incident_id)
        .order_by(ProblemIncident.linked_at, Problem.number)).all()]


@dataclass(frozen=True)
class Recurrence:
    """What the principal may see of a problem's incidents: how many, how many came after the
    problem was known (recurrences), and when the latest was declared."""

    incidents: int
    recurrences: int
    last_declared_at: datetime | None


def recurrence(session: Session, principal: Principal, problem_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recurrence]:
    """Per problem, its visible incidents' count, recurrences and latest declaration (absent: none)."""
    ids = list(problem_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(ProblemIncident.problem_id, sa.func.count(),
                  sa.func.sum(sa.case((ProblemIncident.recurrence.is_(True), 1), else_=0)),
                  sa.func.max(Incident.declared_at))
        .join(Incident, Incident.id == ProblemIncident.incident_id)
        .where(ProblemIncident.problem_id.in_(ids), visibility_clause(principal))
        .group_by(ProblemIncident.problem_id)).all()
    return {pid: Recurrence(int(n), int(rec or 0), last) for pid, n, rec, last in rows}
