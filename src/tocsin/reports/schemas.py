"""Response shapes of /api/v1/reports (JSON); durations are seconds, percentages 0–100 or null."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class StatsOut(BaseModel):
    count: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None


class NotAvailableOut(BaseModel):
    value: float | None
    note: str


class ShareOut(BaseModel):
    count: int
    of: int
    percent: float | None


class PostmortemsOut(BaseModel):
    required: int
    published: int
    completion_percent: float | None
    time_to_publish: StatsOut


class RecurrenceOut(BaseModel):
    count: int
    percent: float | None


class CostOut(BaseModel):
    responder_hours: float
    hourly_rate: float
    responder_cost: float
    revenue_at_risk: float
    total: float


class ActionItemsOut(BaseModel):
    done_on_time: int
    done_late: int
    open_overdue: int
    open_not_due: int
    wont_do: int
    total: int
    completion_rate_percent: float | None


class TeamActionItemsOut(ActionItemsOut):
    team: str


class MetricsOut(BaseModel):
    incidents: int
    mttd: StatsOut
    mtta: StatsOut
    mttm: StatsOut
    mttr: StatsOut
    time_to_contain: StatsOut
    time_to_eradicate: StatsOut
    time_to_first_status_update: NotAvailableOut
    ic_within_5_min: ShareOut
    postmortems: PostmortemsOut
    recurrence: RecurrenceOut
    cost: CostOut


class OverallOut(MetricsOut):
    action_items: ActionItemsOut


class GroupOut(BaseModel):
    key: str
    metrics: MetricsOut


class PeriodOut(BaseModel):
    since: str
    until: str


class FiltersOut(BaseModel):
    team: str | None
    service: str | None
    severity: list[str]
    kind: str | None


class GuardrailCountOut(BaseModel):
    rule: str
    label: str
    count: int


class SloBudgetOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    target: float
    window_days: int
    good: float
    total: float
    sli: float | None = Field(description="Good events over all events in the period (null: none)")
    budget_consumed: float = Field(description="Bad events over those the target allows for the period's traffic "
                                               "(1 = the whole budget)")


class ServiceSlosOut(BaseModel):
    service: str
    name: str
    slos: list[SloBudgetOut]


class SloSectionOut(BaseModel):
    counted_since: datetime = Field(description="Counts are kept 32 days: the section covers this to the period's end")
    services: list[ServiceSlosOut]


class IncidentReportOut(BaseModel):
    period: PeriodOut
    filters: FiltersOut
    group_by: str
    overall: OverallOut
    groups: list[GroupOut]
    drills_left_out: int = Field(0, description="Drills (exercises' incidents) of the period: left out of every metric")
    guardrails: list[GuardrailCountOut]
    slos: SloSectionOut | None = None


class ActionItemReportOut(BaseModel):
    period: PeriodOut
    team: str | None
    overall: ActionItemsOut
    teams: list[TeamActionItemsOut]
