"""The engine job `workflows`: runs incident workflows when incidents are declared or change status,
and opens an incident type's checklist on declaration.

It reads the timeline's new `declared` and `status_changed` entries past its cursor (kept in the
engine's memory; a starting engine looks back LOOKBACK). An entry is read again until it is SETTLE
old (a transaction that took its `now` earlier may commit after a later one), and the cursor moves
only over settled entries. Each step of each matching workflow claims a `workflow_runs` row
(unique per workflow, trigger entry and step) before it runs, so a step runs once per trigger
however many engines read the entry, or how often. A step's failure (the feature refused, or is not
built yet) is recorded with its reason and on the timeline; it never stops the engine or the other
steps. The actor is a system principal named after the workflow."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.containment import service as containment
from tocsin.errors import TocsinError
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.types import Kind, TimelineKind
from tocsin.jobs import JobContext
from tocsin.principal import Principal
from tocsin.workflows.match import Event, matches
from tocsin.workflows.models import IncidentType, IncidentWorkflow, WorkflowRun
from tocsin.workflows.service import filters_of
from tocsin.workflows.steps import KIND_LABELS, run_step

log = logging.getLogger("tocsin.workflows.run")

CURSOR = "workflows.cursor"  # in ec.shared: (recorded_at, id) of the last settled entry seen
LOOKBACK = timedelta(minutes=10)
SETTLE = timedelta(seconds=2)
BATCH = 200
TRIGGER_KINDS = (TimelineKind.declared.value, TimelineKind.status_changed.value)


def actor_for(name: str) -> Principal:
    return Principal.system(f"workflow {name}")


def _cursor(ec: JobContext) -> tuple[datetime, uuid.UUID | None]:
    found = ec.shared.get(CURSOR)
    if isinstance(found, tuple):
        return found
    return ec.now - LOOKBACK, None


def _new(cursor: tuple[datetime, uuid.UUID | None]) -> sa.Select[Any]:
    at, last = cursor
    q = sa.select(TimelineEntry).where(TimelineEntry.kind.in_(TRIGGER_KINDS))
    if last is None:
        return q.where(TimelineEntry.recorded_at >= at)
    return q.where(sa.or_(TimelineEntry.recorded_at > at,
                          sa.and_(TimelineEntry.recorded_at == at, TimelineEntry.id > last)))


def has_work(s: Session, ec: JobContext) -> bool:
    """The probe: a declaration or status change past the cursor."""
    return bool(s.execute(sa.select(_new(_cursor(ec)).exists())).scalar())


@dataclass(frozen=True)
class Plan:
    source: str  # the workflow's id, or "type:<slug>"
    workflow_id: uuid.UUID | None
    name: str  # for the timeline: "Workflow 'SEV1 basics'"
    steps: list[dict[str, Any]]


def _claim(s: Session, run: WorkflowRun) -> bool:
    try:
        with s.begin_nested():  # another engine ran (or is running) this step for this trigger
            s.add(run)
            s.flush()
    except IntegrityError:
        return False
    return True


def _type_checklist(s: Session, *, incident: Incident, itype: IncidentType, actor: Principal, now: datetime) -> str:
    if incident.kind != Kind.security.value:
        raise _Skip(f"checklists open on security incidents only; this one is {incident.kind}")
    checklist = itype.checklist
    if isinstance(checklist, dict):
        steps = containment.start_checklist(s, incident=incident, actor=actor, now=now, template=checklist["template"])
        return f"opened checklist {checklist['template']} ({len(steps)} steps)"
    if containment.list_steps(s, incident):
        raise _Skip("the incident has a checklist already")
    for title in checklist:
        containment.add_step(s, incident=incident, actor=actor, now=now, kind="other", title=title)
    return f"opened its checklist ({len(checklist)} steps)"


class _Skip(Exception):
    """A step that does not apply here (a checklist on an operational incident)."""


def _failure(e: BaseException) -> str:
    if isinstance(e, TocsinError):
        return e.message
    return "an internal error (logged)"


def run_plan(s: Session, *, incident: Incident, plan: Plan, trigger_key: str, now: datetime,
             settings: Settings, itype: IncidentType | None = None) -> int:
    """Run the plan's steps not yet claimed for this trigger; the steps this call ran."""
    actor = actor_for(plan.name)
    ran = 0
    for index, step in enumerate(plan.steps):
        run = WorkflowRun(incident_id=incident.id, workflow_id=plan.workflow_id, source=plan.source,
                          workflow_name=plan.name[:120], trigger_key=trigger_key, step_index=index,
                          step_kind=step["kind"], status="running", detail="", at=now)
        if not _claim(s, run):
            continue
        ran += 1
        try:
            with s.begin_nested():
                if itype is not None:
                    words = _type_checklist(s, incident=incident, itype=itype, actor=actor, now=now)
                elif step["kind"] == "open_checklist" and incident.kind != Kind.security.value:
                    raise _Skip(f"checklists open on security incidents only; this one is {incident.kind}")
                else:
                    words = run_step(s, incident=incident, step=step, actor=actor, now=now, settings=settings)
            run.status, run.detail = "done", words
            text = f"{_who(plan)}: {words}"
        except _Skip as e:
            run.status, run.detail = "skipped", str(e)
            text = f"{_who(plan)}: step {index + 1} ({KIND_LABELS.get(step['kind'], step['kind'])}) skipped: {e}"
        except Exception as e:  # noqa: BLE001 - a step never stops the engine; the reason is recorded
            if not isinstance(e, TocsinError):
                log.exception("workflow %s step %d on incident %s", plan.name, index, incident.id)
            run.status, run.detail = "failed", _failure(e)
            text = (f"{_who(plan)}: step {index + 1} ({KIND_LABELS.get(step['kind'], step['kind'])}) failed: "
                    f"{run.detail}")
        run.detail = run.detail[:2000]
        timeline.append(s, incident=incident, kind=TimelineKind.workflow, actor=actor, now=now, text=text[:4000],
                        data={"workflow": plan.source, "step": index, "kind": step["kind"], "status": run.status,
                              "trigger": trigger_key})
    s.flush()
    return ran


def _who(plan: Plan) -> str:
    return plan.name if plan.source.startswith("type:") else f"Workflow '{plan.name}'"


def handle(s: Session, entry: TimelineEntry, workflows: list[IncidentWorkflow], now: datetime,
           settings: Settings) -> int:
    """Run what one trigger entry starts."""
    incident = s.get(Incident, entry.incident_id)
    if incident is None:
        return 0
    data = entry.data or {}
    event = Event(trigger=entry.kind, kind=incident.kind, severity=str(data.get("severity") or incident.severity),
                  incident_type=incident.incident_type,
                  to_status=str(data.get("to")) if entry.kind == TimelineKind.status_changed.value else None)
    key = str(entry.id)
    ran = 0
    if entry.kind == TimelineKind.declared.value and incident.incident_type:
        itype = s.execute(sa.select(IncidentType).where(IncidentType.slug == incident.incident_type)
                          ).scalar_one_or_none()
        if itype is not None and itype.checklist:
            plan = Plan(f"type:{itype.slug}", None, f"Incident type '{itype.name}'", [{"kind": "open_checklist"}])
            ran += run_plan(s, incident=incident, plan=plan, trigger_key=key, now=now, settings=settings, itype=itype)
    for w in workflows:
        if matches(filters_of(w), event):
            ran += run_plan(s, incident=incident, plan=Plan(str(w.id), w.id, w.name, list(w.steps)), trigger_key=key,
                            now=now, settings=settings)
    return ran


def workflows(ec: JobContext) -> int:
    """The engine job: run the workflows that new declarations and status changes start."""
    cursor = _cursor(ec)
    settled = cursor
    ran = 0
    with ec.db.unit_of_work() as s:
        entries = list(s.execute(_new(cursor).order_by(TimelineEntry.recorded_at, TimelineEntry.id)
                                 .limit(BATCH)).scalars())
        found = list(s.execute(sa.select(IncidentWorkflow).where(IncidentWorkflow.enabled.is_(True))
                               .order_by(IncidentWorkflow.name)).scalars())
        for entry in entries:
            ran += handle(s, entry, found, ec.now, ec.settings)
            if entry.recorded_at <= ec.now - SETTLE:  # sorted: the settled ones come first
                settled = (entry.recorded_at, entry.id)
    if len(entries) == BATCH:  # a long backlog: on from the last entry read (its steps are claimed)
        settled = (entries[-1].recorded_at, entries[-1].id)
    ec.shared[CURSOR] = settled
    return ran
