"""Phases and containment checklists of security incidents, and the forensics-first nudge.

Every change is on the incident timeline and in the audit chain, in the caller's transaction.
Callers find the incident through `incidents.access.require_incident` (need-to-know) first; these
functions then refuse incidents that are not security incidents (Conflict) and people below the
responder role (Forbidden: viewers watch, responders act).

The nudge runs where an investigation is recorded: marking an `investigate` step done
(`mark_done`) and adding a note (`note_added`, called by the API and the console right after
`timeline.add_note`). `nudge=False` (TOCSIN_FORENSICS_NUDGE=off) turns it off.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.containment import nudge, phases
from tocsin.containment.models import ChecklistStep, IncidentPhase
from tocsin.containment.templates import check_step, default_template, find_template
from tocsin.containment.types import Phase
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.types import Kind, TimelineKind
from tocsin.principal import OrgRole, Principal

MAX_STEPS = 200
MAX_REASON = 2000
NUDGE_ACTOR = Principal.system("forensics-first")


def require_security(incident: Incident) -> None:
    if incident.kind != Kind.security.value:
        raise Conflict("phases and containment checklists are for security incidents; this one is "
                       f"{incident.kind}", details={"kind": incident.kind})


# --- phases --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PhaseState:
    current: Phase
    entered_at: datetime
    entered_by_id: uuid.UUID | None
    history: list[tuple[Phase, datetime, uuid.UUID | None]]  # the declaration's detection_analysis first


def phase_state(session: Session, incident: Incident) -> PhaseState:
    """Where the incident is, and every phase it entered (detection and analysis at declaration)."""
    require_security(incident)
    rows = session.execute(sa.select(IncidentPhase).where(IncidentPhase.incident_id == incident.id)
                           .order_by(IncidentPhase.entered_at, IncidentPhase.id)).scalars()
    history = [(phases.FIRST, incident.declared_at, incident.declared_by_id)]
    history += [(Phase(r.phase), r.entered_at, r.entered_by_id) for r in rows]
    current = max(history, key=lambda h: phases.rank(h[0]))
    return PhaseState(current[0], current[1], current[2], history)


def phase_history(session: Session, incident_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[tuple[Phase, datetime]]]:
    """The phases each incident entered after detection and analysis (for reports)."""
    ids = list(incident_ids)
    out: dict[uuid.UUID, list[tuple[Phase, datetime]]] = {}
    for start in range(0, len(ids), 500):
        for iid, phase, at in session.execute(
                sa.select(IncidentPhase.incident_id, IncidentPhase.phase, IncidentPhase.entered_at)
                .where(IncidentPhase.incident_id.in_(ids[start:start + 500]))):
            out.setdefault(iid, []).append((Phase(phase), at))
    return out


def advance(session: Session, *, incident: Incident, actor: Principal, now: datetime, phase: Phase,
            note: str = "") -> PhaseState:
    """Move the incident to a later phase; Conflict for the same or an earlier one (phases.check_move)."""
    actor.require(OrgRole.responder, "changing a security incident's phase")
    if len(note) > MAX_REASON:
        raise InvalidInput(f"the note may have at most {MAX_REASON} characters", details={"field": "note"})
    state = phase_state(session, incident)
    phases.check_move(state.current, phase)
    try:
        with session.begin_nested():
            session.add(IncidentPhase(incident_id=incident.id, phase=phase.value, entered_at=now,
                                      entered_by_id=actor.user_id))
            session.flush()
    except sa.exc.IntegrityError:  # a concurrent request entered it first
        raise Conflict(f"the incident already entered {phases.LABELS[phase].lower()}",
                       details={"phase": phase.value}) from None
    csf = phases.CSF[phase]
    text = f"Phase: {phases.LABELS[state.current]} → {phases.LABELS[phase]} (CSF 2.0: " \
           f"{', '.join(f.capitalize() for f in csf.functions)})" + (f". {note.strip()}" if note.strip() else "")
    timeline.append(session, incident=incident, kind=TimelineKind.phase_changed, actor=actor, now=now, text=text,
                    data={"from": state.current.value, "to": phase.value, "csf": list(csf.functions)},
                    key_event=True)
    record(session, actor=actor, action="incident.phase", target_type="incident", target_id=incident.id, now=now,
           details={"from": state.current.value, "to": phase.value})
    return phase_state(session, incident)


# --- checklist -----------------------------------------------------------------------------------

def list_steps(session: Session, incident: Incident) -> list[ChecklistStep]:
    require_security(incident)
    return list(session.execute(sa.select(ChecklistStep).where(ChecklistStep.incident_id == incident.id)
                                .order_by(ChecklistStep.position, ChecklistStep.id)).scalars())


def require_step(session: Session, incident: Incident, step_id: uuid.UUID) -> ChecklistStep:
    step = session.get(ChecklistStep, step_id)
    if step is None or step.incident_id != incident.id:
        raise NotFound(f"no checklist step {step_id} on this incident", details={"step": str(step_id)})
    return step


def _add(session: Session, incident: Incident, actor: Principal, now: datetime, position: int,
         spec: dict[str, str | None], template: str | None) -> ChecklistStep:
    step = ChecklistStep(incident_id=incident.id, position=position, kind=spec["kind"], title=spec["title"],
                         target=spec["target"], template_name=template, created_at=now, created_by_id=actor.user_id)
    session.add(step)
    return step


def start_checklist(session: Session, *, incident: Incident, actor: Principal, now: datetime,
                    template: str | None = None) -> list[ChecklistStep]:
    """Give the incident its checklist from a template (by id or name; the default when None).
    Conflict when it has one already: add single steps to it instead."""
    actor.require(OrgRole.responder, "starting a containment checklist")
    existing = list_steps(session, incident)
    if existing:
        raise Conflict("this incident has a checklist already; add steps to it instead",
                       details={"steps": len(existing)})
    chosen = find_template(session, template, now=now) if template else default_template(session, now=now)
    steps = [_add(session, incident, actor, now, i, check_step(spec), chosen.name)
             for i, spec in enumerate(chosen.steps)]
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.checklist, actor=actor, now=now,
                    text=f"Containment checklist started from “{chosen.name}” ({len(steps)} steps)",
                    data={"template": chosen.name, "steps": len(steps)})
    record(session, actor=actor, action="incident.checklist_start", target_type="incident", target_id=incident.id,
           now=now, details={"template": chosen.name, "steps": len(steps)})
    return steps


def add_step(session: Session, *, incident: Incident, actor: Principal, now: datetime, kind: str, title: str,
             target: str | None = None) -> ChecklistStep:
    """Add one step at the end of the checklist (starting an empty one)."""
    actor.require(OrgRole.responder, "adding checklist steps")
    spec = check_step({"kind": kind, "title": title, "target": target}, None)
    count = len(list_steps(session, incident))
    if count >= MAX_STEPS:
        raise Conflict(f"a checklist may have at most {MAX_STEPS} steps", details={"steps": count})
    step = _add(session, incident, actor, now, count, spec, None)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.checklist, actor=actor, now=now,
                    text=f"Checklist step added: {_label(step)}",
                    data={"step": str(step.id), "kind": step.kind, "target": step.target, "event": "added"})
    record(session, actor=actor, action="incident.checklist_step", target_type="incident", target_id=incident.id,
           now=now, details={"step": str(step.id), "event": "added", "kind": step.kind})
    return step


def _label(step: ChecklistStep) -> str:
    return f"{step.title} ({step.kind}{' · ' + step.target if step.target else ''})"


def _states(steps: Iterable[ChecklistStep]) -> list[nudge.StepState]:
    return [nudge.StepState(s.kind, s.target, s.done_at is not None) for s in steps]


def _warn(session: Session, incident: Incident, now: datetime, found: nudge.Nudge, cause: dict[str, Any]) -> None:
    timeline.append(session, incident=incident, kind=TimelineKind.forensics, actor=NUDGE_ACTOR, now=now,
                    text=f"Forensics first: {found.message}. Preserve it (snapshot, copy its logs) before "
                         "anyone looks further.",
                    data={"target": found.target, "source": found.source, **cause})


def mark_done(session: Session, *, incident: Incident, step: ChecklistStep, actor: Principal, now: datetime,
              nudge_on: bool = True, collected: Iterable[str] = ()) -> nudge.Nudge | None:
    """Mark a step done; return the forensics-first nudge it raised (also on the timeline), if any.
    `collected`: the names and locations of the incident's evidence items (see nudge.py)."""
    actor.require(OrgRole.responder, "ticking checklist steps")
    require_security(incident)
    if step.done_at is not None:
        raise Conflict("this step is done already", details={"step": str(step.id)})
    found = (nudge.for_step(step.kind, step.target, _states(list_steps(session, incident)), collected)
             if nudge_on else None)
    step.done_at, step.done_by_id = now, actor.user_id
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.checklist, actor=actor, now=now,
                    text=f"Checklist step done: {_label(step)}",
                    data={"step": str(step.id), "kind": step.kind, "target": step.target, "event": "done"})
    record(session, actor=actor, action="incident.checklist_step", target_type="incident", target_id=incident.id,
           now=now, details={"step": str(step.id), "event": "done"})
    if found is not None:
        _warn(session, incident, now, found, {"step": str(step.id)})
    return found


def mark_undone(session: Session, *, incident: Incident, step: ChecklistStep, actor: Principal, now: datetime,
                reason: str) -> ChecklistStep:
    """Un-do a done step; the reason is required and goes on the timeline."""
    actor.require(OrgRole.responder, "un-ticking checklist steps")
    require_security(incident)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the step is not done after all", details={"field": "reason"})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason may have at most {MAX_REASON} characters", details={"field": "reason"})
    if step.done_at is None:
        raise Conflict("this step is not done", details={"step": str(step.id)})
    step.done_at, step.done_by_id = None, None
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.checklist, actor=actor, now=now,
                    text=f"Checklist step un-done: {_label(step)}. Reason: {reason}",
                    data={"step": str(step.id), "kind": step.kind, "target": step.target, "event": "undone",
                          "reason": reason})
    record(session, actor=actor, action="incident.checklist_step", target_type="incident", target_id=incident.id,
           now=now, details={"step": str(step.id), "event": "undone"})
    return step


def note_added(session: Session, *, incident: Incident, entry: TimelineEntry, now: datetime,
               nudge_on: bool = True, known: Iterable[str] = (), collected: Iterable[str] = ()
               ) -> list[nudge.Nudge]:
    """The nudges a new note raises on a security incident (each also on the timeline). `known`:
    the incident's affected hosts; `collected`: its evidence items' names and locations (the edges
    read both: this package does not import indicators or evidence; see nudge.py)."""
    if not nudge_on or incident.kind != Kind.security.value:
        return []
    steps, known = list_steps(session, incident), list(known)
    if not steps and not known:
        return []
    found = nudge.for_note(entry.text, _states(steps), known, collected)
    for item in found:
        _warn(session, incident, now, item, {"entry": str(entry.id)})
    return found


def warnings(session: Session, incident: Incident, limit: int = 50) -> list[TimelineEntry]:
    """The incident's forensics-first warnings, newest first."""
    return list(session.execute(
        sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident.id,
                                       TimelineEntry.kind == TimelineKind.forensics.value)
        .order_by(TimelineEntry.recorded_at.desc(), TimelineEntry.id.desc()).limit(limit)).scalars())
