"""Recurrence suggestions: the known problems a given incident or alert looks like, with reasons.

Loads what the pure matcher (`problems.match`) needs in a few queries: the problems that can
match (open and known_error), their services' names, and the titles of their linked incidents
the asking principal may see (so a reason never quotes a restricted incident's title).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.incidents.access import visibility_clause
from tocsin.incidents.models import Incident
from tocsin.principal import Principal
from tocsin.problems.match import (
    MATCHING_STATUSES,
    AlertSignal,
    Candidate,
    ProblemSpec,
    match,
)
from tocsin.problems.models import Problem, ProblemIncident
from tocsin.services.models import Service

# Bounds that keep one request cheap: the most recent problems that can match, the most recent
# alerts of an incident, and the most recent linked-incident titles per problem.
MAX_PROBLEMS = 1000
MAX_INCIDENT_ALERTS = 200
MAX_KNOWN_TITLES = 20


@dataclass(frozen=True)
class Suggestion:
    problem: Problem
    reasons: list[str]


def _specs(session: Session, principal: Principal,
           exclude: set[uuid.UUID]) -> list[tuple[Problem, ProblemSpec]]:
    stmt = sa.select(Problem).where(Problem.status.in_(sorted(MATCHING_STATUSES))) \
        .order_by(Problem.id.desc()).limit(MAX_PROBLEMS)
    problems = [p for p in session.execute(stmt).scalars() if p.id not in exclude]
    if not problems:
        return []
    names = dict(session.execute(sa.select(Service.id, Service.slug).where(
        Service.id.in_({p.service_id for p in problems if p.service_id}))).all())
    titles: dict[uuid.UUID, list[str]] = {}
    untermed = [p.id for p in problems if not p.terms]  # only the title rule reads linked titles
    if untermed:
        rows = session.execute(
            sa.select(ProblemIncident.problem_id, Incident.title)
            .join(Incident, Incident.id == ProblemIncident.incident_id)
            .where(ProblemIncident.problem_id.in_(untermed), visibility_clause(principal))
            .order_by(Incident.declared_at.desc())).all()
        for pid, title in rows:
            bucket = titles.setdefault(pid, [])
            if len(bucket) < MAX_KNOWN_TITLES:
                bucket.append(title)
    return [(p, ProblemSpec(
        title=p.title, status=p.status, service_id=p.service_id,
        service_name=names.get(p.service_id, "") if p.service_id else "",
        dedup_keys=tuple(p.dedup_keys or ()), labels=dict(p.labels or {}), terms=tuple(p.terms or ()),
        known_titles=tuple(titles.get(p.id, ())))) for p in problems]


def _rank(found: list[Suggestion]) -> list[Suggestion]:
    """Most reasons first, then the most recently recorded problem."""
    return sorted(found, key=lambda s: (-len(s.reasons), -s.problem.number))


def suggest(session: Session, principal: Principal, candidate: Candidate,
            exclude: set[uuid.UUID] | None = None) -> list[Suggestion]:
    """The open and known-error problems `candidate` matches, best first."""
    found = []
    for problem, spec in _specs(session, principal, exclude or set()):
        reasons = match(spec, candidate)
        if reasons:
            found.append(Suggestion(problem, reasons))
    return _rank(found)


def _signal(alert: Alert) -> AlertSignal:
    return AlertSignal(service_id=alert.service_id, dedup_key=alert.dedup_key, labels=dict(alert.labels or {}))


def for_incident(session: Session, principal: Principal, incident: Incident) -> list[Suggestion]:
    """Problems the incident (already checked visible) looks like, leaving out those it is linked to.

    Its title is the text; its attached alerts are the signals: a problem on service S with dedup
    key K matches when an alert attached to the incident is on S with key K. The incident's own
    service list adds nothing, since a key or label set only means something on an alert."""
    alerts = session.execute(sa.select(Alert).where(Alert.incident_id == incident.id)
                             .order_by(Alert.id.desc()).limit(MAX_INCIDENT_ALERTS)).scalars().all()
    linked = set(session.execute(sa.select(ProblemIncident.problem_id)
                                 .where(ProblemIncident.incident_id == incident.id)).scalars())
    candidate = Candidate(text=incident.title, alerts=tuple(_signal(a) for a in alerts))
    return suggest(session, principal, candidate, exclude=linked)


def for_alert(session: Session, principal: Principal, alert: Alert) -> list[Suggestion]:
    """Problems the alert looks like (by its service, dedup key, labels and summary)."""
    return suggest(session, principal, Candidate(text=alert.summary, alerts=(_signal(alert),)))

