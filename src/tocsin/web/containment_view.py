"""What the incident room's Containment panel shows (security incidents only): the phase with its
CSF 2.0 functions and the next one, the checklist, and the forensics-first warnings."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.containment import phases, templates
from tocsin.containment import service as containment
from tocsin.containment.types import StepKind
from tocsin.http.present import users_by_id
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind


def _when(at: Any, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def panel(s: Session, incident: Incident, tz: ZoneInfo, now: Any) -> dict[str, Any] | None:
    """The panel's values, or None for an incident that is not a security incident."""
    if incident.kind != Kind.security.value:
        return None
    state = containment.phase_state(s, incident)
    steps = containment.list_steps(s, incident)
    users = users_by_id(s, [x.done_by_id for x in steps] + [by for _p, _at, by in state.history])
    nxt = phases.next_phase(state.current)
    warnings = containment.warnings(s, incident)
    return {
        "phase": state.current.value, "label": phases.LABELS[state.current],
        "csf": [f.capitalize() for f in phases.CSF[state.current].functions],
        "since": _when(state.entered_at, tz),
        "next": nxt.value if nxt else None, "next_label": phases.LABELS[nxt] if nxt else None,
        "history": [{"label": phases.LABELS[p], "when": _when(at, tz),
                     "by": users[by]["name"] if by in users else "tocsin"} for p, at, by in state.history],
        "steps": [{"id": str(x.id), "kind": x.kind, "title": x.title, "target": x.target,
                   "done": x.done_at is not None, "when": _when(x.done_at, tz) if x.done_at else "",
                   "by": users[x.done_by_id]["name"] if x.done_by_id in users else ""} for x in steps],
        "warnings": [{"text": w.text, "target": (w.data or {}).get("target") or "", "when": _when(w.recorded_at, tz)}
                     for w in warnings],
        "templates": [t.name for t in templates.list_templates(s, now=now)] if not steps else [],
        "kinds": [k.value for k in StepKind],
    }
