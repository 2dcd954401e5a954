"""API shapes for SLOs, pushed counts and SLO status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, PatchIn, StrictIn, UTCInput

Kind = Literal["availability", "latency"]
Source = Literal["check", "push", "prometheus"]
WindowDays = Literal[7, 28, 30]
MAX_COUNT = 10**12  # events in one push

_TARGET = "Percent of good events the objective asks for, above 0 and below 100 (e.g. 99.9)"
_QUERY = ("PromQL instant query counting events over `$window` (source prometheus), e.g. "
          "sum(increase(http_requests_total[$window]))")


class SloIn(StrictIn):
    name: Name
    description: str = Field("", max_length=2000)
    kind: Kind = "availability"
    target: float = Field(gt=0, lt=100, allow_inf_nan=False, description=_TARGET)
    window_days: WindowDays = 30
    source: Source
    check_id: uuid.UUID | None = Field(None, description="The synthetic check whose probes count (source check)")
    latency_threshold_ms: int | None = Field(None, ge=1, le=600_000,
                                             description="A probe slower than this is bad (kind latency, source check)")
    good_query: str | None = Field(None, min_length=1, max_length=2000, description=_QUERY)
    total_query: str | None = Field(None, min_length=1, max_length=2000, description=_QUERY)
    alerting: bool = Field(True, description="Open burn-rate alerts on the service")


class SloPatch(PatchIn):
    """Omit a field to leave it alone; `check_id`, `latency_threshold_ms` and the queries accept null."""

    clearable: ClassVar[frozenset[str]] = frozenset({"check_id", "latency_threshold_ms", "good_query", "total_query"})

    name: Name | None = Field(None)
    description: str | None = Field(None, max_length=2000)
    kind: Kind | None = Field(None)
    target: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False, description=_TARGET)
    window_days: WindowDays | None = Field(None)
    source: Source | None = Field(None)
    check_id: uuid.UUID | None = Field(None)
    latency_threshold_ms: int | None = Field(None, ge=1, le=600_000)
    good_query: str | None = Field(None, min_length=1, max_length=2000)
    total_query: str | None = Field(None, min_length=1, max_length=2000)
    alerting: bool | None = Field(None)


class SloEventsIn(StrictIn):
    good: int = Field(ge=0, le=MAX_COUNT, description="Good events")
    total: int = Field(ge=0, le=MAX_COUNT, description="All events (good ones included)")
    at: UTCInput | None = Field(None, description="When they happened (default now; the last 30 days)")
    idempotency_key: str | None = Field(None, min_length=1, max_length=200,
                                        description="A repeat with the same key is not counted again")


class SloEventsOut(Out):
    slo_id: uuid.UUID
    good: int
    total: int
    bucket: datetime
    duplicate: bool = Field(description="True: this key was seen before and nothing was counted")


class BurnOut(Out):
    window: str
    good: float
    total: float
    burn_rate: float | None


class RuleOut(Out):
    name: str
    long_window: str
    short_window: str
    threshold: float
    severity: str
    firing: bool


class BudgetOut(Out):
    sli: float | None
    good: float
    total: float
    bad: float
    allowed_bad: float
    consumed_fraction: float
    remaining_fraction: float
    remaining_events: float
    budget_minutes: float
    remaining_minutes: float


class SloOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    name: str
    description: str
    kind: Kind
    target: float
    window_days: int
    source: Source
    check_id: uuid.UUID | None
    latency_threshold_ms: int | None
    good_query: str | None
    total_query: str | None
    alerting: bool
    firing: list[str]
    last_evaluated_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class SloStatusOut(SloOut):
    budget: BudgetOut
    burn: list[BurnOut]
    rules: list[RuleOut]
