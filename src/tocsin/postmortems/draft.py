"""Build a postmortem's first draft (Markdown) from the incident record.

`gather` reads what the draft needs from the database into a `Record`; `render` is pure and
writes one `## ` section per template section, in template order. Sections in `FILLED` are
written from the record; every other section shows its prompt as an italic hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, Participant, TimelineEntry
from tocsin.incidents.roles import role_history
from tocsin.incidents.types import TimelineKind
from tocsin.services.models import Service
from tocsin.users.models import User

# Timeline kinds that always make the postmortem timeline; other entries only when marked as key events
# (so ordinary notes stay out, key-event notes go in).
TIMELINE_KINDS = frozenset({TimelineKind.declared, TimelineKind.status_changed, TimelineKind.severity_changed,
                            TimelineKind.role_assigned, TimelineKind.role_unassigned, TimelineKind.paging,
                            TimelineKind.alert_attached})
MAX_TIMELINE_ROWS = 1000


@dataclass
class Event:
    at: datetime
    who: str
    text: str


@dataclass
class AlertLine:
    first_seen_at: datetime
    severity: str
    summary: str
    service: str


@dataclass(frozen=True)
class ActionLine:
    """An action item as the postmortem shows it. Read by the caller (the actions package sits
    above this one), so the draft and the export can list the incident's items."""

    ref: str
    title: str
    status: str
    priority: str
    owner: str | None = None
    due_at: datetime | None = None


@dataclass
class Record:
    ref: str
    title: str
    summary: str
    kind: str
    severity: str
    suggested_severity: str | None = None
    severity_reason: str | None = None
    customers_affected: int | None = None
    revenue_at_risk_per_hour: float | None = None
    customer_facing: bool | None = None
    data_sensitivity: str | None = None
    services: list[tuple[str, str]] = field(default_factory=list)  # (name, slug)
    impact_started_at: datetime | None = None
    detected_at: datetime | None = None
    declared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role, person), every holder in order
    events: list[Event] = field(default_factory=list)
    alerts: list[AlertLine] = field(default_factory=list)
    action_items: list[ActionLine] = field(default_factory=list)


def when(at: datetime | None) -> str:
    """'2026-11-27 10:04 UTC', or 'unknown'."""
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "unknown"


def duration(delta: timedelta | None) -> str:
    """'12 min', '1 h 5 min', '< 1 min'; 'unknown' for None."""
    if delta is None:
        return "unknown"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    return end - start if start and end and end >= start else None


def _cell(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def _summary(r: Record) -> list[str]:
    return [r.summary.strip() or r.title]


def _impact(r: Record) -> list[str]:
    start = r.impact_started_at or r.detected_at
    sev = r.severity
    if r.suggested_severity and r.suggested_severity != r.severity:
        sev += f" (the impact suggested {r.suggested_severity}" + (f"; {r.severity_reason}" if r.severity_reason
                                                                    else "") + ")"
    services = ", ".join(f"{name} (`{slug}`)" for name, slug in r.services) or "none recorded"
    lines = [
        f"- **Severity:** {sev}",
        f"- **Kind:** {r.kind}",
        f"- **Duration:** {duration(_between(start, r.resolved_at))} (from {when(start)} to {when(r.resolved_at)}; "
        f"measured from {'impact start' if r.impact_started_at else 'detection'})",
        f"- **Customers affected:** {r.customers_affected if r.customers_affected is not None else 'unknown'}",
        "- **Revenue at risk per hour:** " + (f"{r.revenue_at_risk_per_hour:,.2f}"
                                             if r.revenue_at_risk_per_hour is not None else "unknown"),
        f"- **Services:** {services}",
    ]
    if r.customer_facing is not None:
        lines.append(f"- **Customer facing:** {'yes' if r.customer_facing else 'no'}")
    if r.data_sensitivity:
        lines.append(f"- **Data sensitivity:** {r.data_sensitivity}")
    return lines


def _timeline(r: Record) -> list[str]:
    if not r.events:
        return ["_No events were recorded._"]
    lines = ["| Time (UTC) | Who | Event |", "| --- | --- | --- |"]
    lines += [f"| {when(e.at)} | {_cell(e.who)} | {_cell(e.text)} |" for e in r.events]
    return lines


def _detection(r: Record) -> list[str]:
    lines = [
        f"- **Impact started:** {when(r.impact_started_at)}",
        f"- **Detected:** {when(r.detected_at)}",
        f"- **Time to detect** (impact start to detection): {duration(_between(r.impact_started_at, r.detected_at))}",
        f"- **Time to acknowledge** (from detection): {duration(_between(r.detected_at, r.acknowledged_at))}",
        f"- **Time to mitigate** (from detection): {duration(_between(r.detected_at, r.mitigated_at))}",
        f"- **Time to resolve** (from detection): {duration(_between(r.detected_at, r.resolved_at))}",
    ]
    if r.roles:
        lines.append("- **Roles:** " + "; ".join(f"{role.replace('_', ' ')}: {who}" for role, who in r.roles))
    if r.alerts:
        lines += ["", "Alerts attached to the incident:", ""]
        lines += [f"- {when(a.first_seen_at)} [{a.severity}] {_cell(a.summary)} (`{a.service}`)" for a in r.alerts]
    else:
        lines.append("- **Alerts:** none were attached to the incident")
    return lines


def action_table(items: list[ActionLine]) -> list[str]:
    """A Markdown table of the items: ref, title, owner, due date (UTC), priority, status."""
    lines = ["| Item | Title | Owner | Due (UTC) | Priority | Status |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {a.ref} | {_cell(a.title)} | {_cell(a.owner or 'nobody yet')} | "
              f"{a.due_at.strftime('%Y-%m-%d') if a.due_at else 'none'} | {a.priority} | {a.status.replace('_', ' ')} |"
              for a in items]
    return lines


def _action_items(r: Record) -> list[str]:
    if not r.action_items:
        return ["_No action items yet. What will we change so that this cannot happen again, or hurts less? "
                "One owner and a due date each._"]
    return action_table(r.action_items)


FILLED = {"summary": _summary, "impact": _impact, "timeline": _timeline, "detection": _detection,
          "action_items": _action_items}


def render(record: Record, sections: list[dict[str, Any]]) -> str:
    """The draft Markdown: one `## title` per section in order; prompts of empty sections in italics."""
    parts: list[str] = []
    for sec in sections:
        fill = FILLED.get(sec["key"])
        body = fill(record) if fill else [f"_{_cell(sec.get('prompt') or 'To be written.')}_"]
        parts.append("\n".join([f"## {sec['title']}", "", *body]))
    return "\n\n".join(parts) + "\n"


def gather(session: Session, incident: Incident, action_items: list[ActionLine] | None = None) -> Record:
    """Read the incident, its services, roles, alerts and postmortem-worthy timeline entries;
    `action_items` are the incident's items, read by the caller."""
    svc = incidents.services_of(session, [incident.id])[incident.id]
    history = role_history(session, incident.id)
    entries = [e for e in session.execute(
        sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
        .where(sa.or_(TimelineEntry.kind.in_([k.value for k in TIMELINE_KINDS]), TimelineEntry.key_event.is_(True)))
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id).limit(MAX_TIMELINE_ROWS)).scalars()]
    alerts = session.execute(
        sa.select(Alert, Service.slug).join(Service, Service.id == Alert.service_id)
        .where(Alert.incident_id == incident.id).order_by(Alert.first_seen_at, Alert.id).limit(200)).all()
    user_ids = {e.actor_id for e in entries} | {a.user_id for a in history}
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    return Record(
        ref=incidents.ref(incident), title=incident.title, summary=incident.summary or "", kind=incident.kind,
        severity=incident.severity, suggested_severity=incident.suggested_severity,
        severity_reason=incident.severity_reason, customers_affected=incident.customers_affected,
        revenue_at_risk_per_hour=incident.revenue_at_risk_per_hour, customer_facing=incident.customer_facing,
        data_sensitivity=incident.data_sensitivity, services=[(s.name, s.slug) for s in svc],
        impact_started_at=incident.impact_started_at, detected_at=incident.detected_at,
        declared_at=incident.declared_at, acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at, resolved_at=incident.resolved_at,
        roles=[(a.role, names.get(a.user_id, "someone")) for a in history],
        events=[Event(e.occurred_at, names.get(e.actor_id, "tocsin") if e.actor_id else "tocsin", e.text)
                for e in entries],
        alerts=[AlertLine(a.first_seen_at, a.severity, a.summary, slug) for a, slug in alerts],
        action_items=list(action_items or []),
    )


def people_on(session: Session, incident: Incident) -> list[str]:
    """Names of everyone who took part in the incident, for the blameless check."""
    ids = {p for p in session.execute(sa.select(Participant.user_id).where(Participant.incident_id == incident.id)
                                      ).scalars()}
    ids |= {a.user_id for a in role_history(session, incident.id)}
    if incident.declared_by_id:
        ids.add(incident.declared_by_id)
    if not ids:
        return []
    return sorted(session.execute(sa.select(User.name).where(User.id.in_(ids))).scalars())
