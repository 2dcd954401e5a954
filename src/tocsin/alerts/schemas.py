"""API shapes for alerts, their history, integrations and change events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, StrictIn


class AlertOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    service: str
    integration_id: uuid.UUID | None
    source: str
    dedup_key: str
    status: str
    summary: str
    severity: str
    urgency: str
    labels: dict[str, str]
    details: Any = None
    links: list[Any]
    group_id: uuid.UUID | None
    incident: str | None = Field(None, description="The linked incident's ref, when the caller may see it")
    drill: bool = Field(False, description="An exercise's alert: its service is a drill service (drill mode)")
    previous_alert_id: uuid.UUID | None
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    suppressed_by: str | None = Field(None, description="silence | maintenance | flapping | inhibited, while held back")
    paged_at: datetime | None


class DecisionOut(Out):
    at: datetime
    kind: str
    reason: str
    data: dict[str, Any]


class OccurrenceOut(Out):
    id: uuid.UUID
    received_at: datetime
    source: str
    action: str
    outcome: str | None
    outcome_reason: str | None
    body: dict[str, Any]


class GroupOut(Out):
    id: uuid.UUID
    group_key: str
    labels: dict[str, str]
    status: str
    created_at: datetime
    last_alert_at: datetime
    closed_at: datetime | None
    alert_count: int


class GroupActionOut(Out):
    group: GroupOut
    alert_ids: list[uuid.UUID] = Field(description="The alerts this action changed")


class RunbookRefOut(Out):
    slug: str
    title: str
    url: str = Field(description="The runbook in the console")


class AlertDetailOut(AlertOut):
    runbooks: list[RunbookRefOut] = Field(default_factory=list, description="Runbooks for this alert: linked to "
                                          "its service, or whose label matchers match its labels")
    decisions: list[DecisionOut]
    occurrences_log: list[OccurrenceOut] = Field(description="The newest 100 events applied to this alert")
    group: GroupOut | None


class AttachIn(StrictIn):
    incident: str = Field(min_length=1, max_length=64, description="Incident ref (INC-42) or id")


class IntegrationIn(StrictIn):
    service: str = Field(min_length=1, max_length=64, description="Service slug or id")
    type: Literal["events_v2", "alertmanager", "grafana", "generic", "email", "opsgenie"]
    name: Name
    config: dict[str, Any] = Field(default_factory=dict, description="generic: {\"mapping\": {...}} or "
                                   "{\"preset\": \"datadog\", \"mapping\": {overrides}}; grafana: "
                                   "{\"hmac\": true, \"timestamp_header\": ...}; email: {\"summary\", "
                                   "\"dedup_key\", \"resolve\" (regexes), \"severity\": [{\"pattern\", "
                                   "\"severity\"}], \"default_severity\"}")


class IntegrationOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    type: str
    name: str
    key_hint: str = Field(description="The key's first characters, to tell keys apart")
    config: dict[str, Any]
    created_at: datetime
    last_event_at: datetime | None
    url: str = Field(description="Where the tool sends events (the key goes where `<key>` stands)")


class NewIntegrationOut(IntegrationOut):
    key: str = Field(description="Shown once: the integration key (PagerDuty `routing_key`)")
    signing_secret: str | None = Field(None, description="Grafana HMAC secret, when `config.hmac` is true")


class ChangeOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    summary: str
    source: str
    occurred_at: datetime
    received_at: datetime
    details: Any = None
    links: list[Any]
