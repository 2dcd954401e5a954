"""Prometheus metrics for /metrics: what is open now (incidents, alerts, the notification outbox,
overdue action items), read from the database at each scrape, plus the process collectors.

The database is read first into a `Snapshot` (a few GROUP BY queries) and the exposition is
rendered from it with a registry built for this scrape, so a database error surfaces before any
output exists (the route answers 503) and no state is shared between scrapes or app instances.

Need-to-know: the series are the same for whoever scrapes (Prometheus stores one set and shows it
to everyone who can query it), so restricted incidents, and the action items hanging off them, are
left out of every figure, even for an admin's token. Labels hold only enum values and service slugs.

Drills (issue 19: an exercise's incidents, and the alerts of drill services) are left out of the
incident and alert figures; the outbox figures count every message, as they measure delivery itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from tocsin import __version__
from tocsin.actions.models import ActionItem
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.escalation.models import Notification
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident, IncidentService
from tocsin.pipeline.journal import backlog
from tocsin.services.models import Service

NO_SERVICE = "(none)"
OPEN_ACTION_STATUSES = ("open", "in_progress")


@dataclass
class Snapshot:
    """Counts as (labels..., value) tuples, read in one transaction."""

    incidents: list[tuple[str, str, str, int]] = field(default_factory=list)  # severity, kind, service
    alerts: list[tuple[str, str, str, int]] = field(default_factory=list)  # status, urgency, service
    notifications: list[tuple[str, str, int]] = field(default_factory=list)  # status, channel
    oldest_queued_seconds: float = 0.0
    pending_events: int = 0
    journal_requests: int = 0
    journal_oldest_seconds: float = 0.0
    action_items_overdue: int = 0
    database: str = ""


def snapshot(session: Session, *, now: datetime) -> Snapshot:
    """Read the counts the metrics show; raise SQLAlchemyError when the database fails."""
    active = [s.value for s in ACTIVE_STATUSES]
    snap = Snapshot(database=session.get_bind().dialect.name)
    open_rows = session.execute(
        sa.select(Incident.severity, Incident.kind, Service.slug, sa.func.count(Incident.id))
        .select_from(Incident)
        .outerjoin(IncidentService, IncidentService.incident_id == Incident.id)
        .outerjoin(Service, Service.id == IncidentService.service_id)
        # Need-to-know: a restricted incident does not exist for whoever may scrape, so not even
        # its severity or kind is counted here.
        .where(Incident.status.in_(active), Incident.restricted.is_(False), Incident.drill.is_(False))
        .group_by(Incident.severity, Incident.kind, Service.slug)).all()
    snap.incidents = [(sev, kind, slug or NO_SERVICE, n) for sev, kind, slug, n in open_rows]
    snap.alerts = [(status, urgency, slug, n) for status, urgency, slug, n in session.execute(
        sa.select(Alert.status, Alert.urgency, Service.slug, sa.func.count(Alert.id))
        .join(Service, Service.id == Alert.service_id)
        .where(Alert.status != "resolved", Service.drill.is_(False))
        .group_by(Alert.status, Alert.urgency, Service.slug)).all()]
    snap.notifications = [(status, channel, n) for status, channel, n in session.execute(
        sa.select(Notification.status, Notification.channel, sa.func.count(Notification.id))
        .where(Notification.status.in_(("queued", "sending", "failed")))
        .group_by(Notification.status, Notification.channel)).all()]
    oldest = session.execute(sa.select(sa.func.min(Notification.send_after)).where(
        Notification.status == "queued", Notification.send_after <= now)).scalar_one()
    if oldest is not None:
        snap.oldest_queued_seconds = max(0.0, (now - oldest).total_seconds())
    snap.pending_events = session.execute(sa.select(sa.func.count()).select_from(AlertEvent).where(
        AlertEvent.outcome.is_(None))).scalar_one()
    snap.journal_requests, journal_oldest = backlog(session)
    if journal_oldest is not None:
        snap.journal_oldest_seconds = max(0.0, (now - journal_oldest).total_seconds())
    restricted = sa.select(Incident.id).where(Incident.restricted.is_(True))
    snap.action_items_overdue = session.execute(sa.select(sa.func.count()).select_from(ActionItem).where(
        ActionItem.status.in_(OPEN_ACTION_STATUSES), ActionItem.due_at.is_not(None),
        ActionItem.due_at < now,
        sa.or_(ActionItem.incident_id.is_(None), ActionItem.incident_id.not_in(restricted)))).scalar_one()
    return snap


class SnapshotCollector(Collector):
    """Yields the metric families of one snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        s = self.snap
        yield InfoMetricFamily("tocsin", "tocsin version and database backend",
                               value={"version": __version__, "database": s.database})
        incidents = GaugeMetricFamily(
            "tocsin_incidents_open", "Incidents in an active status (triage to monitoring), per affected service; "
            "an incident with several services is in each; restricted incidents and drills are not counted",
            labels=["severity", "kind", "service"])
        for sev, kind, service, n in s.incidents:
            incidents.add_metric([sev, kind, service], n)
        yield incidents
        alerts = GaugeMetricFamily("tocsin_alerts_open", "Alerts not resolved, by status, urgency and service "
                                   "(drill services' are not counted)",
                                   labels=["status", "urgency", "service"])
        for status, urgency, service, n in s.alerts:
            alerts.add_metric([status, urgency, service], n)
        yield alerts
        queued = GaugeMetricFamily("tocsin_notifications_queued", "Notifications waiting in the outbox "
                                   "(queued or being sent), by channel", labels=["channel"])
        failed = CounterMetricFamily("tocsin_notifications_failed", "Notifications that failed for good, by channel",
                                     labels=["channel"])
        waiting: dict[str, int] = {}
        for status, channel, n in s.notifications:
            if status == "failed":
                failed.add_metric([channel], n)
            else:
                waiting[channel] = waiting.get(channel, 0) + n
        for channel, n in sorted(waiting.items()):
            queued.add_metric([channel], n)
        yield queued
        yield failed
        yield GaugeMetricFamily("tocsin_notifications_oldest_due_seconds", "How long the oldest due queued "
                                "notification has waited to be sent (0: none); a growing value means delivery "
                                "is stuck", value=s.oldest_queued_seconds)
        yield GaugeMetricFamily("tocsin_alert_events_pending", "Received alert events the pipeline has not "
                                "applied yet", value=s.pending_events)
        yield GaugeMetricFamily("tocsin_ingest_journal_requests", "Accepted ingest requests (answered 2xx) whose "
                                "events are not applied yet", value=s.journal_requests)
        yield GaugeMetricFamily("tocsin_ingest_journal_oldest_seconds", "Age of the oldest accepted request not "
                                "applied yet (0: none): the current apply lag; a growing value means the "
                                "appliers cannot keep up", value=s.journal_oldest_seconds)
        yield GaugeMetricFamily("tocsin_action_items_overdue", "Open or in-progress action items past their due "
                                "time (not those of restricted incidents)", value=s.action_items_overdue)


def render(snap: Snapshot) -> bytes:
    """Return the text exposition of `snap` plus process, platform and GC metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return generate_latest(registry)
