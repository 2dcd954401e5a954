"""What the guardrail rules know of each incident, read from the rows in a fixed number of queries
(one per kind of fact, over all the incidents watched), whatever the number of incidents."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions.models import ActionItem
from tocsin.actions.types import ACTIVE as ACTION_ACTIVE
from tocsin.config import Settings
from tocsin.containment import nudge
from tocsin.containment.models import ChecklistStep
from tocsin.containment.types import StepKind
from tocsin.evidence.models import EvidenceItem
from tocsin.guardrails.rules import Facts, Rule, Thresholds
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident, Participant, RoleAssignment, TimelineEntry
from tocsin.incidents.roles import current_assignments
from tocsin.incidents.types import Kind, ParticipantKind, Role, TimelineKind
from tocsin.postmortems import blameless
from tocsin.postmortems.models import Postmortem
from tocsin.postmortems.service import Status as PmStatus
from tocsin.users.models import User

_ACTIVE = frozenset(s.value for s in ACTIVE_STATUSES)


# The settings (TOCSIN_<NAME> in the environment) that tune each rule, for /configure/guardrails and the docs.
SETTINGS: dict[Rule, tuple[str, ...]] = {
    Rule.no_commander: ("guardrail_no_commander_minutes",),
    Rule.no_containment: ("guardrail_containment_minutes", "guardrail_containment_notes"),
    Rule.severity_mismatch: ("guardrail_severity_minutes",),
    Rule.sprawl: ("guardrail_responder_limit",),
    Rule.no_scribe: ("guardrail_scribe_minutes",),
    Rule.quiet_timeline: ("guardrail_quiet_minutes",),
    Rule.blameful_postmortem: (),
    Rule.overdue_actions: (),
    Rule.unpublished_postmortem: ("guardrail_postmortem_days", "postmortem_required_severities"),
    Rule.evidence_unpreserved: (),
}


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        no_commander=timedelta(minutes=settings.guardrail_no_commander_minutes),
        containment=timedelta(minutes=settings.guardrail_containment_minutes),
        containment_notes=settings.guardrail_containment_notes,
        severity_mismatch=timedelta(minutes=settings.guardrail_severity_minutes),
        responder_limit=settings.guardrail_responder_limit,
        scribe=timedelta(minutes=settings.guardrail_scribe_minutes),
        quiet=timedelta(minutes=settings.guardrail_quiet_minutes),
        postmortem=timedelta(days=settings.guardrail_postmortem_days),
        off=frozenset(part for part in settings.guardrail_off.split(",") if part),
    )


def _grouped(s: Session, stmt: sa.Select[uuid.UUID, Any]) -> dict[uuid.UUID, Any]:
    return {row[0]: row[1] for row in s.execute(stmt)}


def _unpreserved(s: Session, incidents: list[Incident]) -> dict[uuid.UUID, tuple[str, ...]]:
    """Per security incident: the targets a forensics-first warning named that are still not preserved
    (no done preserve step for them, no evidence item collected from them: containment/nudge.py)."""
    ids = [i.id for i in incidents if i.kind == Kind.security.value]
    if not ids:
        return {}
    warned: dict[uuid.UUID, list[str]] = defaultdict(list)
    for iid, data in s.execute(sa.select(TimelineEntry.incident_id, TimelineEntry.data).where(
            TimelineEntry.incident_id.in_(ids), TimelineEntry.kind == TimelineKind.forensics.value)
            .order_by(TimelineEntry.recorded_at, TimelineEntry.id)):
        target = str((data or {}).get("target") or "").strip()
        if target and target.casefold() not in {t.casefold() for t in warned[iid]}:
            warned[iid].append(target)
    if not warned:
        return {}
    steps: dict[uuid.UUID, list[nudge.StepState]] = defaultdict(list)
    for step in s.execute(sa.select(ChecklistStep).where(ChecklistStep.incident_id.in_(list(warned)))).scalars():
        steps[step.incident_id].append(nudge.StepState(step.kind, step.target, step.done_at is not None))
    collected: dict[uuid.UUID, list[str]] = defaultdict(list)
    for iid, name, location in s.execute(sa.select(EvidenceItem.incident_id, EvidenceItem.name, EvidenceItem.location)
                                         .where(EvidenceItem.incident_id.in_(list(warned)))):
        collected[iid].append(f"{name}\n{location}")
    out = {}
    for iid, targets in warned.items():
        left = tuple(t for t in targets if nudge.for_step(StepKind.investigate.value, t, steps[iid], collected[iid]))
        if left:
            out[iid] = left
    return out


def _people_on(s: Session, incidents: list[Incident]) -> dict[uuid.UUID, list[str]]:
    """Per incident: the names of everyone who took part (participants, role holders past and present,
    the declarer), sorted, as postmortems/draft.py `people_on` reads them for one incident, in three
    queries for all of them."""
    if not incidents:
        return {}
    ids = [i.id for i in incidents]
    people: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for iid, uid in s.execute(sa.select(Participant.incident_id, Participant.user_id).where(Participant.incident_id.in_(ids))):
        people[iid].add(uid)
    for iid, uid in s.execute(sa.select(RoleAssignment.incident_id, RoleAssignment.user_id)
                              .where(RoleAssignment.incident_id.in_(ids))):
        people[iid].add(uid)
    for i in incidents:
        if i.declared_by_id:
            people[i.id].add(i.declared_by_id)
    everyone = set().union(*people.values()) if people else set()
    names = dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(everyone))).all()) if everyone else {}
    return {i.id: sorted(names[u] for u in people[i.id] if u in names) for i in incidents}


def _overdue_actions(s: Session, ids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    """Open action items past due per incident: the incident's own and its postmortem's."""
    pm_of = dict(s.execute(sa.select(Postmortem.id, Postmortem.incident_id).where(Postmortem.incident_id.in_(ids))).all())
    where = [ActionItem.incident_id.in_(ids)]
    if pm_of:
        where.append(ActionItem.postmortem_id.in_(list(pm_of)))
    items: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    wanted = set(ids)
    for item_id, iid, pm_id in s.execute(sa.select(ActionItem.id, ActionItem.incident_id, ActionItem.postmortem_id)
                                         .where(ActionItem.status.in_(ACTION_ACTIVE), ActionItem.due_at <= now,
                                                sa.or_(*where))):
        owner = iid if iid in wanted else (pm_of.get(pm_id) if pm_id is not None else None)
        if owner is not None:
            items[owner].add(item_id)
    return {iid: len(found) for iid, found in items.items()}


def gather(s: Session, incidents: list[Incident], now: datetime, settings: Settings) -> dict[uuid.UUID, Facts]:
    """The facts of each of `incidents` at `now`."""
    ids = [i.id for i in incidents]
    if not ids:
        return {}
    holders: dict[uuid.UUID, set[str]] = defaultdict(set)
    for a in current_assignments(s, ids):
        holders[a.incident_id].add(a.role)
    ic_left = _grouped(s, sa.select(RoleAssignment.incident_id, sa.func.max(RoleAssignment.ended_at)).where(
        RoleAssignment.incident_id.in_(ids), RoleAssignment.role == Role.incident_commander.value,
        RoleAssignment.ended_at.is_not(None)).group_by(RoleAssignment.incident_id))
    notes = _grouped(s, sa.select(TimelineEntry.incident_id, sa.func.count()).where(
        TimelineEntry.incident_id.in_(ids), TimelineEntry.kind == TimelineKind.note.value)
        .group_by(TimelineEntry.incident_id))
    settled = _grouped(s, sa.select(TimelineEntry.incident_id, sa.func.max(TimelineEntry.recorded_at)).where(
        TimelineEntry.incident_id.in_(ids),
        TimelineEntry.kind.in_([TimelineKind.severity_changed.value, TimelineKind.impact_updated.value]))
        .group_by(TimelineEntry.incident_id))
    activity = _grouped(s, sa.select(TimelineEntry.incident_id, sa.func.max(TimelineEntry.recorded_at)).where(
        TimelineEntry.incident_id.in_(ids), TimelineEntry.actor_id.is_not(None)).group_by(TimelineEntry.incident_id))
    responders = _grouped(s, sa.select(Participant.incident_id, sa.func.count()).where(
        Participant.incident_id.in_(ids), Participant.kind == ParticipantKind.responder.value)
        .group_by(Participant.incident_id))
    contained = set(s.execute(sa.select(ChecklistStep.incident_id).where(
        ChecklistStep.incident_id.in_(ids), ChecklistStep.kind == StepKind.contain.value,
        ChecklistStep.done_at.is_not(None))).scalars())
    postmortems = {pm.incident_id: pm for pm in s.execute(sa.select(Postmortem).where(
        Postmortem.incident_id.in_(ids))).scalars()}
    overdue = _overdue_actions(s, ids, now)
    people = _people_on(s, [i for i in incidents if i.id in postmortems])
    unpreserved = _unpreserved(s, incidents)
    required = settings.postmortem_severities()
    out = {}
    for i in incidents:
        pm = postmortems.get(i.id)
        roles = holders[i.id]
        left = ic_left.get(i.id)
        out[i.id] = Facts(
            severity=i.severity, active=i.status in _ACTIVE, declared_at=i.declared_at,
            commander=Role.incident_commander.value in roles,
            commander_missing_since=max(i.declared_at, left) if left else i.declared_at,
            scribe=Role.scribe.value in roles,
            mitigated=i.mitigated_at is not None or i.id in contained,
            notes=int(notes.get(i.id, 0)),
            suggested_severity=i.suggested_severity,
            severity_settled_at=max(i.declared_at, settled[i.id]) if i.id in settled else i.declared_at,
            responders=int(responders.get(i.id, 0)),
            last_activity_at=activity.get(i.id),
            blameful=len(blameless.check(pm.body, people[i.id])) if pm is not None else 0,
            overdue_actions=overdue.get(i.id, 0),
            resolved_at=i.resolved_at,
            postmortem_required=i.severity in required,
            postmortem_done=bool(i.postmortem_waived_reason) or (pm is not None
                                                                 and pm.status == PmStatus.published.value),
            unpreserved=unpreserved.get(i.id, ()),
        )
    return out
