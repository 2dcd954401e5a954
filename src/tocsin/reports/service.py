"""Report queries: load the incident and action item rows of a period for the pure metrics.

Drills (an exercise's incidents, issue 19) are left out of every metric; a report says how many
it left out (`drills_left_out`). Action items are kept even when a drill raised them: the work is real.

Need-to-know holds here as everywhere: incidents come from `access.visible()`, and an action
item hanging off an incident (directly or through its postmortem) is loaded only when that
incident is visible. Each kind of related row is one query over the period's incident ids
(a subquery, not a list of parameters), so a report costs a fixed number of queries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions.models import ActionItem
from tocsin.actions.service import item_visibility
from tocsin.alerts.models import Alert
from tocsin.audit.models import AuditEntry
from tocsin.config import Settings
from tocsin.containment.phases import contained_at, eradicated_at
from tocsin.containment.service import phase_history
from tocsin.guardrails import service as guardrails
from tocsin.guardrails.rules import ABOUT
from tocsin.incidents.access import visibility_clause
from tocsin.incidents.models import (
    Incident,
    IncidentService,
    Participant,
    RoleAssignment,
    TimelineEntry,
)
from tocsin.incidents.service import match_clauses, ref
from tocsin.incidents.types import Kind, ParticipantKind, Role, Status, TimelineKind
from tocsin.postmortems.models import Postmortem
from tocsin.principal import Principal
from tocsin.problems.models import ProblemIncident
from tocsin.reports import incident_metrics as m
from tocsin.reports import page
from tocsin.reports.period import Period
from tocsin.reports.slo_budgets import slo_section
from tocsin.services.models import Service
from tocsin.severities import Severity
from tocsin.statuspage.service import first_update_times
from tocsin.teams.models import Team
from tocsin.teams.service import require_team


@dataclass
class ReportFilter:
    team: str | None = None  # slug or id: incidents on a service the team owns
    service: str | None = None  # slug or id
    severity: list[Severity] = field(default_factory=list)
    kind: Kind | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "service": self.service, "severity": [s.value for s in self.severity],
                "kind": self.kind.value if self.kind else None}


def required_severities(settings: Settings) -> frozenset[str]:
    return settings.postmortem_severities()


def hourly_rate(settings: Settings) -> float:
    return settings.responder_hourly_rate


def _incident_ids(session: Session, principal: Principal, period: Period,
                  flt: ReportFilter) -> sa.Select[uuid.UUID]:
    """The ids of the visible, not declined, real (not drill) incidents declared in the period that match `flt`."""
    return _period_incidents(session, principal, period, flt).where(Incident.drill.is_(False))


def drills_left_out(session: Session, principal: Principal, period: Period, flt: ReportFilter) -> int:
    """How many drills of the period (visible, matching `flt`) a report leaves out."""
    ids = _period_incidents(session, principal, period, flt).where(Incident.drill.is_(True)).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(ids)).scalar_one())


def _period_incidents(session: Session, principal: Principal, period: Period,
                      flt: ReportFilter) -> sa.Select[uuid.UUID]:
    stmt = sa.select(Incident.id).where(
        visibility_clause(principal), Incident.declared_at >= period.since, Incident.declared_at < period.until,
        Incident.status != Status.declined.value,
        *match_clauses(session, severity=flt.severity, kind=flt.kind, service=flt.service))
    if flt.team:
        team = require_team(session, flt.team)
        stmt = stmt.where(sa.exists().where(IncidentService.incident_id == Incident.id,
                                            IncidentService.service_id == Service.id,
                                            Service.owner_team_id == team.id))
    return stmt


# --- acknowledgements by people (MTTA) -----------------------------------------------------------
# MTTA ends at the first acknowledgement by a PERSON. The incident's own `acknowledged_at` cannot
# say that: entering `investigating` stamps it, also when an auto-incident rule declares the
# incident (and databases from before that was fixed hold such stamps), so every auto-declared
# incident would show an MTTA of about 0 s. The records that name who acted are used instead: the
# audit log for alerts, the timeline and role assignments for the incident.

ALERT_ACK_ACTIONS = ("alert.acknowledge", "alert_group.acknowledge")
_CHUNK = 500


def _earliest(into: dict[uuid.UUID, datetime], key: uuid.UUID, at: datetime) -> None:
    if key not in into or at < into[key]:
        into[key] = at


def human_alert_acks(session: Session, incident_ids: sa.Select[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Per incident, when a person first acknowledged one of its attached alerts (directly, by
    answering its page, or with its whole group). Acknowledgements the sender sent through the
    integration (a monitoring system's ack event) are not a person's and are left out; they are
    not audited as `alert.acknowledge`, which people's are."""
    alerts = session.execute(sa.select(Alert.id, Alert.group_id, Alert.incident_id, Alert.first_seen_at)
                             .where(Alert.incident_id.in_(incident_ids))).all()
    by_alert = {str(a.id): a.incident_id for a in alerts}
    by_group: dict[str, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
    for a in alerts:
        if a.group_id is not None:
            by_group[str(a.group_id)].append((a.incident_id, a.first_seen_at))
    out: dict[uuid.UUID, datetime] = {}
    for action, targets in (("alert.acknowledge", list(by_alert)), ("alert_group.acknowledge", list(by_group))):
        for start in range(0, len(targets), _CHUNK):
            for target, at in session.execute(  # target_id is set for these actions: they name the alert (group)
                    sa.select(AuditEntry.target_id, AuditEntry.at)
                    .where(AuditEntry.action == action, AuditEntry.actor_id.is_not(None),
                           AuditEntry.target_id.in_(targets[start:start + _CHUNK]))):
                if target is None:
                    continue
                if action == "alert.acknowledge":
                    _earliest(out, by_alert[target], at)
                else:  # a group ack acknowledged the group's alerts that had arrived by then
                    for incident_id, seen in by_group[target]:
                        if seen <= at:
                            _earliest(out, incident_id, at)
    return out


def human_incident_acks(session: Session, incident_ids: sa.Select[uuid.UUID],
                        declared: dict[uuid.UUID, datetime]) -> dict[uuid.UUID, datetime]:
    """Per incident, when a person first acknowledged the incident itself: declared it straight into
    an active status (not triage), moved it out of triage (the status change that stamped
    `acknowledged_at`), or took or gave the Incident Commander role after the declaration (answering
    the page for a commander does that). Entries written by tocsin itself have no actor."""
    out: dict[uuid.UUID, datetime] = {}
    for incident_id, kind, at, data in session.execute(
            sa.select(TimelineEntry.incident_id, TimelineEntry.kind, TimelineEntry.occurred_at, TimelineEntry.data)
            .where(TimelineEntry.incident_id.in_(incident_ids), TimelineEntry.actor_id.is_not(None),
                   TimelineEntry.kind.in_((TimelineKind.declared.value, TimelineKind.status_changed.value)))):
        data = data or {}
        if kind == TimelineKind.declared.value and data.get("status") not in (None, Status.triage.value):
            _earliest(out, incident_id, at)
        elif kind == TimelineKind.status_changed.value and "acknowledged_at" in (data.get("stamped") or ()):
            _earliest(out, incident_id, at)
    for incident_id, at in session.execute(
            sa.select(RoleAssignment.incident_id, RoleAssignment.assigned_at)
            .where(RoleAssignment.incident_id.in_(incident_ids), RoleAssignment.assigned_by_id.is_not(None),
                   RoleAssignment.role == Role.incident_commander.value)):
        if at > declared[incident_id]:
            _earliest(out, incident_id, at)
    return out


def load_incident_rows(session: Session, *, principal: Principal, period: Period,
                       flt: ReportFilter) -> list[m.IncidentRow]:
    """One IncidentRow per matching incident, ordered by declared_at; raises NotFound for an
    unknown team or service filter."""
    ids = _incident_ids(session, principal, period, flt)
    incidents = list(session.execute(
        sa.select(Incident).where(Incident.id.in_(ids)).order_by(Incident.declared_at, Incident.id)).scalars())
    if not incidents:
        return []

    services: dict[uuid.UUID, list[str]] = defaultdict(list)
    teams: dict[uuid.UUID, set[str]] = defaultdict(set)
    for iid, slug, team in session.execute(
            sa.select(IncidentService.incident_id, Service.slug, Team.slug)
            .join(Service, Service.id == IncidentService.service_id)
            .outerjoin(Team, Team.id == Service.owner_team_id)
            .where(IncidentService.incident_id.in_(ids))):
        services[iid].append(slug)
        if team:
            teams[iid].add(team)

    first_seen = dict(session.execute(
        sa.select(Alert.incident_id, sa.func.min(Alert.first_seen_at))
        .where(Alert.incident_id.in_(ids)).group_by(Alert.incident_id)).all())
    declared = {inc.id: inc.declared_at for inc in incidents}
    alert_acks = human_alert_acks(session, ids)
    incident_acks = human_incident_acks(session, ids, declared)
    first_ic = dict(session.execute(
        sa.select(RoleAssignment.incident_id, sa.func.min(RoleAssignment.assigned_at))
        .where(RoleAssignment.incident_id.in_(ids), RoleAssignment.role == Role.incident_commander.value)
        .group_by(RoleAssignment.incident_id)).all())
    responders: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for iid, joined in session.execute(
            sa.select(Participant.incident_id, Participant.joined_at)
            .where(Participant.incident_id.in_(ids), Participant.kind == ParticipantKind.responder.value)):
        responders[iid].append(joined)
    postmortems = {iid: (status, published) for iid, status, published in session.execute(
        sa.select(Postmortem.incident_id, Postmortem.status, Postmortem.published_at)
        .where(Postmortem.incident_id.in_(ids)))}
    recurrent = set(session.execute(
        sa.select(ProblemIncident.incident_id).distinct()
        .where(ProblemIncident.incident_id.in_(ids), ProblemIncident.recurrence.is_(True))).scalars())

    first_public = first_update_times(session, [inc.id for inc in incidents])
    phase_rows = phase_history(session, [inc.id for inc in incidents if inc.kind == Kind.security.value])
    rows = []
    for inc in incidents:
        pm_status, pm_published = postmortems.get(inc.id, (None, None))
        rows.append(m.IncidentRow(
            ref=ref(inc), kind=inc.kind, severity=inc.severity, declared_at=inc.declared_at,
            detected_at=inc.detected_at, impact_started_at=inc.impact_started_at,
            acknowledged_at=incident_acks.get(inc.id), mitigated_at=inc.mitigated_at, resolved_at=inc.resolved_at,
            revenue_at_risk_per_hour=inc.revenue_at_risk_per_hour, first_alert_at=first_seen.get(inc.id),
            first_alert_ack_at=alert_acks.get(inc.id),
            first_ic_at=first_ic.get(inc.id), responders_joined=tuple(sorted(responders[inc.id])),
            services=tuple(sorted(services[inc.id])), teams=tuple(sorted(teams[inc.id])),
            postmortem_status=pm_status, postmortem_published_at=pm_published, recurrence=inc.id in recurrent,
            first_status_update_at=first_public.get(inc.id),
            contained_at=contained_at(phase_rows.get(inc.id, ())),
            eradicated_at=eradicated_at(phase_rows.get(inc.id, ())),
        ))
    return rows


def load_action_rows(session: Session, *, principal: Principal, period: Period, now: datetime,
                     team: str | None = None) -> list[m.ActionRow]:
    """Action items due in the period or open and overdue now, without those hanging off an
    incident the principal may not see; raises NotFound for an unknown team."""
    stmt = (
        sa.select(ActionItem.status, ActionItem.due_at, ActionItem.completed_at, Team.slug)
        .outerjoin(Team, Team.id == ActionItem.team_id)
        .where(ActionItem.due_at.is_not(None), item_visibility(principal),
               sa.or_(sa.and_(ActionItem.due_at >= period.since, ActionItem.due_at < period.until),
                      sa.and_(ActionItem.status.in_(("open", "in_progress")), ActionItem.due_at < now)))
        .order_by(ActionItem.due_at, ActionItem.id)
    )
    if team:
        stmt = stmt.where(ActionItem.team_id == require_team(session, team).id)
    return [m.ActionRow(status=s, due_at=due, completed_at=done, team=slug)
            for s, due, done, slug in session.execute(stmt)]


def incident_report(session: Session, *, principal: Principal, now: datetime, period: Period, flt: ReportFilter,
                    group_by: m.GroupBy, settings: Settings,
                    rows: list[m.IncidentRow] | None = None) -> dict[str, Any]:
    """The JSON of GET /reports/incidents: period, filters, overall metrics and one entry per group
    (over `rows` when the caller has loaded them already).

    `overall.action_items` counts the action items of the period (only the team filter applies
    to them: they have no service, severity or kind of their own)."""
    if rows is None:
        rows = load_incident_rows(session, principal=principal, period=period, flt=flt)
    kwargs = m.MetricSettings(now=now, required_severities=required_severities(settings),
                              hourly_rate=hourly_rate(settings))
    overall = m.incident_metrics(rows, **kwargs)
    actions = load_action_rows(session, principal=principal, period=period, now=now, team=flt.team)
    overall["action_items"] = m.action_item_metrics(actions, now=now)
    groups = []
    if group_by != m.GroupBy.none:
        grouped = m.group_rows(rows, group_by)
        if group_by in (m.GroupBy.week, m.GroupBy.month):
            grouped = {k: grouped.get(k, []) for k in m.buckets(period.since, period.until, group_by)}
        groups = [{"key": key, "metrics": m.incident_metrics(items, **kwargs)} for key, items in grouped.items()]
    return {"period": period.as_dict(), "filters": flt.as_dict(), "group_by": group_by.value,
            "overall": overall, "groups": groups,
            "drills_left_out": drills_left_out(session, principal, period, flt),
            "guardrails": guardrail_counts(session, principal=principal, period=period, flt=flt),
            "slos": slo_section(session, period=period, service=flt.service, team=flt.team)}


def guardrail_counts(session: Session, *, principal: Principal, period: Period,
                     flt: ReportFilter) -> list[dict[str, Any]]:
    """Guardrails tripped in the period on the report's incidents (drills left out), one row per rule."""
    found = guardrails.counts(session, period.since, period.until,
                              incidents=_incident_ids(session, principal, period, flt))
    return [{"rule": rule.value, "label": about.label, "count": found.get(rule.value, 0)}
            for rule, about in ABOUT.items()]


def action_item_report(session: Session, *, principal: Principal, now: datetime, period: Period,
                       team: str | None) -> dict[str, Any]:
    rows = load_action_rows(session, principal=principal, period=period, now=now, team=team)
    return {"period": period.as_dict(), "team": team, "overall": m.action_item_metrics(rows, now=now),
            "teams": m.action_items_by_team(rows, now=now)}


PAGE_TRENDS = (m.TrendMetric.incidents, m.TrendMetric.mtta, m.TrendMetric.mttr)


@dataclass
class PageData:
    """What the reports page shows: the report, the action items by team, and the trend charts
    (the action items chart is drawn from `action_items`), computed once from the same rows so that
    each chart and the table beside it agree."""

    report: dict[str, Any]
    action_items: dict[str, Any]
    trends: list[m.Trend]


def page_data(session: Session, *, principal: Principal, now: datetime, period: Period, flt: ReportFilter,
              group_by: m.GroupBy, unit: m.Bucket, settings: Settings) -> PageData:
    rows = load_incident_rows(session, principal=principal, period=period, flt=flt)
    report = incident_report(session, principal=principal, now=now, period=period, flt=flt, group_by=group_by,
                             settings=settings, rows=rows)
    actions = action_item_report(session, principal=principal, now=now, period=period, team=flt.team)
    trends = [m.trend(rows, metric=metric, unit=unit, since=period.since, until=period.until, now=now,
                      required_severities=required_severities(settings), hourly_rate=hourly_rate(settings))
              for metric in PAGE_TRENDS]
    return PageData(report, actions, trends)


def page_html(session: Session, *, principal: Principal, now: datetime, period: Period, flt: ReportFilter,
              group_by: m.GroupBy, unit: m.Bucket, settings: Settings, back: str | None = None) -> str:
    """The HTML reports page (summary table, groups, trend charts), as the API and the console serve it;
    `back` is a link to show at the top (the console's report page)."""
    data = page_data(session, principal=principal, now=now, period=period, flt=flt, group_by=group_by, unit=unit,
                     settings=settings)
    return page.render_page(report=data.report, action_items=data.action_items, trends=data.trends,
                            generated_at=now, currency=settings.cost_currency, back=back)
