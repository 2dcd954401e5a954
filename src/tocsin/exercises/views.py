"""An exercise as the API and the console show it (need-to-know: the drill incident's reference only
to those who may see it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.exercises import service as svc
from tocsin.exercises.models import Exercise
from tocsin.exercises.scenario import human
from tocsin.incidents.access import get_incident
from tocsin.incidents.service import ref
from tocsin.principal import Principal
from tocsin.users.models import User


def summary(s: Session, me: Principal, run: Exercise, now: datetime) -> dict[str, Any]:
    """The run with its progress: injects fired, expectations met, the score so far."""
    scenario = svc.scenario_of(run)
    done = svc.fired(s, run)
    result = svc.current_score(s, run, now)
    incident = svc.incident_of(s, run, now)
    visible = get_incident(s, me, incident.id) if incident is not None else None
    service = svc.service_of(s, run)
    return {
        "id": run.id, "name": run.name, "mode": run.mode, "speed": run.speed, "status": run.status, "started_at": run.started_at,
        "ended_at": run.ended_at, "kind": scenario.kind, "severity": scenario.severity,
        "description": scenario.description,
        "service": service.slug if service else None, "key_hint": run.key_hint,
        "incident": {"id": visible.id, "ref": ref(visible), "title": visible.title} if visible else None,
        "injects": [{"n": i.n, "at": human(i.at), "at_seconds": i.at.total_seconds(), "type": i.type,
                     "description": i.describe(), "fired_at": done.get(i.n)} for i in scenario.injects],
        "progress": {"injects_fired": len(done), "injects": len(scenario.injects),
                     "met": sum(r.status in ("met", "late") for r in result.results),
                     "expectations": len(result.results)},
        "last_deadline_seconds": scenario.last_deadline.total_seconds(),
        "score": result.as_dict(),
    }


def participants(s: Session, run: Exercise) -> list[dict[str, Any]]:
    rows = svc.participants(s, run)
    users = {u.id: u for u in s.execute(sa.select(User).where(User.id.in_([p.user_id for p in rows]))).scalars()}
    return [{"email": users[p.user_id].email, "name": users[p.user_id].name, "role": p.role}
            for p in rows if p.user_id in users]


def events(s: Session, run: Exercise) -> list[dict[str, Any]]:
    return [{"at": e.at, "kind": e.kind, "n": e.n, "text": e.text, "data": e.data} for e in svc.events(s, run)]


def detail(s: Session, me: Principal, run: Exercise, now: datetime) -> dict[str, Any]:
    return {**summary(s, me, run, now), "participants": participants(s, run), "events": events(s, run)}
