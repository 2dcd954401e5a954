"""Exercises: start a run of a scenario (a drill service paging its participants, a key for its
alerts, an auto-incident rule so the real pipeline declares the drill incident), fire its injects,
score it from what the responders did, finish it (crediting the participants' bench)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.audit.service import record
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.escalation import service as escalation
from tocsin.exercises.models import Exercise, ExerciseEvent, ExerciseParticipant
from tocsin.exercises.payloads import event_of
from tocsin.exercises.scenario import Inject, Participant, Scenario, parse, participant_roles
from tocsin.exercises.scoring import Facts, Score, score
from tocsin.flows.incidents import declare
from tocsin.guardrails.service import tripped
from tocsin.handbooks.bench import record_exercise
from tocsin.inbound.types import Source
from tocsin.incidents import roles as incident_roles
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, IncidentService, RoleAssignment, TimelineEntry
from tocsin.incidents.service import Declaration
from tocsin.incidents.types import Kind, ParticipantKind, Role, TimelineKind
from tocsin.integrations import service as integrations
from tocsin.integrations.service import IntegrationType
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import make_client
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.principal import OrgRole, Principal
from tocsin.routing import service as routing
from tocsin.routing.models import AutoIncidentRule
from tocsin.services.models import Service
from tocsin.services.service import create_service
from tocsin.severities import Severity
from tocsin.users.models import User
from tocsin.users.service import get_user_by_email

RUNNING, FINISHED = "running", "finished"
DRILL_SEVERITY = Severity.SEV3  # what the drill incident is declared with; the responders set the right one
STEP_KINDS = ("checklist", "runbook")
WEBHOOK_TIMEOUT = 10.0


@dataclass
class Started:
    exercise: Exercise
    key: str | None  # the drill integration's key (live runs), shown once


def scenario_of(run: Exercise) -> Scenario:
    return parse(run.scenario)


def require_exercise(s: Session, exercise_id: uuid.UUID, *, for_update: bool = False) -> Exercise:
    if for_update:
        row = s.execute(sa.select(Exercise).where(Exercise.id == exercise_id).with_for_update()).scalar_one_or_none()
        if row is None:
            raise NotFound("no such exercise", details={"exercise": str(exercise_id)})
        return row
    return require_row(s, Exercise, exercise_id, "exercise")


def list_exercises(s: Session, *, limit: int = 100) -> list[Exercise]:
    return list(s.execute(sa.select(Exercise).order_by(Exercise.started_at.desc(), Exercise.id.desc())
                          .limit(limit)).scalars())


def _people(s: Session, participants: tuple[Participant, ...]) -> list[tuple[User, str]]:
    """The participants' users; raise InvalidInput for an unknown, inactive or guest account (guests are
    never paged, and a drill pages its participants) or a role the schema does not list (the API's and
    console's participants override does not pass the schema)."""
    out = []
    for i, p in enumerate(participants):
        user = get_user_by_email(s, p.email)
        if user is None or not user.is_active or user.org_role == OrgRole.guest.value:
            raise InvalidInput(f"participants[{i}]: no active user {p.email} (guests do not take part in exercises)",
                               details={"field": f"participants[{i}].email"})
        if p.role not in (roles := participant_roles()):
            raise InvalidInput(f"participants[{i}].role must be one of {', '.join(roles)}",
                               details={"field": f"participants[{i}].role"})
        out.append((user, p.role))
    return out


def _check_faults(scenario: Scenario, policy: EgressPolicy | None) -> None:
    """Refuse (InvalidInput) a fault webhook whose URL names a literal address the egress policy refuses,
    as every destination a user chooses is checked when it is saved (names are checked when it fires)."""
    for inject in scenario.injects:
        if inject.type != "fault_webhook":
            continue
        try:
            host = urlsplit(inject.spec["url"]).hostname
        except ValueError:
            host = None
        if not host:
            raise InvalidInput(f"injects[{inject.n}].url must be an http(s) URL", details={"field": "scenario"})
        try:
            (policy or EgressPolicy()).check_host(host)
        except Blocked as exc:
            raise InvalidInput(f"injects[{inject.n}].url is refused by the egress policy: {exc.message} "
                               "(TOCSIN_OUTBOUND_ALLOW opens ranges)", details={"field": "scenario"}) from None


def start(s: Session, *, actor: Principal, now: datetime, text: str, mode: str | None = None,
          participants: list[Participant] | None = None, speed: float = 1.0,
          policy: EgressPolicy | None = None) -> Started:
    """Start a run: validate the scenario, create its drill service, policy, key and auto-incident rule
    (live), or declare its drill incident at once (tabletop); raise InvalidInput, Forbidden."""
    actor.require(OrgRole.admin, "starting exercises")
    scenario = parse(text)
    _check_faults(scenario, policy)
    if mode is not None and mode not in ("live", "tabletop"):
        raise InvalidInput("mode must be live or tabletop", details={"field": "mode"})
    mode = mode or scenario.mode
    if not 1 <= speed <= 3600:
        raise InvalidInput("speed must be between 1 and 3600", details={"field": "speed"})
    people = _people(s, tuple(participants) if participants else scenario.participants)
    run = Exercise(name=scenario.name, scenario=text, mode=mode, speed=speed, status=RUNNING, started_at=now,
                   started_by_id=actor.user_id)
    s.add(run)
    s.flush()
    suffix = run.id.hex[-6:]
    service = create_service(s, actor=actor, now=now, name=f"Drill: {scenario.name} {suffix}",
                             slug=f"{scenario.service[:50]}-{suffix}",
                             description=f"The stand-in service of exercise '{scenario.name}' ({run.id}).")
    service.drill = True
    run.service_id = service.id
    paging = escalation.create_policy(s, actor=actor, now=now, name=f"Drill {scenario.name} {suffix}",
                                      slug=f"drill-{suffix}", levels=[{"delay_minutes": 5, "targets": [
                                          {"type": "user", "id": str(u.id)} for u, _ in people]}])
    escalation.set_service_policy(s, actor=actor, now=now, service=service, policy=str(paging.id))
    run.policy_id = paging.id
    for user, role in people:
        s.add(ExerciseParticipant(exercise_id=run.id, user_id=user.id, role=role))
    key = None
    if mode == "live":
        integration, key = integrations.create_integration(s, actor=actor, now=now, service=service.slug,
                                                           kind=IntegrationType.events_v2, name="exercise")
        run.integration_id, run.key_hint = integration.id, integration.key_hint
        rule = routing.create_auto_rule(s, actor=actor, now=now, name=f"exercise {suffix}",
                                        matchers=[f"service={service.slug}"], incident_severity=DRILL_SEVERITY,
                                        incident_kind=scenario.kind)
        run.auto_rule_id = rule.id
    else:
        # declared by the system: no commander and no acknowledgement until the team gives them
        incident = declare(s, actor=Principal.system(f"tabletop exercise {suffix}"), now=now, spec=Declaration(
            title=f"[tabletop] {scenario.name}", severity=DRILL_SEVERITY, kind=Kind(scenario.kind),
            services=[service.slug], summary=scenario.description, drill=True))
        run.incident_id = incident.id
        s.flush()
        _join(s, run, incident, now)
    _event(s, run, now, "started", None, f"{mode} exercise started with {len(people)} participant(s)")
    s.flush()
    record(s, actor=actor, action="exercise.start", target_type="exercise", target_id=run.id, now=now,
           details={"name": scenario.name, "mode": mode, "service": service.slug,
                    "participants": [u.email for u, _ in people]})
    return Started(run, key)


def _event(s: Session, run: Exercise, at: datetime, kind: str, n: int | None, text: str,
           data: dict[str, Any] | None = None) -> ExerciseEvent:
    row = ExerciseEvent(exercise_id=run.id, at=at, kind=kind, n=n, text=text, data=data or {})
    s.add(row)
    return row


def events(s: Session, run: Exercise) -> list[ExerciseEvent]:
    return list(s.execute(sa.select(ExerciseEvent).where(ExerciseEvent.exercise_id == run.id)
                          .order_by(ExerciseEvent.at, ExerciseEvent.id)).scalars())


def fired(s: Session, run: Exercise) -> dict[int, datetime]:
    rows = s.execute(sa.select(ExerciseEvent.n, ExerciseEvent.at).where(
        ExerciseEvent.exercise_id == run.id, ExerciseEvent.kind == "inject")).all()
    return {n: at for n, at in rows if n is not None}


def incident_of(s: Session, run: Exercise, now: datetime) -> Incident | None:
    """The drill incident: declared at start (tabletop) or by the pipeline on the first alert (live).
    The first time a run sees it, the participants join it as responders (observers if viewers), so a
    restricted drill (security incidents are) is in their circle."""
    if run.incident_id is None and run.service_id is not None:
        found = s.execute(sa.select(Incident).join(IncidentService, IncidentService.incident_id == Incident.id)
                          .where(IncidentService.service_id == run.service_id)
                          .order_by(Incident.declared_at, Incident.id).limit(1)).scalar_one_or_none()
        if found is not None:
            run.incident_id = found.id
            _join(s, run, found, now)
        return found
    return s.get(Incident, run.incident_id) if run.incident_id else None


def _join(s: Session, run: Exercise, incident: Incident, now: datetime) -> None:
    actor = Principal.system(f"exercise {run.id}")
    for p in participants(s, run):
        user = s.get(User, p.user_id)
        if user is None or not user.is_active or user.org_role == OrgRole.guest.value:
            continue
        kind = ParticipantKind.observer if user.org_role == OrgRole.viewer.value else ParticipantKind.responder
        incident_roles.set_participant(s, incident=incident, user=user, kind=kind, actor=actor, now=now)


def fire(s: Session, *, actor: Principal, now: datetime, run: Exercise, n: int, delivered: bool = False,
         status_code: int | None = None, policy: EgressPolicy | None = None) -> ExerciseEvent:
    """Fire inject `n` (each once). `delivered`: the caller already sent its alert through the ingest
    endpoint (the CLI does), so only record it. A fault webhook is POSTed through the egress guard and
    only its status code is kept."""
    _may_drive(actor, run)
    if run.status != RUNNING:
        raise Conflict("the exercise is finished", details={"exercise": str(run.id)})
    scenario = scenario_of(run)
    if not 0 <= n < len(scenario.injects):
        raise NotFound(f"no inject {n} (there are {len(scenario.injects)})", details={"inject": n})
    if n in fired(s, run):
        raise Conflict(f"inject {n} was already fired", details={"inject": n})
    inject = scenario.injects[n]
    data: dict[str, Any] = {"type": inject.type}
    incident = incident_of(s, run, now)
    if run.mode == "tabletop":
        data["tabletop"] = True
    elif inject.type in ("alert", "status_change"):
        if delivered:
            data["delivered"] = "ingest endpoint"
            if status_code is not None:
                data["status_code"] = status_code
        else:
            _send_alert(s, run, inject, now)
            data["delivered"] = "pipeline"
            incident = incident_of(s, run, now)
    elif inject.type == "ic_unavailable" and incident is not None:
        data["vacated"] = incident_roles.unassign_role(s, incident=incident, role=Role.incident_commander,
                                                       actor=actor, now=now)
    elif inject.type == "fault_webhook":
        data["status_code"] = _post_fault(inject, policy)
    text = f"Inject {n + 1}: {inject.describe()}"
    if "status_code" in data and inject.type == "fault_webhook":
        text += f" (answered {data['status_code']})"
    if incident is not None:
        timeline.append(s, incident=incident, kind=TimelineKind.exercise, actor=actor, now=now, text=text,
                        data={"exercise_id": str(run.id), "inject": n, "type": inject.type})
    row = _event(s, run, now, "inject", n, text, data)
    s.flush()
    record(s, actor=actor, action="exercise.inject", target_type="exercise", target_id=run.id, now=now,
           details={"inject": n, "type": inject.type, **({"url": inject.spec["url"], "result": data["status_code"]}
                                                          if inject.type == "fault_webhook" else {})})
    return row


def _may_drive(actor: Principal, run: Exercise) -> None:
    if actor.is_admin or (run.started_by_id is not None and actor.user_id == run.started_by_id):
        return
    actor.require(OrgRole.admin, "running an exercise someone else started")


def _send_alert(s: Session, run: Exercise, inject: Inject, now: datetime) -> None:
    event = event_of(inject)
    if event is None or run.service_id is None:
        return
    ingest(s, [Incoming(event, run.service_id, run.integration_id, Source.events_v2.value)], now=now)


def _post_fault(inject: Inject, policy: EgressPolicy | None) -> int | str:
    """POST the fault body; return the status code, or the kind of failure (never the remote's words)."""
    if policy is None:
        return "not sent: no egress policy"
    try:
        with make_client(policy, timeout=WEBHOOK_TIMEOUT) as client:
            return client.post(inject.spec["url"], json=inject.spec.get("body") or {}).status_code
    except Blocked:
        return "blocked by the egress policy"
    except Exception:  # noqa: BLE001 - any transport failure is recorded as such, never raised into the run
        return "failed to connect"


def advance_tabletop(s: Session, *, actor: Principal, now: datetime, run: Exercise) -> ExerciseEvent:
    """The facilitator moves a tabletop on: fire the next inject not yet fired."""
    if run.mode != "tabletop":
        raise Conflict("only a tabletop exercise is advanced by hand", details={"mode": run.mode})
    done = fired(s, run)
    pending = [i.n for i in scenario_of(run).injects if i.n not in done]
    if not pending:
        raise Conflict("every inject was already fired")
    return fire(s, actor=actor, now=now, run=run, n=pending[0])


def facts(s: Session, run: Exercise, now: datetime) -> Facts:
    """What the responders did during the run, read from the drill service's alerts and incident."""
    incident = incident_of(s, run, now)
    acks = [t for t in s.execute(sa.select(Alert.acknowledged_at).where(
        Alert.service_id == run.service_id, Alert.acknowledged_at.is_not(None))).scalars() if t] if run.service_id else []
    if incident is None:
        return Facts(started_at=run.started_at, fired=fired(s, run), acknowledged_at=min(acks, default=None))
    if incident.acknowledged_at:
        acks.append(incident.acknowledged_at)
    commanders = tuple(s.execute(sa.select(RoleAssignment.assigned_at).where(
        RoleAssignment.incident_id == incident.id, RoleAssignment.role == Role.incident_commander.value)
        .order_by(RoleAssignment.assigned_at)).scalars())
    entries = timeline.all_entries(s, incident=incident)
    updates = [e.recorded_at for e in entries if e.actor_id is not None and (
        e.kind in timeline.UPDATE_KINDS or (e.kind == "note" and e.key_event))]
    severities = [(incident.declared_at, _declared_severity(entries, incident))]
    severities += [(e.recorded_at, str((e.data or {}).get("to"))) for e in entries if e.kind == "severity_changed"]
    steps = tuple((e.recorded_at, _step_text(e)) for e in entries if e.kind in STEP_KINDS and _is_done(e))
    trips = tuple(t.rule for t in tripped(s, incident.id))
    return Facts(started_at=run.started_at, fired=fired(s, run), acknowledged_at=min(acks, default=None),
                 commanders=commanders, first_update_at=min(updates, default=None), mitigated_at=incident.mitigated_at,
                 severities=tuple(severities), steps=steps, guardrails=trips)


def _is_done(entry: TimelineEntry) -> bool:
    """A step marked done (checklist: `data.event == "done"`; runbooks: `data.state == "done"`), not one
    added, skipped or un-done: read from the entry's data, never from its words, which a participant
    writes (a step titled "Step done: ...", a note on a skipped runbook step)."""
    data = entry.data or {}
    return data.get("event") == "done" if entry.kind == "checklist" else data.get("state") == "done"


def _step_text(entry: TimelineEntry) -> str:
    """What a done step's expectation is matched against: the step itself, not a note written with it."""
    if entry.kind == "runbook":
        data = entry.data or {}
        return f"{data.get('runbook') or ''}: {data.get('step_text') or ''}"
    return entry.text


def _declared_severity(entries: list[TimelineEntry], incident: Incident) -> str:
    first_change = next((e for e in entries if e.kind == "severity_changed"), None)
    return str((first_change.data or {}).get("from")) if first_change else incident.severity


def current_score(s: Session, run: Exercise, now: datetime) -> Score:
    scenario = scenario_of(run)
    return score(scenario, facts(s, run, now), now=run.ended_at or now, final=run.status == FINISHED, speed=run.speed)


def finish(s: Session, *, actor: Principal, now: datetime, run: Exercise) -> Score:
    """End the run: score it for good, record each expectation's outcome, stop its key and auto-incident
    rule, and credit the participants (an Incident Commander's pass counts towards the IC bench)."""
    _may_drive(actor, run)
    if run.status != RUNNING:
        raise Conflict("the exercise is already finished", details={"exercise": str(run.id)})
    run.status, run.ended_at = FINISHED, now
    result = current_score(s, run, now)
    run.score = result.as_dict()
    for r in result.results:
        _event(s, run, r.met_at or now, r.status, r.n, f"{r.description}: {r.status}")
    _event(s, run, now, "finished", None, f"scored {result.total}/100 ({'passed' if result.passed else 'failed'})")
    admin = Principal.system(f"exercise {run.id}")
    if run.auto_rule_id and (rule := s.get(AutoIncidentRule, run.auto_rule_id)) is not None:
        routing.delete_auto_rule(s, actor=admin, now=now, rule=rule)
    if run.integration_id:
        integrations.delete_integration(s, actor=admin, now=now, integration_id=run.integration_id)
    incident = incident_of(s, run, now)
    held = set()
    if incident is not None:
        held = set(s.execute(sa.select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident.id,
            RoleAssignment.role == Role.incident_commander.value)).scalars())
    for p in participants(s, run):
        role = Role.incident_commander.value if p.user_id in held else p.role
        record_exercise(s, user_id=p.user_id, exercise_id=run.id, exercise_name=run.name, role=role,
                        passed=result.passed, score=result.total, now=now)
    record(s, actor=actor, action="exercise.finish", target_type="exercise", target_id=run.id, now=now,
           details={"score": result.total, "passed": result.passed})
    s.flush()
    return result


def participants(s: Session, run: Exercise) -> list[ExerciseParticipant]:
    return list(s.execute(sa.select(ExerciseParticipant).where(ExerciseParticipant.exercise_id == run.id)
                          .order_by(ExerciseParticipant.role, ExerciseParticipant.user_id)).scalars())


def service_of(s: Session, run: Exercise) -> Service | None:
    return s.get(Service, run.service_id) if run.service_id else None
