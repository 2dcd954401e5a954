"""Alert queries and commands: list, get with history, acknowledge, resolve, attach to an incident."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import (
    Alert,
    AlertDecision,
    AlertEvent,
    AlertGroup,
    PageRequest,
)
from tocsin.audit.service import record
from tocsin.db.base import table_of
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, IllegalTransition, InvalidInput
from tocsin.ids import new_id
from tocsin.incidents import timeline
from tocsin.incidents.access import get_incident, require_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.incidents.types import TimelineKind
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.services.service import require_service

STATUSES = ("triggered", "acknowledged", "resolved")
OPEN_STATUSES = ("triggered", "acknowledged")
CREATED = "created"  # the one decision row a new alert gets, with its creation steps in `data`
A = table_of(Alert)
G = table_of(AlertGroup)
P = table_of(PageRequest)
_Select = TypeVar("_Select", bound=sa.Select[Any])


@dataclass
class AlertFilter:
    status: list[str] | None = None
    service: str | None = None
    group_id: uuid.UUID | None = None
    incident_id: uuid.UUID | None = None
    labels: dict[str, str] | None = None


def _filtered(session: Session, stmt: _Select, flt: AlertFilter) -> _Select:
    """`stmt` narrowed to the alerts `flt` selects."""
    if flt.status:
        bad = set(flt.status) - set(STATUSES)
        if bad:
            raise InvalidInput(f"unknown status {sorted(bad)[0]!r}: use triggered, acknowledged or resolved",
                               details={"field": "status"})
        stmt = stmt.where(Alert.status.in_(flt.status))
    if flt.service:
        stmt = stmt.where(Alert.service_id == require_service(session, flt.service).id)
    if flt.group_id:
        stmt = stmt.where(Alert.group_id == flt.group_id)
    if flt.incident_id:
        stmt = stmt.where(Alert.incident_id == flt.incident_id)
    for name, value in (flt.labels or {}).items():
        stmt = stmt.where(_label_is(session, name, value))
    return stmt


def list_alerts(session: Session, *, flt: AlertFilter, before: uuid.UUID | None = None, limit: int = 50) -> list[Alert]:
    """Newest first (UUIDv7 ids are time-ordered)."""
    stmt = _filtered(session, sa.select(Alert).order_by(Alert.id.desc()).limit(limit), flt)
    if before:
        stmt = stmt.where(Alert.id < before)
    return list(session.execute(stmt).scalars())


def count_alerts(session: Session, *, flt: AlertFilter) -> int:
    """How many alerts `flt` selects (the same filter as `list_alerts`)."""
    return session.execute(_filtered(session, sa.select(sa.func.count()).select_from(Alert), flt)).scalar_one()


def _label_is(session: Session, name: str, value: str) -> sa.ColumnElement[bool]:
    """True where the alert's label `name` equals `value`, for any label name.

    On SQLite a JSON path (`$."name"`) cannot say every name: a quote or backslash breaks it,
    and non-ASCII names are stored \\u-escaped, which a path never matches. `json_each`
    compares decoded keys. PostgreSQL's `->>` takes the name as a plain parameter.
    """
    if session.get_bind().dialect.name == "sqlite":
        each = sa.func.json_each(Alert.labels).table_valued("key", "value")
        return sa.select(1).select_from(each).where(each.c.key == name, each.c.value == value).exists()
    # JSON columns index to an untyped element; the comparison is a boolean SQL expression
    same: sa.ColumnElement[bool] = Alert.labels[name].as_string() == value
    return same


def require_alert(session: Session, alert_id: uuid.UUID) -> Alert:
    return require_row(session, Alert, alert_id, "alert")


@dataclass(frozen=True)
class Decision:
    at: datetime
    kind: str
    reason: str
    data: dict[str, Any]


def expand_decisions(rows: Sequence[AlertDecision]) -> list[Decision]:
    """The decisions in order; a `created` row holds the steps taken when the alert was created
    (routed, grouped, held back or paged, ...), listed here one by one."""
    out: list[Decision] = []
    for d in rows:
        steps = (d.data or {}).get("steps") if d.kind == CREATED else None
        if steps is None:
            out.append(Decision(d.at, d.kind, d.reason, d.data or {}))
        else:
            out.extend(Decision(d.at, st["kind"], st["reason"], st.get("data") or {}) for st in steps)
    return out


def history(session: Session, alert: Alert, *, occurrences: int = 100) -> dict[str, Any]:
    decisions = expand_decisions(session.execute(sa.select(AlertDecision).where(AlertDecision.alert_id == alert.id)
                                 .order_by(AlertDecision.at, AlertDecision.id)).scalars().all())
    events = session.execute(sa.select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                             .order_by(AlertEvent.received_at.desc(), AlertEvent.id.desc()).limit(occurrences)
                             ).scalars().all()
    group = session.get(AlertGroup, alert.group_id) if alert.group_id else None
    return {"decisions": decisions, "occurrences": events, "group": group}


def _decide(session: Session, alert: Alert, kind: str, reason: str, now: datetime, **data: Any) -> None:
    session.add(AlertDecision(id=new_id(), alert_id=alert.id, at=now, kind=kind, reason=reason, data=data))


def acknowledge(session: Session, *, alert: Alert, actor: Principal, now: datetime) -> Alert:
    """Acknowledge a triggered alert and cancel its page requests not yet taken. Its escalation is
    stopped by `flows.alerts.acknowledge`, which the edges call."""
    actor.require(OrgRole.responder, "acknowledging alerts")
    if alert.status != "triggered":
        raise IllegalTransition(f"the alert is {alert.status}; only a triggered alert can be acknowledged",
                                details={"status": alert.status})
    alert.status, alert.acknowledged_at = "acknowledged", now
    _decide(session, alert, "acknowledged", f"acknowledged by {actor.label}", now)
    session.flush()
    cancel_pages(session, {alert.id})
    record(session, actor=actor, action="alert.acknowledge", target_type="alert", target_id=alert.id, now=now)
    return alert


def resolve(session: Session, *, alert: Alert, actor: Principal, now: datetime) -> Alert:
    """Resolve an alert, cancel its page requests and close its group if it was the last open one.
    Its escalation is stopped by `flows.alerts.resolve`, which the edges call."""
    actor.require(OrgRole.responder, "resolving alerts")
    if alert.status == "resolved":
        raise IllegalTransition("the alert is already resolved", details={"status": alert.status})
    alert.status, alert.resolved_at, alert.suppressed_by, alert.held_until = "resolved", now, None, None
    alert.inhibited_by = None
    _decide(session, alert, "resolved", f"resolved by {actor.label}", now)
    session.flush()
    cancel_pages(session, {alert.id})
    end_inhibitions(session, {alert.id}, now)
    if alert.group_id:
        close_finished_groups(session, {alert.group_id}, now)
    record(session, actor=actor, action="alert.resolve", target_type="alert", target_id=alert.id, now=now)
    return alert


def require_group(session: Session, group_id: uuid.UUID) -> AlertGroup:
    return require_row(session, AlertGroup, group_id, "alert group")


CHUNK = 500  # ids per IN list: a storm's group can hold thousands of alerts


def _group_alerts(session: Session, group: AlertGroup, statuses: Sequence[str]) -> list[Alert]:
    """The group's alerts in these statuses, locked in id order (the order the paging step locks)."""
    return list(session.execute(sa.select(Alert).where(Alert.group_id == group.id, Alert.status.in_(statuses))
                                .order_by(Alert.id).with_for_update()
                                .execution_options(populate_existing=True)).scalars())


def _after_group_change(session: Session, alerts: Sequence[Alert]) -> None:
    session.flush()
    ids = [a.id for a in alerts]
    for start in range(0, len(ids), CHUNK):
        cancel_pages(session, set(ids[start:start + CHUNK]))


def acknowledge_group(session: Session, *, group: AlertGroup, actor: Principal, now: datetime) -> list[Alert]:
    """Acknowledge every triggered alert of the group at once (one audit record for the group); return
    them. Raise IllegalTransition when none is triggered. Paging stops in `flows.alerts`."""
    actor.require(OrgRole.responder, "acknowledging alerts")
    found = _group_alerts(session, group, ("triggered",))
    if not found:
        raise IllegalTransition("no alert of the group is triggered; nothing to acknowledge",
                                details={"group_id": str(group.id)})
    for alert in found:
        alert.status, alert.acknowledged_at = "acknowledged", now
        _decide(session, alert, "acknowledged", f"acknowledged with its alert group by {actor.label}", now,
                group_id=str(group.id))
    _after_group_change(session, found)
    record(session, actor=actor, action="alert_group.acknowledge", target_type="alert_group", target_id=group.id,
           now=now, details={"alerts": len(found)})
    return found


def resolve_group(session: Session, *, group: AlertGroup, actor: Principal, now: datetime) -> list[Alert]:
    """Resolve every open alert of the group and close the group (one audit record); return them.
    Raise IllegalTransition when none is open. Paging stops in `flows.alerts`."""
    actor.require(OrgRole.responder, "resolving alerts")
    found = _group_alerts(session, group, OPEN_STATUSES)
    if not found:
        raise IllegalTransition("every alert of the group is already resolved", details={"group_id": str(group.id)})
    for alert in found:
        alert.status, alert.resolved_at, alert.suppressed_by, alert.held_until = "resolved", now, None, None
        alert.inhibited_by = None
        _decide(session, alert, "resolved", f"resolved with its alert group by {actor.label}", now,
                group_id=str(group.id))
    _after_group_change(session, found)
    ids = [a.id for a in found]
    for start in range(0, len(ids), CHUNK):  # what these alerts held back is due for release, as in `resolve`
        end_inhibitions(session, set(ids[start:start + CHUNK]), now)
    close_finished_groups(session, {group.id}, now)
    record(session, actor=actor, action="alert_group.resolve", target_type="alert_group", target_id=group.id,
           now=now, details={"alerts": len(found)})
    return found


def attach(session: Session, *, alert: Alert, incident_key: str, actor: Principal, now: datetime) -> Alert:
    """Attach an alert to an incident the actor can see; it shows on the incident's timeline."""
    actor.require(OrgRole.responder, "attaching alerts to incidents")
    incident = require_incident(session, actor, incident_key)
    if alert.incident_id == incident.id:
        raise IllegalTransition(f"the alert is already attached to {ref(incident)}")
    service = session.get(Service, alert.service_id)
    if service is not None and service.drill != incident.drill:  # issue 19: drills stay out of real incidents
        raise Conflict(f"the alert cannot be attached to {ref(incident)}: "
                       + ("a drill service's alert joins only a drill" if service.drill
                          else "a real alert never joins a drill"), details={"incident": ref(incident), "drill": True})
    if alert.incident_id is not None and get_incident(session, actor, alert.incident_id) is None:
        # Moving it would silently take an alert away from a restricted incident's responders. The
        # answer names neither that incident nor that it is restricted (docs/api.md, Need-to-know).
        raise Conflict(f"the alert cannot be attached to {ref(incident)}: it belongs to another incident; "
                       "an admin can move it", details={"incident": ref(incident)})
    alert.incident_id = incident.id
    _decide(session, alert, "attached", f"attached to {ref(incident)} by {actor.label}", now, incident=ref(incident))
    session.flush()
    timeline_for_alert(session, incident=incident, actor=actor, now=now, alert_id=alert.id, severity=alert.severity,
                       summary=alert.summary, dedup_key=alert.dedup_key, service_id=alert.service_id)
    record(session, actor=actor, action="alert.attach", target_type="alert", target_id=alert.id, now=now,
           details={"incident": ref(incident)})
    return alert


def cancel_pages(session: Session, alert_ids: set[uuid.UUID]) -> None:
    """Cancel page requests not yet taken for alerts that were acknowledged or resolved."""
    session.execute(P.update().where(P.c.alert_id.in_(alert_ids), P.c.status == "pending").values(status="cancelled"))


def end_inhibitions(session: Session, alert_ids: set[uuid.UUID], now: datetime) -> None:
    """These alerts resolved: the alerts they inhibit are due for a re-check now (the engine's
    `unsuppress` releases them, or holds them again if another cause still fires)."""
    if alert_ids:
        session.execute(A.update().where(A.c.inhibited_by.in_(alert_ids), A.c.status != "resolved")
                        .values(held_until=now))


def close_finished_groups(session: Session, group_ids: set[uuid.UUID], now: datetime) -> None:
    """Close open groups whose alerts are all resolved."""
    still_open = sa.select(A.c.id).where(A.c.group_id == G.c.id, A.c.status.in_(OPEN_STATUSES)).exists()
    session.execute(G.update().where(G.c.id.in_(group_ids), G.c.status == "open", ~still_open)
                    .values(status="closed", closed_at=now))


def timeline_for_alert(session: Session, *, incident: Incident, actor: Principal, now: datetime,
                       alert_id: uuid.UUID, severity: str, summary: str, dedup_key: str,
                       service_id: uuid.UUID) -> None:
    """Put "Alert attached" on the incident's timeline."""
    timeline.append(session, incident=incident, kind=TimelineKind.alert_attached, actor=actor, now=now,
                    text=f"Alert attached: [{severity}] {summary}",
                    data={"alert_id": str(alert_id), "dedup_key": dedup_key, "service_id": str(service_id)})
