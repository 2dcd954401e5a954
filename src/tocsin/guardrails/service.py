"""Guardrails: the seed's classic mistakes, caught live (issue 19).

`evaluate` (the engine job `guardrails`, every 30 s) decides each rule (rules.py) for every incident
that is not closed, from facts read by facts.py: a rule that holds and has no uncleared trip trips
(a `guardrail_trips` row and a `guardrail` timeline entry, which the room and chat channels show,
and a nudge to the Incident Commander for SEV1/SEV2: nudges.py); an uncleared trip whose rule no
longer holds (or is turned off, or whose incident closed) clears, with an entry too. `tripped` and
`open_trips` read them for exercise scores and the room, `counts` for reports (drills left out).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.guardrails import nudges
from tocsin.guardrails.facts import gather, thresholds
from tocsin.guardrails.models import GuardrailTrip
from tocsin.guardrails.rules import ABOUT, Rule, decide
from tocsin.guardrails.types import Tripped
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Status, TimelineKind
from tocsin.principal import Principal

ACTOR = Principal.system("guardrails")
BATCH = 500  # incidents per evaluation, the most recently declared first (an old resolved one waits, not a new one)
_OVER = (Status.closed.value, Status.declined.value)


def watched() -> sa.ColumnElement[bool]:
    """The incidents guardrails look at: not closed or declined, or with a trip still to clear."""
    uncleared = sa.select(GuardrailTrip.id).where(GuardrailTrip.incident_id == Incident.id,
                                                  GuardrailTrip.cleared_at.is_(None)).exists()
    return sa.or_(Incident.status.not_in(_OVER), uncleared)


def _entry(s: Session, incident: Incident, trip: GuardrailTrip, now: datetime, event: str) -> None:
    about = ABOUT[Rule(trip.rule)]
    if event == "tripped":
        text = f"Guardrail: {about.label}: {trip.detail}. {about.advice}"
    else:
        text = f"Guardrail cleared: {about.label}."
    timeline.append(s, incident=incident, kind=TimelineKind.guardrail, actor=ACTOR, now=now, text=text,
                    data={"rule": trip.rule, "event": event, "trip": str(trip.id)})


def evaluate(s: Session, now: datetime, settings: Settings) -> int:
    """Trip and clear the guardrails of every watched incident at `now`; return how many trips and clears."""
    incidents = list(s.execute(sa.select(Incident).where(watched())
                               .order_by(Incident.declared_at.desc(), Incident.id.desc()).limit(BATCH)).scalars())
    if not incidents:
        return 0
    ids = [i.id for i in incidents]
    open_trips = {(t.incident_id, t.rule): t for t in s.execute(sa.select(GuardrailTrip).where(
        GuardrailTrip.incident_id.in_(ids), GuardrailTrip.cleared_at.is_(None))).scalars()}
    facts = gather(s, [i for i in incidents if i.status not in _OVER], now, settings)
    limits = thresholds(settings)
    new: list[tuple[GuardrailTrip, Incident]] = []
    changed = 0
    for incident in incidents:
        verdicts = decide(facts[incident.id], limits, now) if incident.id in facts else {}
        for rule, detail in verdicts.items():
            if (incident.id, rule.value) in open_trips:
                continue
            trip = GuardrailTrip(incident_id=incident.id, rule=rule.value, tripped_at=now, detail=detail[:2000])
            s.add(trip)
            s.flush()
            _entry(s, incident, trip, now, "tripped")
            new.append((trip, incident))
            changed += 1
        for (iid, rule_key), trip in open_trips.items():
            if iid == incident.id and rule_key not in verdicts:
                trip.cleared_at = now
                _entry(s, incident, trip, now, "cleared")
                changed += 1
    severities = frozenset(part for part in settings.guardrail_notify_severities.split(",") if part)
    nudges.notify(s, new, now=now, public_url=settings.resolved_public_url(), severities=severities)
    return changed


def has_work(s: Session) -> bool:
    """Is any incident watched (the engine's probe, a read)?"""
    return bool(s.execute(sa.select(sa.select(Incident.id).where(watched()).exists())).scalar())


def _tripped(t: GuardrailTrip) -> Tripped:
    return Tripped(rule=t.rule, tripped_at=t.tripped_at, cleared_at=t.cleared_at, detail=t.detail)


def tripped(s: Session, incident_id: uuid.UUID) -> list[Tripped]:
    """Every guardrail trip of the incident, oldest first (cleared ones too)."""
    return [_tripped(t) for t in s.execute(sa.select(GuardrailTrip).where(GuardrailTrip.incident_id == incident_id)
                                            .order_by(GuardrailTrip.tripped_at, GuardrailTrip.id)).scalars()]


def open_trips(s: Session, incident_id: uuid.UUID) -> list[Tripped]:
    """The incident's trips not cleared yet, oldest first."""
    return [t for t in tripped(s, incident_id) if t.cleared_at is None]


def counts(s: Session, since: datetime, until: datetime, *,
           incidents: sa.Select[Any] | None = None) -> dict[str, int]:
    """Trips per rule with `tripped_at` in [since, until), drill incidents left out; only of the
    incidents whose ids `incidents` selects, when given (a report's visible, filtered incidents)."""
    stmt = (sa.select(GuardrailTrip.rule, sa.func.count()).join(Incident, Incident.id == GuardrailTrip.incident_id)
            .where(GuardrailTrip.tripped_at >= since, GuardrailTrip.tripped_at < until, Incident.drill.is_(False))
            .group_by(GuardrailTrip.rule))
    if incidents is not None:
        stmt = stmt.where(GuardrailTrip.incident_id.in_(incidents))
    return {rule: int(n) for rule, n in s.execute(stmt)}
