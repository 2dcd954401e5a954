"""The words of a status page, as the Statuspage v2 API spells them.

Kept in one place so the writers (service, API) and the readers (snapshot, render, feeds)
agree on every value a client of `/api/v2/*.json` may see.
"""

from __future__ import annotations

from enum import StrEnum


class ComponentStatus(StrEnum):
    operational = "operational"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"
    under_maintenance = "under_maintenance"


class IncidentStatus(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem = "postmortem"


class MaintenanceStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    verifying = "verifying"
    completed = "completed"


class Impact(StrEnum):
    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"
    maintenance = "maintenance"


class Indicator(StrEnum):
    """The page roll-up in status.json; `maintenance` is what Statuspage emits in practice."""

    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"
    maintenance = "maintenance"


class StatusIncidentKind(StrEnum):
    incident = "incident"
    maintenance = "maintenance"


class SubscriberKind(StrEnum):
    email = "email"
    webhook = "webhook"


class DeliveryKind(StrEnum):
    confirm = "confirm"
    update = "update"


# Incident statuses that still count as "unresolved" on the page (incidents/unresolved.json).
UNRESOLVED = (IncidentStatus.investigating.value, IncidentStatus.identified.value,
              IncidentStatus.monitoring.value)
# Incident statuses after which the incident is over (postmortem follows resolved).
FINISHED = (IncidentStatus.resolved.value, IncidentStatus.postmortem.value)
# Maintenance statuses shown as "active" (scheduled-maintenances/active.json).
MAINTENANCE_ACTIVE = (MaintenanceStatus.in_progress.value, MaintenanceStatus.verifying.value)

# Worst first: the order used to pick the page roll-up and a default incident impact.
COMPONENT_SEVERITY = {
    ComponentStatus.major_outage.value: 4,
    ComponentStatus.partial_outage.value: 3,
    ComponentStatus.degraded_performance.value: 2,
    ComponentStatus.under_maintenance.value: 1,
    ComponentStatus.operational.value: 0,
}

# The incident impact implied by the worst component status posted with it.
IMPACT_FOR_COMPONENT = {
    ComponentStatus.major_outage.value: Impact.critical.value,
    ComponentStatus.partial_outage.value: Impact.major.value,
    ComponentStatus.degraded_performance.value: Impact.minor.value,
}


def impact_for(statuses: list[str] | tuple[str, ...] | set[str]) -> str:
    """The default impact of an incident whose components were posted with `statuses`."""
    worst = max(statuses, key=lambda s: COMPONENT_SEVERITY.get(s, 0), default=None)
    return IMPACT_FOR_COMPONENT.get(worst or "", Impact.none.value)
