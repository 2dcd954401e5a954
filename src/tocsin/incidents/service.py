"""Incident queries and commands: declare, list, count, change status/severity/fields.

Every query starts from `access.visible()`, so need-to-know holds everywhere. Every
change appends to the timeline and the audit log in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin import live
from tocsin.audit.service import record
from tocsin.db.counters import next_value
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.ids import incident_ref
from tocsin.incidents import timeline
from tocsin.incidents.access import visible
from tocsin.incidents.lifecycle import ACTIVE_STATUSES, initial_stamps, plan_transition
from tocsin.incidents.models import Incident, IncidentService, RoleAssignment
from tocsin.incidents.roles import assign_role, current_assignments
from tocsin.incidents.severity import Impact, suggest_severity
from tocsin.incidents.types import (
    SECURITY_ONLY_ROLES,
    DataSensitivity,
    Kind,
    Role,
    Status,
    TimelineKind,
)
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.services.service import require_service
from tocsin.severities import Severity
from tocsin.users.models import User
from tocsin.users.service import require_user

COUNTER = "incident"
# Severities whose incidents close only with a published postmortem or a waiver reason; the API
# passes the configured set (settings.postmortem_required_severities), this is its default.
DEFAULT_POSTMORTEM_SEVERITIES = frozenset({Severity.SEV1.value, Severity.SEV2.value})
IMPACT_FIELDS = ("customers_affected", "revenue_at_risk_per_hour", "data_sensitivity", "customer_facing")
DECLARABLE = (Status.triage, Status.investigating)


def ref(incident: Incident) -> str:
    return incident_ref(incident.number)


def impact_of(incident: Incident) -> Impact:
    return Impact(
        customers_affected=incident.customers_affected,
        revenue_at_risk_per_hour=incident.revenue_at_risk_per_hour,
        data_sensitivity=DataSensitivity(incident.data_sensitivity) if incident.data_sensitivity else None,
        customer_facing=incident.customer_facing,
    )


def _apply_impact(incident: Incident, impact: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name in IMPACT_FIELDS:
        if name in impact:
            value = impact[name]
            if name == "data_sensitivity" and value is not None:
                value = DataSensitivity(value).value
            if getattr(incident, name) != value:
                setattr(incident, name, value)
                changed[name] = value
    return changed


def _settle_severity(incident: Incident, reason: str | None, severity_or_impact_changed: bool) -> None:
    """Store the suggestion; demand a reason when the chosen severity departs from it."""
    suggestion = suggest_severity(impact_of(incident))
    incident.suggested_severity = suggestion.severity.value if suggestion else None
    if suggestion is None or suggestion.severity.value == incident.severity:
        incident.severity_reason = reason.strip() if reason and reason.strip() else None
        return
    if reason and reason.strip():
        incident.severity_reason = reason.strip()
    elif severity_or_impact_changed:
        raise InvalidInput(
            f"the impact suggests {suggestion.severity.value} ({'; '.join(suggestion.reasons)}) but "
            f"{incident.severity} was chosen: give a severity_reason",
            details={"field": "severity_reason", "suggested_severity": suggestion.severity.value,
                     "suggestion_reasons": list(suggestion.reasons)},
        )


def _resolve_services(session: Session, keys: Iterable[str]) -> list[Service]:
    return list({s.id: s for s in (require_service(session, k) for k in keys)}.values())


def _check_not_future(name: str, value: datetime | None, now: datetime) -> None:
    if value is not None and value > now:
        raise InvalidInput(f"{name} cannot be in the future", details={"field": name})


@dataclass
class Declaration:
    title: str
    severity: Severity
    kind: Kind = Kind.operational
    summary: str = ""
    status: Status = Status.investigating
    services: list[str] = field(default_factory=list)
    impact: dict[str, Any] = field(default_factory=dict)
    severity_reason: str | None = None
    restricted: bool | None = None  # None: security incidents are restricted, others are not
    incident_commander: str | None = None  # user id or email; default: the declarer
    detected_at: datetime | None = None
    impact_started_at: datetime | None = None
    drill: bool = False  # an exercise's incident; also when any of `services` is a drill service
    incident_type: str | None = None  # an incident type's slug (workflows package checks it exists)
    custom_fields: dict[str, Any] | None = None  # the type's custom field values, already checked


def declare(session: Session, *, actor: Principal, now: datetime, spec: Declaration) -> Incident:
    """Create an incident with its number, services, IC, timeline entry and audit record.

    Paging for a missing Incident Commander is not started here: `flows.incidents.declare` does
    both, and the edges call that."""
    actor.require(OrgRole.responder, "declaring incidents")
    if not spec.title.strip():
        raise InvalidInput("title must not be empty", details={"field": "title"})
    if spec.status not in DECLARABLE:
        raise InvalidInput("a new incident starts in triage or investigating", details={"field": "status"})
    _check_not_future("detected_at", spec.detected_at, now)
    _check_not_future("impact_started_at", spec.impact_started_at, now)
    services = _resolve_services(session, spec.services)
    commander = require_user(session, spec.incident_commander) if spec.incident_commander else None
    restricted = spec.kind == Kind.security if spec.restricted is None else spec.restricted

    incident = Incident(
        number=next_value(session, COUNTER), title=spec.title.strip(), summary=spec.summary,
        kind=spec.kind.value, severity=spec.severity.value, status=spec.status.value, restricted=restricted,
        declared_by_id=actor.user_id, impact_started_at=spec.impact_started_at,
        detected_at=spec.detected_at or now, declared_at=now, updated_at=now,
        drill=spec.drill or any(s.drill for s in services), incident_type=spec.incident_type,
        custom_fields=spec.custom_fields,
    )
    for stamp in initial_stamps(spec.status):
        # A person declaring an incident has acknowledged it; a rule declaring one from an alert
        # has not: its acknowledged_at waits for a person (flows.alerts, flows.incidents, or the
        # next status change), so MTTA does not read 0 s for every auto-declared incident.
        if stamp != "acknowledged_at" or actor.user_id is not None:
            setattr(incident, stamp, now)
    _apply_impact(incident, spec.impact)
    _settle_severity(incident, spec.severity_reason, severity_or_impact_changed=True)
    session.add(incident)
    session.flush()
    for s in services:
        session.add(IncidentService(incident_id=incident.id, service_id=s.id))
    timeline.append(session, incident=incident, kind=TimelineKind.declared, actor=actor, now=now, key_event=True,
                    text=f"{actor.label} declared {spec.severity.value} {spec.kind.value} incident: {incident.title}",
                    data={"severity": incident.severity, "status": incident.status, "restricted": restricted,
                          "services": [s.slug for s in services], "drill": incident.drill})
    record(session, actor=actor, action="incident.declare", target_type="incident", target_id=incident.id, now=now,
           details={"ref": ref(incident), "severity": incident.severity, "kind": incident.kind,
                    "restricted": restricted, "drill": incident.drill})
    ic = commander or (session.get(User, actor.user_id) if actor.user_id else None)
    if ic is not None:
        assign_role(session, incident=incident, role=Role.incident_commander, user=ic, actor=actor, now=now)
    return incident


@dataclass
class IncidentFilter:
    status: list[Status] = field(default_factory=list)
    severity: list[Severity] = field(default_factory=list)
    kind: Kind | None = None
    service: str | None = None
    q: str | None = None
    open_only: bool = False
    drill: bool | None = None  # only drills (True), only real incidents (False), or both (None)


def match_clauses(session: Session, *, severity: list[Severity], kind: Kind | None,
                  service: str | None) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for incidents of any of `severity`, of `kind`, on `service` (slug or id;
    NotFound when unknown); an empty or None filter adds nothing. Lists and reports share them."""
    clauses: list[sa.ColumnElement[bool]] = []
    if severity:
        clauses.append(Incident.severity.in_([s.value for s in severity]))
    if kind:
        clauses.append(Incident.kind == kind.value)
    if service:
        svc = require_service(session, service)
        clauses.append(sa.exists().where(IncidentService.incident_id == Incident.id,
                                         IncidentService.service_id == svc.id))
    return clauses


def _filtered(session: Session, principal: Principal, flt: IncidentFilter) -> sa.Select[Incident]:
    stmt = visible(principal)
    if flt.status:
        stmt = stmt.where(Incident.status.in_([s.value for s in flt.status]))
    if flt.open_only:
        stmt = stmt.where(Incident.status.in_([s.value for s in ACTIVE_STATUSES]))
    stmt = stmt.where(*match_clauses(session, severity=flt.severity, kind=flt.kind, service=flt.service))
    if flt.drill is not None:
        stmt = stmt.where(Incident.drill.is_(flt.drill))
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Incident.title.ilike(pattern, escape="\\"), Incident.summary.ilike(pattern, escape="\\")))
    return stmt


def list_incidents(session: Session, *, principal: Principal, flt: IncidentFilter, before: uuid.UUID | None = None,
                   limit: int = 50) -> list[Incident]:
    """Visible incidents, newest first (ids are time-ordered UUIDv7); `before` is the cursor."""
    stmt = _filtered(session, principal, flt).order_by(Incident.id.desc()).limit(limit)
    if before:
        stmt = stmt.where(Incident.id < before)
    return list(session.execute(stmt).scalars())


def count_incidents(session: Session, *, principal: Principal, flt: IncidentFilter) -> dict[str, Any]:
    """Counts of visible incidents: total, by status and by severity."""
    sub = _filtered(session, principal, flt).subquery()
    by_status: dict[str, int] = dict(session.execute(
        sa.select(sub.c.status, sa.func.count()).group_by(sub.c.status)).all())
    by_sev: dict[str, int] = dict(session.execute(
        sa.select(sub.c.severity, sa.func.count()).group_by(sub.c.severity)).all())
    return {"total": sum(by_status.values()), "by_status": by_status, "by_severity": by_sev}


def count_for_service(session: Session, service_id: uuid.UUID) -> int:
    """How many incidents (any status, restricted ones too) name this service: deleting it would erase
    their history, so the catalog refuses while there are any."""
    return int(session.execute(sa.select(sa.func.count()).select_from(IncidentService)
                               .where(IncidentService.service_id == service_id)).scalar_one())


def services_of(session: Session, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Service]]:
    out: dict[uuid.UUID, list[Service]] = {i: [] for i in incident_ids}
    if incident_ids:
        rows = session.execute(
            sa.select(IncidentService.incident_id, Service).join(Service, Service.id == IncidentService.service_id)
            .where(IncidentService.incident_id.in_(incident_ids)).order_by(Service.slug)
        ).all()
        for iid, svc in rows:
            out[iid].append(svc)
    return out


def roles_of(session: Session, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RoleAssignment]]:
    out: dict[uuid.UUID, list[RoleAssignment]] = {i: [] for i in incident_ids}
    for a in current_assignments(session, incident_ids):
        out[a.incident_id].append(a)
    return out


_TEXT_FIELDS = ("title", "summary")
MAX_URL = 2000


def check_conference_url(value: str | None) -> str | None:
    """A conference bridge or chat link: an absolute http(s) URL, or empty (None) to remove it."""
    url = (value or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput("the conference link must be an http:// or https:// address such as "
                           "https://meet.example.com/inc-42", details={"field": "conference_url"})
    if len(url) > MAX_URL:
        raise InvalidInput(f"the conference link may have at most {MAX_URL} characters",
                           details={"field": "conference_url"})
    return url


def _waive_postmortem(session: Session, *, incident: Incident, actor: Principal, now: datetime, reason: str | None,
                      target: str | None) -> bool:
    """Store why the incident may close without a published postmortem, on the timeline and audited."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("postmortem_waived_reason must say why no postmortem is needed",
                           details={"field": "postmortem_waived_reason"})
    settled = (Status.resolved.value, Status.postmortem.value)
    if incident.status not in settled and target not in settled:
        raise Conflict(f"{ref(incident)} is {incident.status}: a postmortem can be waived once the incident is "
                       "resolved", details={"field": "postmortem_waived_reason", "status": incident.status})
    if reason == incident.postmortem_waived_reason:
        return False
    incident.postmortem_waived_reason = reason
    timeline.append(session, incident=incident, kind=TimelineKind.postmortem, actor=actor, now=now, key_event=True,
                    text=f"Postmortem waived: {reason}", data={"waived": True, "reason": reason})
    record(session, actor=actor, action="incident.postmortem_waived", target_type="incident",
           target_id=incident.id, now=now, details={"ref": ref(incident), "reason": reason})
    return True


def _check_close_gate(incident: Incident, required: Collection[str], pm_status: str | None) -> None:
    """Raise Conflict when the incident may not close yet: in `postmortem` it needs its postmortem
    published; in `resolved` with a required severity it needs a published postmortem (not a drill). A stored
    waiver reason opens the gate in both cases. `pm_status` is the postmortem's status (None: none)."""
    if incident.postmortem_waived_reason:
        return
    if pm_status == "published":
        return
    hint = "or give postmortem_waived_reason to close without one"
    if incident.status == Status.postmortem.value:
        raise Conflict(f"{ref(incident)} can close once its postmortem is published (it is {pm_status or 'missing'}): "
                       f"publish it, {hint}",
                       details={"field": "postmortem_waived_reason", "postmortem_status": pm_status})
    if incident.severity in required and not incident.drill:  # a drill's lessons go to its exercise's score
        raise Conflict(f"{incident.severity} incidents close only with a published postmortem: start one "
                       f"(POST /api/v1/incidents/{ref(incident)}/postmortem) and publish it, {hint}",
                       details={"field": "postmortem_waived_reason", "severity": incident.severity,
                                "postmortem_status": pm_status})


def update_incident(session: Session, *, incident: Incident, actor: Principal, now: datetime,
                    changes: dict[str, Any],
                    postmortem_required: Collection[str] = DEFAULT_POSTMORTEM_SEVERITIES,
                    postmortem_status: str | None = None) -> Incident:
    """Apply a partial update. Keys: title, summary, status, severity, severity_reason, kind,
    restricted, impact (partial dict), detected_at, impact_started_at, services (slugs or ids),
    postmortem_waived_reason.

    Closing is gated: see `_check_close_gate`; `postmortem_required` are the severities whose
    resolved incidents need a published postmortem (or a waiver reason) to close, and
    `postmortem_status` is the status of the incident's postmortem (None: it has none; the
    postmortems package builds on this one, so `flows.incidents.update` looks it up).

    Paging is not started or stopped here: `flows.incidents.update` does that after the change.

    Raises IllegalTransition, InvalidInput, Forbidden, Conflict, NotFound. Nothing is
    written unless every change is valid (the edge rolls back on error).
    """
    actor.require(OrgRole.responder, "changing incidents")
    audit: dict[str, Any] = {}

    for name in _TEXT_FIELDS:
        if name in changes and changes[name] != getattr(incident, name):
            value = changes[name]
            if name == "title" and not (value or "").strip():
                raise InvalidInput("title must not be empty", details={"field": "title"})
            old = getattr(incident, name)
            setattr(incident, name, value.strip() if name == "title" else value)
            audit[name] = value
            timeline.append(session, incident=incident, kind=TimelineKind.field_changed, actor=actor, now=now,
                            text=f"{name.capitalize()} changed" + (f" from “{old}” to “{value}”" if name == "title" else ""),
                            data={"field": name, "from": old, "to": value})

    for name in ("detected_at", "impact_started_at"):
        if name in changes and changes[name] != getattr(incident, name):
            if name == "detected_at" and changes[name] is None:
                raise InvalidInput("detected_at cannot be cleared", details={"field": name})
            _check_not_future(name, changes[name], now)
            setattr(incident, name, changes[name])
            audit[name] = changes[name].isoformat() if changes[name] else None
            timeline.append(session, incident=incident, kind=TimelineKind.field_changed, actor=actor, now=now,
                            text=f"{name.replace('_', ' ').capitalize()} set to "
                                 f"{changes[name].isoformat() if changes[name] else 'unknown'}",
                            data={"field": name, "to": audit[name]})

    if "conference_url" in changes and (changes["conference_url"] or None) != incident.conference_url:
        url = check_conference_url(changes["conference_url"])
        incident.conference_url = audit["conference_url"] = url
        timeline.append(session, incident=incident, kind=TimelineKind.field_changed, actor=actor, now=now,
                        text=f"Conference link set to {url}" if url else "Conference link removed",
                        data={"field": "conference_url", "to": url})

    if "kind" in changes and changes["kind"] != incident.kind:
        new_kind = Kind(changes["kind"])
        if new_kind == Kind.operational:
            held = {a.role for a in current_assignments(session, [incident.id])} & {r.value for r in SECURITY_ONLY_ROLES}
            if held:
                raise Conflict("vacate the security-only roles before making this an operational incident",
                               details={"roles": sorted(held)})
        elif "restricted" not in changes:
            changes["restricted"] = True  # becoming a security incident restricts it unless told otherwise
        timeline.append(session, incident=incident, kind=TimelineKind.field_changed, actor=actor, now=now,
                        text=f"Kind changed from {incident.kind} to {new_kind.value}",
                        data={"field": "kind", "from": incident.kind, "to": new_kind.value}, key_event=True)
        incident.kind = audit["kind"] = new_kind.value

    if "restricted" in changes and changes["restricted"] != incident.restricted:
        if not changes["restricted"] and not actor.sees_all_restricted:
            raise Forbidden("only admins and the security team may lift need-to-know restrictions")
        incident.restricted = audit["restricted"] = bool(changes["restricted"])
        timeline.append(session, incident=incident, kind=TimelineKind.visibility_changed, actor=actor, now=now,
                        text="Incident restricted to need-to-know" if incident.restricted
                        else "Need-to-know restriction lifted", data={"restricted": incident.restricted})

    if "services" in changes:
        wanted = _resolve_services(session, changes["services"])
        if not incident.drill and any(s.drill for s in wanted):  # issue 19: an exercise's stand-in stays in drills
            raise Conflict(f"{ref(incident)} is a real incident: a drill service ("
                           f"{', '.join(sorted(s.slug for s in wanted if s.drill))}) joins only drills",
                           details={"field": "services", "drill": True})
        have = {s.id for s in services_of(session, [incident.id])[incident.id]}
        if {s.id for s in wanted} != have:
            session.execute(sa.delete(IncidentService).where(IncidentService.incident_id == incident.id))
            for s in wanted:
                session.add(IncidentService(incident_id=incident.id, service_id=s.id))
            slugs = sorted(s.slug for s in wanted)
            audit["services"] = slugs
            timeline.append(session, incident=incident, kind=TimelineKind.services_changed, actor=actor, now=now,
                            text="Affected services: " + (", ".join(slugs) or "none"), data={"services": slugs})

    severity_or_impact = False
    if "impact" in changes:
        changed = _apply_impact(incident, changes["impact"] or {})
        if changed:
            severity_or_impact = True
            audit["impact"] = changed
            timeline.append(session, incident=incident, kind=TimelineKind.impact_updated, actor=actor, now=now,
                            text="Impact assessment updated: " + ", ".join(f"{k}={v}" for k, v in changed.items()),
                            data=changed)
    if "severity" in changes and changes["severity"] != incident.severity:
        old = incident.severity
        incident.severity = Severity(changes["severity"]).value
        severity_or_impact = True
        audit["severity"] = {"from": old, "to": incident.severity}
        text = f"Severity changed from {old} to {incident.severity}"
        if changes.get("severity_reason"):
            text += f": {changes['severity_reason']}"
        timeline.append(session, incident=incident, kind=TimelineKind.severity_changed, actor=actor, now=now,
                        text=text, data={"from": old, "to": incident.severity}, key_event=True)
    if severity_or_impact or "severity_reason" in changes:
        # A reason explains one departure from one suggestion: when severity or impact
        # changes, the old reason no longer applies unless it is given again.
        reason = changes.get("severity_reason") if severity_or_impact else changes.get("severity_reason",
                                                                                          incident.severity_reason)
        _settle_severity(incident, reason, severity_or_impact)

    if "postmortem_waived_reason" in changes:
        if _waive_postmortem(session, incident=incident, actor=actor, now=now,
                             reason=changes["postmortem_waived_reason"], target=changes.get("status")):
            audit["postmortem_waived"] = True

    if "status" in changes and changes["status"] != incident.status:
        target = Status(changes["status"])
        if target == Status.closed and Status(incident.status) in (Status.resolved, Status.postmortem):
            _check_close_gate(incident, postmortem_required, postmortem_status)
        stamped = {f: getattr(incident, f) is not None for f in
                   ("acknowledged_at", "mitigated_at", "resolved_at", "closed_at")}
        plan = plan_transition(Status(incident.status), target, stamped)
        for name in plan.set_now:
            setattr(incident, name, now)
        for name in plan.clear:
            setattr(incident, name, None)
        incident.status = target.value
        audit["status"] = {"from": plan.from_status.value, "to": target.value}
        verb = "Re-opened" if plan.reopened else "Status changed"
        timeline.append(session, incident=incident, kind=TimelineKind.status_changed, actor=actor, now=now,
                        text=f"{verb}: {plan.from_status.value} → {target.value}",
                        data={"from": plan.from_status.value, "to": target.value, "stamped": list(plan.set_now)},
                        key_event=True)

    if audit:
        incident.updated_at = now
        record(session, actor=actor, action="incident.update", target_type="incident", target_id=incident.id,
               now=now, details={"ref": ref(incident), **audit})
    session.flush()
    # Timeline rows announce themselves (timeline.py); a severity reason alone adds none.
    live.changed(session, f"incident:{incident.id}")
    return incident
